// SPDX-License-Identifier: MIT OR Apache-2.0
//! The arithmetic of the `GEMM` instruction (`docs/hardware.md` 8.4), blocked and vectorised
//! without changing a single result bit.
//!
//! The manual fixes, per element of C, the order of its sums: start from 0 (or C), add the
//! products for k = 0..K-1 in order, each product and each sum rounded to f32, no fused
//! multiply-add. Everything else is free, and used:
//! - a register block of `MR` rows by `NR` columns of C is kept in accumulators while k runs;
//! - k runs in blocks of `KC`: between blocks an element's partial sum rests in C, as an f32,
//!   which is exactly the value the accumulator held, so the order per element is unchanged;
//! - the `KC` rows of B a block needs are packed into panels of `NR` columns, contiguous in
//!   k, so the inner loop streams them;
//! - the inner loop is plain Rust (Rust never contracts `a * b + c` into a fused
//!   multiply-add), compiled three times: for AVX-512, for AVX2 and for the baseline, and the
//!   best the CPU has is picked at run time.

/// Rows of C per register block.
const MR: usize = 4;
/// Columns of C per register block (one AVX-512 vector, two AVX2 ones).
const NR: usize = 16;
/// Values of k per block: a packed B panel of `KC` x `NR` f32 is 16 KiB.
const KC: usize = 256;

/// Multiply-adds of one register block over one k block.
pub const BLOCK_WORK: usize = MR * NR * KC;

/// C = C + A x B for row-major `a` (m x k), `b` (k x n) and `c` (m x n) that holds the
/// starting values (zeros, or C with accumulate), in the manual's order per element.
///
/// `poll` is called after every register block of at most [`BLOCK_WORK`] multiply-adds; an
/// error from it stops the computation (C is then partly computed) and is returned.
pub fn gemm<E>(
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    (m, n, k): (usize, usize, usize),
    mut poll: impl FnMut() -> Result<(), E>,
) -> Result<(), E> {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    let kernel = pick_kernel();
    let panels = n.div_ceil(NR);
    let mut packed = vec![0f32; panels * KC * NR];
    let zeros = vec![0f32; KC];
    for k0 in (0..k).step_by(KC) {
        let kc = (k - k0).min(KC);
        pack_b(b, n, k0, kc, &mut packed);
        for i0 in (0..m).step_by(MR) {
            let rows: [&[f32]; MR] = std::array::from_fn(|r| {
                let i = i0 + r;
                if i < m {
                    &a[i * k + k0..i * k + k0 + kc]
                } else {
                    &zeros[..kc]
                }
            });
            for p in 0..panels {
                let j0 = p * NR;
                let cols = (n - j0).min(NR);
                let mut acc = [[0f32; NR]; MR];
                for (r, row) in acc.iter_mut().enumerate().take(m - i0) {
                    let i = i0 + r;
                    row[..cols].copy_from_slice(&c[i * n + j0..i * n + j0 + cols]);
                }
                kernel(&rows, &packed[p * KC * NR..p * KC * NR + kc * NR], &mut acc);
                for (r, row) in acc.iter().enumerate().take(m - i0) {
                    let i = i0 + r;
                    c[i * n + j0..i * n + j0 + cols].copy_from_slice(&row[..cols]);
                }
                poll()?;
            }
        }
    }
    Ok(())
}

/// Packs rows `k0..k0 + kc` of B into panels of `NR` columns: panel p holds, for each k, the
/// columns `p * NR ..`, zero past the last column.
fn pack_b(b: &[f32], n: usize, k0: usize, kc: usize, packed: &mut [f32]) {
    for p in 0..n.div_ceil(NR) {
        let j0 = p * NR;
        let cols = (n - j0).min(NR);
        let panel = &mut packed[p * KC * NR..(p + 1) * KC * NR];
        for kk in 0..kc {
            let src = &b[(k0 + kk) * n + j0..(k0 + kk) * n + j0 + cols];
            let dst = &mut panel[kk * NR..kk * NR + NR];
            dst[..cols].copy_from_slice(src);
            dst[cols..].fill(0.0);
        }
    }
}

type Kernel = fn(&[&[f32]; MR], &[f32], &mut [[f32; NR]; MR]);

/// The register block: `acc[r][j] += rows[r][kk] * panel[kk][j]` for kk in order.
#[inline(always)]
fn kernel_body(rows: &[&[f32]; MR], panel: &[f32], acc: &mut [[f32; NR]; MR]) {
    // A local copy the compiler keeps in vector registers for the whole loop.
    let mut s = *acc;
    let kc = panel.len() / NR;
    let rows: [&[f32]; MR] = std::array::from_fn(|r| &rows[r][..kc]);
    for (kk, brow) in panel.chunks_exact(NR).enumerate() {
        let brow: &[f32; NR] = brow.try_into().unwrap_or(&[0.0; NR]);
        for r in 0..MR {
            let av = rows[r][kk];
            for j in 0..NR {
                s[r][j] += av * brow[j];
            }
        }
    }
    *acc = s;
}

fn kernel_baseline(rows: &[&[f32]; MR], panel: &[f32], acc: &mut [[f32; NR]; MR]) {
    kernel_body(rows, panel, acc);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn kernel_avx2(rows: &[&[f32]; MR], panel: &[f32], acc: &mut [[f32; NR]; MR]) {
    kernel_body(rows, panel, acc);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn kernel_avx512(rows: &[&[f32]; MR], panel: &[f32], acc: &mut [[f32; NR]; MR]) {
    kernel_body(rows, panel, acc);
}

/// The fastest kernel this CPU runs.
fn pick_kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return |r, p, a| {
                // SAFETY: the CPU has AVX-512F, checked just above.
                unsafe { kernel_avx512(r, p, a) }
            };
        }
        if std::is_x86_feature_detected!("avx2") {
            return |r, p, a| {
                // SAFETY: the CPU has AVX2, checked just above.
                unsafe { kernel_avx2(r, p, a) }
            };
        }
    }
    kernel_baseline
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manual's definition, literally.
    fn reference(a: &[f32], b: &[f32], c: &mut [f32], (m, n, k): (usize, usize, usize)) {
        for i in 0..m {
            for j in 0..n {
                let mut s = c[i * n + j];
                for kk in 0..k {
                    s += a[i * k + kk] * b[kk * n + j];
                }
                c[i * n + j] = s;
            }
        }
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2654435761) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // Mixed magnitudes and signs, so that the order of the sums shows.
                f32::from_bits(0x3000_0000 + (x & 0x0fff_ffff))
                    * if x & 1 == 0 { 1.0 } else { -3.0 }
            })
            .collect()
    }

    #[test]
    fn bit_identical_to_the_definition_for_every_edge() {
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (4, 16, 256),
            (5, 17, 257),
            (9, 33, 600),
            (64, 48, 513),
        ] {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            let start = values(m * n, 3);
            let (mut want, mut got) = (start.clone(), start);
            reference(&a, &b, &mut want, (m, n, k));
            gemm::<()>(&a, &b, &mut got, (m, n, k), || Ok(())).unwrap();
            let same = want
                .iter()
                .zip(&got)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same,
                "{m}x{n}x{k}: a result differs from the manual's order"
            );
        }
    }

    #[test]
    fn every_kernel_agrees() {
        let a = values(MR * KC, 4);
        let b = values(KC * NR, 5);
        let rows: [&[f32]; MR] = std::array::from_fn(|r| &a[r * KC..(r + 1) * KC]);
        let mut base = [[0.5f32; NR]; MR];
        kernel_baseline(&rows, &b, &mut base);
        let mut fast = [[0.5f32; NR]; MR];
        pick_kernel()(&rows, &b, &mut fast);
        assert!(
            base.iter()
                .flatten()
                .zip(fast.iter().flatten())
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }

    #[test]
    fn poll_errors_stop_it() {
        let (m, n, k) = (8, 32, 512);
        let (a, b) = (values(m * k, 6), values(k * n, 7));
        let mut c = vec![0f32; m * n];
        let mut calls = 0;
        let r = gemm(&a, &b, &mut c, (m, n, k), || {
            calls += 1;
            if calls == 3 { Err("stop") } else { Ok(()) }
        });
        assert_eq!((r, calls), (Err("stop"), 3));
    }
}

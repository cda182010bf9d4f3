// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern gemm`: a GEMM on the device checked against the CPU.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tern::Device;

use tern::{Arg, prepare};

/// The GEMM kernel of the kernel library.
pub const GEMM_SRC: &str = include_str!("../../../kernels/gemm_f32.s");

/// Deterministic inputs in [-1, 1).
fn inputs(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// C = A x B on the CPU, summing in k order with one rounding per step, as the device does.
pub fn reference(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for kk in 0..k {
            let x = a[i * k + kk];
            for j in 0..n {
                c[i * n + j] += x * b[kk * n + j];
            }
        }
    }
    c
}

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Runs an MxK by KxN GEMM, prints the result and the check; fails on any mismatch.
pub fn gemm(dev: &Device, m: usize, n: usize, k: usize) -> Result<()> {
    let a = inputs(m * k, 1);
    let b = inputs(k * n, 2);
    let code = tern_asm::assemble_bytes(GEMM_SRC)?;
    let mut p = prepare(
        dev,
        &code,
        &[
            Arg::Zeroed((m * n * 4) as u64),
            Arg::Data(bytes(&a)),
            Arg::Data(bytes(&b)),
            Arg::Int(m as u64),
            Arg::Int(n as u64),
            Arg::Int(k as u64),
        ],
    )?;
    let t0 = Instant::now();
    let done = p.run(0, Duration::from_secs(60))?;
    let wall = t0.elapsed();
    if !done.status.is_done() {
        return Err(crate::JobFailed(done.status).into());
    }
    let out = p.buffers[0]
        .as_mut()
        .map(|b| b.bytes())
        .transpose()?
        .unwrap_or_default();
    let c: Vec<f32> = out[..m * n * 4]
        .chunks_exact(4)
        .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    let want = reference(&a, &b, m, n, k);
    let mismatches = c
        .iter()
        .zip(&want)
        .filter(|(x, y)| x.to_bits() != y.to_bits())
        .count();
    let flops = 2.0 * (m * n * k) as f64;
    println!(
        "gemm {m}x{k} * {k}x{n} on the device: {} (device {:.3} ms, round trip {:.3} ms, {:.2} GFLOP/s device)",
        done.status,
        done.duration.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e3,
        flops / done.duration.as_secs_f64().max(1e-9) / 1e9
    );
    let show = |v: &[f32]| {
        v.iter()
            .take(4)
            .map(|x| format!("{x:+.6}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("C[0][0..4]   device: {}", show(&c));
    println!("C[0][0..4]   CPU:    {}", show(&want));
    println!(
        "check: {} of {} elements bit-identical to the CPU reference",
        m * n - mismatches,
        m * n
    );
    if mismatches > 0 {
        bail!("{mismatches} elements differ from the CPU reference");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_kernel_assembles_and_reference_is_right() {
        assert!(tern_asm::assemble_bytes(GEMM_SRC).is_ok());
        let c = reference(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 2, 2, 2);
        assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
    }
}

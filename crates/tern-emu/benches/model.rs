// SPDX-License-Identifier: MIT OR Apache-2.0
//! Model benchmarks, printed as figures against a floor measured in the same run:
//! NOP doorbell-to-completion latency, COPY bandwidth against host memcpy, GEMM throughput
//! against the `matrixmultiply` crate's sgemm. Run with `cargo bench -p tern-emu`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::*;
use tern_isa::{Insn, Opcode};

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize]
}

fn nop_latency(t: &mut TestDriver) {
    let mut lat = Vec::new();
    for i in 0..5000 {
        let t0 = Instant::now();
        let s = t.submit(0, nop());
        while t.fence(0) < s {
            std::hint::spin_loop();
        }
        if i >= 100 {
            lat.push(t0.elapsed());
        }
    }
    println!(
        "NOP doorbell->completion (fence polled): p50 {:.1} us, p99 {:.1} us",
        pct(&mut lat, 0.5).as_secs_f64() * 1e6,
        pct(&mut lat, 0.99).as_secs_f64() * 1e6
    );
}

fn copy_bandwidth(t: &mut TestDriver) {
    let len: u64 = 64 << 20;
    let src = t.map(1, 0x1000_0000, len, true);
    let _dst = t.map(1, 0x2000_0000, len, true);
    t.put(src, &vec![0x5a; len as usize]);
    let mut p = la(1, 0x2000_0000);
    p.extend(la(2, 0x1000_0000));
    p.extend(la(3, len));
    p.push(Insn::new(Opcode::Copy, [1, 2, 3, 0], 0, 0));
    p.push(halt());
    let mut best = f64::MAX;
    for i in 0..5 {
        let r = t.run(0, 1, 0x10_0000 + i * 0x1000, &p);
        assert_eq!(r.status, 1);
        best = best.min(r.duration as f64 / 1e9);
    }
    // The floor: host memcpy of the same size between two fresh buffers.
    let a = vec![0x5au8; len as usize];
    let mut b = vec![0u8; len as usize];
    let mut floor = f64::MAX;
    for _ in 0..5 {
        let t0 = Instant::now();
        b.copy_from_slice(black_box(&a));
        black_box(&b);
        floor = floor.min(t0.elapsed().as_secs_f64());
    }
    let gbs = |s: f64| len as f64 / s / 1e9;
    println!(
        "COPY 64 MiB: model {:.2} GB/s, host memcpy {:.2} GB/s, ratio {:.0}%",
        gbs(best),
        gbs(floor),
        100.0 * floor / best
    );
}

/// GEMM of `dim`^3 in the model against `matrixmultiply::sgemm` on the same data, with the
/// model's result checked bit for bit against the manual's order (`docs/hardware.md` 8.4).
fn gemm_throughput(t: &mut TestDriver, dim: usize, base: u64) {
    let (m, n, k) = (dim, dim, dim);
    let bytes = (m * k * 4) as u64;
    let mut rng = Rng(9);
    let a: Vec<f32> = (0..m * k).map(|_| rng.f32()).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.f32()).collect();
    let pa = t.map(1, base, bytes, true);
    let pb = t.map(1, base + 0x100_0000, bytes, true);
    let pc = t.map(1, base + 0x200_0000, bytes, true);
    t.put(pa, &bytes_f32(&a));
    t.put(pb, &bytes_f32(&b));
    let mut p = la(1, base + 0x200_0000);
    p.extend(la(2, base));
    p.extend(la(3, base + 0x100_0000));
    p.extend(la(4, m as u64));
    p.extend(la(5, n as u64));
    p.extend(la(6, k as u64));
    p.push(Insn::new(Opcode::Gemm, [1, 2, 3, 4], 0, 0));
    p.push(halt());
    let mut best = f64::MAX;
    for i in 0..5 {
        let r = t.run(0, 1, base + 0x300_0000 + i * 0x1000, &p);
        assert_eq!(r.status, 1);
        best = best.min(r.duration as f64 / 1e9);
    }
    let got = t.get(pc, bytes as usize);
    for i in (0..m).step_by(m / 16) {
        for j in (0..n).step_by(n / 16) {
            let mut want = 0f32;
            for kk in 0..k {
                want += a[i * k + kk] * b[kk * n + j];
            }
            let at = (i * n + j) * 4;
            let v = f32::from_le_bytes([got[at], got[at + 1], got[at + 2], got[at + 3]]);
            assert_eq!(
                v.to_bits(),
                want.to_bits(),
                "C[{i}][{j}] differs from the manual's order"
            );
        }
    }
    let mut c = vec![0f32; m * n];
    let mut floor = f64::MAX;
    for _ in 0..5 {
        let t0 = Instant::now();
        // SAFETY: the slices hold m*k, k*n and m*n elements with the row-major strides given.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                k as isize,
                1,
                b.as_ptr(),
                n as isize,
                1,
                0.0,
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
        black_box(&c);
        floor = floor.min(t0.elapsed().as_secs_f64());
    }
    let gf = |s: f64| 2.0 * (m * n * k) as f64 / s / 1e9;
    println!(
        "GEMM {m}x{n}x{k} f32: model {:.2} GFLOP/s, matrixmultiply::sgemm {:.2} GFLOP/s, ratio {:.0}%",
        gf(best),
        gf(floor),
        100.0 * floor / best
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut t = TestDriver::ready();
    nop_latency(&mut t);
    copy_bandwidth(&mut t);
    gemm_throughput(&mut t, 256, 0x3000_0000);
    gemm_throughput(&mut t, 1024, 0x4000_0000);
}

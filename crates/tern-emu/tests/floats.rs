// SPDX-License-Identifier: MIT OR Apache-2.0
//! f32 edge cases (NaN, infinities, −0, subnormals) of the elementwise operations, reductions
//! and GEMM, against references written here from `docs/hardware.md` 8.3/8.4 with plain Rust
//! `f32` arithmetic (not the model's code).

#![allow(clippy::type_complexity)]

mod common;
use common::*;
use tern_hw::queue::status;
use tern_isa::{BinOp, Insn, Opcode, RedOp, UnOp};

const A: u64 = 0x100_0000;
const B: u64 = 0x200_0000;
const C: u64 = 0x300_0000;
const PROG: u64 = 0x10_0000;

fn specials() -> Vec<f32> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        f32::from_bits(1), // smallest subnormal
        -f32::from_bits(1),
        f32::from_bits(0x007f_ffff), // largest subnormal
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        3.0,
        1.0e-30,
    ]
}

/// The manual's max: a NaN operand gives the other one, +0 > −0.
fn ref_max(a: f32, b: f32) -> f32 {
    if a.is_nan() {
        return b;
    }
    if b.is_nan() {
        return a;
    }
    if a == 0.0 && b == 0.0 {
        return if a.to_bits() == 0 || b.to_bits() == 0 {
            0.0
        } else {
            -0.0
        };
    }
    if a > b { a } else { b }
}

/// The manual's min: a NaN operand gives the other one, −0 < +0.
fn ref_min(a: f32, b: f32) -> f32 {
    if a.is_nan() {
        return b;
    }
    if b.is_nan() {
        return a;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() || b.is_sign_negative() {
            -0.0
        } else {
            0.0
        };
    }
    if a < b { a } else { b }
}

/// Same value: bit-identical, or both NaN (a NaN result's sign and payload are unspecified).
fn same(got: f32, want: f32) -> bool {
    (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
}

struct Fx {
    t: TestDriver,
    a: u64,
    b: u64,
    c: u64,
}

fn fx() -> Fx {
    let mut t = TestDriver::ready();
    let a = t.map(1, A, 1 << 16, true);
    let b = t.map(1, B, 1 << 16, true);
    let c = t.map(1, C, 1 << 16, true);
    Fx { t, a, b, c }
}

fn run(f: &mut Fx, tail: &[Insn], n: u64, regs5: [u64; 2]) {
    let mut p = la(1, C);
    p.extend(la(2, A));
    p.extend(la(3, B));
    p.extend(la(4, n));
    p.extend(la(5, regs5[0]));
    p.extend(la(6, regs5[1]));
    p.extend_from_slice(tail);
    p.push(halt());
    assert_eq!(f.t.run(0, 1, PROG, &p).status, status::OK);
}

#[test]
fn elementwise_binary_edge_cases() {
    let mut f = fx();
    let s = specials();
    let (xs, ys): (Vec<f32>, Vec<f32>) = s
        .iter()
        .flat_map(|&x| s.iter().map(move |&y| (x, y)))
        .unzip();
    f.t.put(f.a, &bytes_f32(&xs));
    f.t.put(f.b, &bytes_f32(&ys));
    let n = xs.len() as u64;
    let ops: [(BinOp, fn(f32, f32) -> f32); 6] = [
        (BinOp::Add, |a, b| a + b),
        (BinOp::Sub, |a, b| a - b),
        (BinOp::Mul, |a, b| a * b),
        (BinOp::Div, |a, b| a / b),
        (BinOp::Max, ref_max),
        (BinOp::Min, ref_min),
    ];
    for (o, r) in ops {
        run(&mut f, &[op(Opcode::Ew, [1, 2, 3, 4], o as u8)], n, [0, 0]);
        let got = f32s(&f.t.get(f.c, n as usize * 4));
        for i in 0..n as usize {
            let want = r(xs[i], ys[i]);
            assert!(
                same(got[i], want),
                "{o:?}({:?}, {:?}) = {:?}, want {want:?}",
                xs[i],
                ys[i],
                got[i]
            );
        }
    }
}

#[test]
fn elementwise_scalar_and_unary_edge_cases() {
    let mut f = fx();
    let s = specials();
    let n = s.len() as u64;
    f.t.put(f.a, &bytes_f32(&s));
    for &y in &s {
        let scalar = u64::from(y.to_bits());
        run(
            &mut f,
            &[op(Opcode::Ews, [1, 2, 6, 4], BinOp::Max as u8)],
            n,
            [0, scalar],
        );
        let got = f32s(&f.t.get(f.c, n as usize * 4));
        for (i, &x) in s.iter().enumerate() {
            assert!(
                same(got[i], ref_max(x, y)),
                "max({x:?}, {y:?}) = {:?}",
                got[i]
            );
        }
    }
    let ops: [(UnOp, fn(f32) -> f32); 4] = [
        (UnOp::Neg, |x| f32::from_bits(x.to_bits() ^ 0x8000_0000)),
        (UnOp::Abs, |x| f32::from_bits(x.to_bits() & 0x7fff_ffff)),
        (UnOp::Relu, |x| ref_max(x, 0.0)),
        (UnOp::Sqrt, f32::sqrt),
    ];
    for (o, r) in ops {
        run(&mut f, &[op(Opcode::Ewu, [1, 2, 0, 4], o as u8)], n, [0, 0]);
        let got = f32s(&f.t.get(f.c, n as usize * 4));
        for (i, &x) in s.iter().enumerate() {
            let want = r(x);
            // neg and abs are sign-bit operations: exact even for NaN.
            let exact = matches!(o, UnOp::Neg | UnOp::Abs);
            assert!(
                if exact {
                    got[i].to_bits() == want.to_bits()
                } else {
                    same(got[i], want)
                },
                "{o:?}({x:?}) = {:?}, want {want:?}",
                got[i]
            );
        }
    }
}

#[test]
fn reductions_edge_cases() {
    let mut f = fx();
    let cases: Vec<Vec<f32>> = vec![
        vec![-0.0],
        vec![-0.0, -0.0],
        vec![-0.0, 0.0],
        vec![0.0, -0.0],
        vec![f32::NAN, 1.0, 2.0],
        vec![1.0, f32::NAN, -5.0],
        vec![f32::NAN, f32::NAN],
        vec![f32::INFINITY, f32::NEG_INFINITY, 1.0],
        vec![f32::MAX, f32::MAX, f32::MIN],
        vec![f32::from_bits(1), f32::from_bits(1), f32::from_bits(3)],
        vec![1.0e8, 1.0, -1.0e8, 1.0],
    ];
    let ops: [(RedOp, fn(f32, f32) -> f32); 3] = [
        (RedOp::Sum, |a, b| a + b),
        (RedOp::Max, ref_max),
        (RedOp::Min, ref_min),
    ];
    for v in &cases {
        f.t.put(f.a, &bytes_f32(v));
        for (o, r) in ops {
            run(
                &mut f,
                &[op(Opcode::Red, [1, 2, 0, 4], o as u8)],
                v.len() as u64,
                [0, 0],
            );
            let got = f32s(&f.t.get(f.c, 4))[0];
            // Left to right, starting from the first element.
            let want = v[1..].iter().fold(v[0], |acc, &x| r(acc, x));
            assert!(same(got, want), "{o:?}{v:?} = {got:?}, want {want:?}");
        }
    }
}

/// The manual's GEMM: per element, start from 0 (or C), add A[i][k]·B[k][j] for k in order.
fn ref_gemm(
    a: &[f32],
    b: &[f32],
    c0: &[f32],
    (m, n, k): (usize, usize, usize),
    acc: bool,
) -> Vec<f32> {
    let mut out = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = if acc { c0[i * n + j] } else { 0.0 };
            for kk in 0..k {
                let p = a[i * k + kk] * b[kk * n + j];
                s += p;
            }
            out[i * n + j] = s;
        }
    }
    out
}

#[test]
fn gemm_edge_cases_bit_identical() {
    let mut f = fx();
    let s = specials();
    let mut rng = Rng(11);
    let pick = |rng: &mut Rng| {
        if rng.next().is_multiple_of(3) {
            s[(rng.next() % s.len() as u64) as usize]
        } else {
            rng.f32()
                * 1.0e-38
                * if rng.next().is_multiple_of(2) {
                    1.0
                } else {
                    1.0e38
                }
        }
    };
    for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (8, 9, 16), (17, 3, 33)] {
        for acc in [false, true] {
            let a: Vec<f32> = (0..m * k).map(|_| pick(&mut rng)).collect();
            let b: Vec<f32> = (0..k * n).map(|_| pick(&mut rng)).collect();
            let c0: Vec<f32> = (0..m * n).map(|_| pick(&mut rng)).collect();
            f.t.put(f.a, &bytes_f32(&a));
            f.t.put(f.b, &bytes_f32(&b));
            f.t.put(f.c, &bytes_f32(&c0));
            let mut tail = la(7, m as u64);
            tail.extend(la(8, n as u64));
            tail.extend(la(9, k as u64));
            tail.push(op(Opcode::Gemm, [1, 2, 3, 7], u8::from(acc)));
            run(&mut f, &tail, 0, [0, 0]);
            let got = f32s(&f.t.get(f.c, m * n * 4));
            let want = ref_gemm(&a, &b, &c0, (m, n, k), acc);
            for i in 0..m * n {
                assert!(
                    same(got[i], want[i]),
                    "{m}x{n}x{k} acc={acc} [{i}] = {:?}, want {:?}",
                    got[i],
                    want[i]
                );
            }
        }
    }
    // All products −0: the sum starts at +0, so the result is +0 (without accumulate).
    f.t.put(f.a, &bytes_f32(&[-0.0, 1.0]));
    f.t.put(f.b, &bytes_f32(&[1.0, -0.0]));
    let mut tail = la(7, 1);
    tail.extend(la(8, 1));
    tail.extend(la(9, 2));
    tail.push(op(Opcode::Gemm, [1, 2, 3, 7], 0));
    run(&mut f, &tail, 0, [0, 0]);
    assert_eq!(f32s(&f.t.get(f.c, 4))[0].to_bits(), 0);
}

#[test]
fn big_gemm_is_bit_identical_to_the_k_order_reference() {
    let mut f = fx();
    let (m, n, k) = (33, 70, 90);
    let mut rng = Rng(5);
    let a: Vec<f32> = (0..m * k).map(|_| rng.f32()).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.f32()).collect();
    f.t.put(f.a, &bytes_f32(&a));
    f.t.put(f.b, &bytes_f32(&b));
    let mut tail = la(7, m as u64);
    tail.extend(la(8, n as u64));
    tail.extend(la(9, k as u64));
    tail.push(op(Opcode::Gemm, [1, 2, 3, 7], 0));
    run(&mut f, &tail, 0, [0, 0]);
    let got = f32s(&f.t.get(f.c, m * n * 4));
    let want = ref_gemm(&a, &b, &[], (m, n, k), false);
    assert!(
        got.iter()
            .zip(&want)
            .all(|(g, w)| g.to_bits() == w.to_bits())
    );
}

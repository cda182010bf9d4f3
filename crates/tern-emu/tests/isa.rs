// SPDX-License-Identifier: MIT OR Apache-2.0
//! Every ISA operation against a CPU reference (`docs/hardware.md` 8).

mod common;
use common::*;
use tern_hw::queue::status;
use tern_isa::{BinOp, F_I32, Insn, Opcode, RedOp, UnOp};

const A: u64 = 0x100_0000;
const B: u64 = 0x200_0000;
const C: u64 = 0x300_0000;
const PROG: u64 = 0x10_0000;

struct Fx {
    t: TestDriver,
    a: u64,
    b: u64,
    c: u64,
}

fn fx(len: u64) -> Fx {
    let mut t = TestDriver::ready();
    let a = t.map(1, A, len, true);
    let b = t.map(1, B, len, true);
    let c = t.map(1, C, len, true);
    Fx { t, a, b, c }
}

fn prologue(n: u64) -> Vec<Insn> {
    let mut p = Vec::new();
    p.extend(la(1, C));
    p.extend(la(2, A));
    p.extend(la(3, B));
    p.extend(la(4, n));
    p
}

fn run(f: &mut Fx, mut p: Vec<Insn>) -> u32 {
    p.push(halt());
    f.t.run(0, 1, PROG, &p).status
}

#[test]
fn scalar_control_flow_and_memory() {
    let mut f = fx(4096);
    // r5 = sum 1..=10 by a loop; store to C; ts to C+8; ld back into r6, store at C+16.
    let mut p = prologue(0);
    p.extend([
        li(5, 0),
        li(6, 10),
        Insn::new(Opcode::Add, [5, 5, 6, 0], 0, 0),
        Insn::new(Opcode::Addi, [6, 6, 0, 0], 0, (-1i32) as u32),
        Insn::new(Opcode::Bnz, [6, 0, 0, 0], 0, (-3i32) as u32),
        Insn::new(Opcode::St, [5, 1, 0, 0], 0, 0),
        Insn::new(Opcode::Addi, [7, 1, 0, 0], 0, 8),
        Insn::new(Opcode::Ts, [7, 0, 0, 0], 0, 0),
        Insn::new(Opcode::Ld, [8, 1, 0, 0], 0, 0),
        Insn::new(Opcode::Shl, [8, 8, 0, 0], 0, 4),
        Insn::new(Opcode::Mul, [8, 8, 6, 0], 0, 0), // r6 is 0: r8 = 0
        Insn::new(Opcode::Sub, [9, 0, 5, 0], 0, 0), // r9 = -55
        Insn::new(Opcode::St, [9, 1, 0, 0], 0, 16),
        Insn::new(Opcode::Blt, [0, 5, 0, 0], 0, 1), // 0 < 55: skip the next store
        Insn::new(Opcode::St, [5, 1, 0, 0], 0, 24),
        Insn::new(Opcode::Li, [0, 0, 0, 0], 0, 99), // r0 stays 0
        Insn::new(Opcode::St, [0, 1, 0, 0], 0, 32),
        Insn::new(Opcode::Jmp, [0; 4], 0, 1),
        Insn::new(Opcode::St, [5, 1, 0, 0], 0, 32),
        Insn::new(Opcode::Bz, [8, 0, 0, 0], 0, 0),
    ]);
    assert_eq!(run(&mut f, p), status::OK);
    assert_eq!(f.t.get64(f.c), 55);
    assert!(f.t.get64(f.c + 8) > 0, "timestamp written");
    assert_eq!(f.t.get64(f.c + 16) as i64, -55);
    assert_eq!(f.t.get64(f.c + 24), 0, "branch taken");
    assert_eq!(f.t.get64(f.c + 32), 0, "r0 is zero, jmp skipped the store");
}

#[test]
fn copy_and_fill() {
    let n = 10_000u64; // crosses pages
    let mut f = fx(n * 4 + 4096);
    let src: Vec<u8> = (0..n * 4).map(|i| (i * 7 % 251) as u8).collect();
    f.t.put(f.a, &src);
    let mut p = prologue(n * 4);
    p.push(op(Opcode::Copy, [1, 2, 4, 0], 0));
    p.extend(la(5, 0xdead_beef));
    p.extend(la(4, n));
    p.push(op(Opcode::Fill, [3, 5, 4, 0], 0));
    assert_eq!(run(&mut f, p), status::OK);
    assert_eq!(f.t.get(f.c, src.len()), src);
    let filled = f.t.get(f.b, n as usize * 4);
    assert!(filled.chunks(4).all(|w| w == 0xdead_beefu32.to_le_bytes()));
    assert_eq!(f.t.get(f.b + n * 4, 4), [0; 4], "fill stops at n");
}

#[test]
fn overlapping_copy_is_illegal() {
    let mut f = fx(8192);
    let mut p = prologue(4096);
    p.extend(la(5, A + 8));
    p.push(op(Opcode::Copy, [5, 2, 4, 0], 0));
    assert_eq!(run(&mut f, p), status::ILLEGAL);
}

fn ref_bin_f32(o: BinOp, a: f32, b: f32) -> f32 {
    match o {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Max => a.max(b),
        BinOp::Min => a.min(b),
    }
}

#[test]
fn elementwise_f32_all_ops() {
    let n = 3000u64;
    let mut rng = Rng(7);
    let a: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
    let b: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
    for o in [
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::Div,
        BinOp::Max,
        BinOp::Min,
    ] {
        let mut f = fx(n * 4);
        f.t.put(f.a, &bytes_f32(&a));
        f.t.put(f.b, &bytes_f32(&b));
        let mut p = prologue(n);
        p.push(op(Opcode::Ew, [1, 2, 3, 4], o as u8));
        assert_eq!(run(&mut f, p), status::OK, "{o:?}");
        let got = f32s(&f.t.get(f.c, n as usize * 4));
        for i in 0..n as usize {
            assert_eq!(
                got[i].to_bits(),
                ref_bin_f32(o, a[i], b[i]).to_bits(),
                "{o:?} at {i}"
            );
        }
    }
}

#[test]
fn elementwise_i32_scalar_and_unary() {
    let n = 1000u64;
    let a: Vec<i32> = (0..n as i32)
        .map(|i| i * 2_000_003 - 1_000_000_000)
        .collect();
    let mut f = fx(n * 4);
    f.t.put(f.a, &bytes_i32(&a));
    // C = A * 3 (i32, wrapping), then B = relu(C) (i32), then B = B max A (i32).
    let mut p = prologue(n);
    p.push(li(6, 3));
    p.push(Insn::new(
        Opcode::Ews,
        [1, 2, 6, 4],
        F_I32 | BinOp::Mul as u8,
        0,
    ));
    p.push(Insn::new(
        Opcode::Ewu,
        [3, 1, 0, 4],
        F_I32 | UnOp::Relu as u8,
        0,
    ));
    p.push(Insn::new(
        Opcode::Ew,
        [3, 3, 2, 4],
        F_I32 | BinOp::Max as u8,
        0,
    ));
    assert_eq!(run(&mut f, p), status::OK);
    let c: Vec<i32> =
        f.t.get(f.c, n as usize * 4)
            .chunks(4)
            .map(|w| i32::from_le_bytes(w.try_into().unwrap()))
            .collect();
    let b: Vec<i32> =
        f.t.get(f.b, n as usize * 4)
            .chunks(4)
            .map(|w| i32::from_le_bytes(w.try_into().unwrap()))
            .collect();
    for i in 0..n as usize {
        assert_eq!(c[i], a[i].wrapping_mul(3));
        assert_eq!(b[i], a[i].wrapping_mul(3).max(0).max(a[i]));
    }
}

#[test]
fn unary_f32() {
    let n = 500u64;
    let mut rng = Rng(3);
    let a: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
    for o in [UnOp::Neg, UnOp::Abs, UnOp::Relu, UnOp::Sqrt] {
        let mut f = fx(n * 4);
        f.t.put(f.a, &bytes_f32(&a));
        let mut p = prologue(n);
        p.push(Insn::new(Opcode::Ewu, [1, 2, 0, 4], o as u8, 0));
        assert_eq!(run(&mut f, p), status::OK);
        let got = f32s(&f.t.get(f.c, n as usize * 4));
        for i in 0..n as usize {
            let want = match o {
                UnOp::Neg => -a[i],
                UnOp::Abs => a[i].abs(),
                UnOp::Relu => a[i].max(0.0),
                UnOp::Sqrt => a[i].sqrt(),
            };
            assert_eq!(got[i].to_bits(), want.to_bits(), "{o:?} {i}");
        }
    }
}

#[test]
fn reductions() {
    let n = 5000u64;
    let mut rng = Rng(11);
    let a: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
    let ai: Vec<i32> = (0..n as i32).map(|i| (i * 7919) % 10007 - 5000).collect();
    for o in [RedOp::Sum, RedOp::Max, RedOp::Min] {
        let mut f = fx(n * 4);
        f.t.put(f.a, &bytes_f32(&a));
        f.t.put(f.b, &bytes_i32(&ai));
        let mut p = prologue(n);
        p.push(Insn::new(Opcode::Red, [1, 2, 0, 4], o as u8, 0));
        p.extend(la(5, C + 8));
        p.push(Insn::new(Opcode::Red, [5, 3, 0, 4], F_I32 | o as u8, 0));
        assert_eq!(run(&mut f, p), status::OK);
        let got = f32::from_le_bytes(f.t.get(f.c, 4).try_into().unwrap());
        let goti = i32::from_le_bytes(f.t.get(f.c + 8, 4).try_into().unwrap());
        let (want, wanti) = match o {
            RedOp::Sum => (
                a.iter().fold(0.0f32, |s, x| s + x),
                ai.iter().fold(0i32, |s, x| s.wrapping_add(*x)),
            ),
            RedOp::Max => (
                a.iter().copied().fold(f32::MIN, f32::max),
                *ai.iter().max().unwrap(),
            ),
            RedOp::Min => (
                a.iter().copied().fold(f32::MAX, f32::min),
                *ai.iter().min().unwrap(),
            ),
        };
        assert_eq!(got.to_bits(), want.to_bits(), "{o:?}");
        assert_eq!(goti, wanti, "{o:?} i32");
    }
}

fn ref_gemm(a: &[f32], b: &[f32], c0: Option<&[f32]>, m: usize, n: usize, k: usize) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = c0.map_or(0.0, |c0| c0[i * n + j]);
            for kk in 0..k {
                s += a[i * k + kk] * b[kk * n + j];
            }
            c[i * n + j] = s;
        }
    }
    c
}

#[test]
fn gemm_matches_the_reference_bit_for_bit() {
    for &(m, n, k, acc) in &[
        (1, 1, 1, false),
        (7, 5, 3, false),
        (33, 17, 65, true),
        (64, 64, 64, false),
    ] {
        let mut rng = Rng(m as u64 * 31 + k as u64);
        let a: Vec<f32> = (0..m * k).map(|_| rng.f32()).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.f32()).collect();
        let c0: Vec<f32> = (0..m * n).map(|_| rng.f32()).collect();
        let mut f = fx(64 * 64 * 4);
        f.t.put(f.a, &bytes_f32(&a));
        f.t.put(f.b, &bytes_f32(&b));
        f.t.put(f.c, &bytes_f32(&c0));
        let mut p = prologue(0);
        p.extend(la(4, m as u64));
        p.extend(la(5, n as u64));
        p.extend(la(6, k as u64));
        p.push(Insn::new(Opcode::Gemm, [1, 2, 3, 4], u8::from(acc), 0));
        assert_eq!(run(&mut f, p), status::OK);
        let got = f32s(&f.t.get(f.c, m * n * 4));
        let want = ref_gemm(&a, &b, acc.then_some(&c0[..]), m, n, k);
        assert!(
            got.iter()
                .zip(&want)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "gemm {m}x{n}x{k} acc={acc}"
        );
    }
}

#[test]
fn illegal_instructions_report_their_index() {
    let cases: Vec<Insn> = vec![
        Insn {
            op: 0xee,
            ..Default::default()
        },
        Insn::new(Opcode::Halt, [1, 0, 0, 0], 0, 0),
        Insn::new(Opcode::Ew, [1, 2, 3, 4], F_I32 | BinOp::Div as u8, 0),
        Insn::new(Opcode::Ewu, [1, 2, 0, 4], F_I32 | UnOp::Sqrt as u8, 0),
        Insn::new(Opcode::Ew, [1, 2, 3, 4], 9, 0),
        Insn::new(Opcode::Gemm, [1, 2, 3, 14], 0, 0),
        Insn::new(Opcode::Gemm, [1, 2, 3, 4], 2, 0),
        Insn::new(Opcode::Ld, [1, 2, 0, 0], 0, 4),
    ];
    for bad in cases {
        let mut f = fx(4096);
        let mut p = prologue(8);
        let idx = p.len() as u32;
        p.push(bad);
        p.push(halt());
        let r = f.t.run(0, 1, PROG, &p);
        assert_eq!((r.status, r.info), (status::ILLEGAL, idx), "{bad:?}");
    }
}

#[test]
fn budget_runs_out_as_watchdog() {
    let mut t = TestDriver::ready();
    let prog = [Insn::new(Opcode::Jmp, [0; 4], 0, (-1i32) as u32)];
    let bytes = tern_isa::encode_program(&prog);
    let pa = t.map(1, PROG, 4096, false);
    t.put(pa, &bytes);
    let mut d = exec(1, PROG, 8);
    d.budget = 100_000;
    let s = t.submit(0, d);
    assert_eq!(t.wait(0, s).status, status::WATCHDOG);
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Host tests of the program generator: every generated program decodes as legal
//! instructions and every memory operand lies inside the buffers it was given.

use std::collections::HashSet;

use super::*;

type Regs = [Option<u64>; 16];

fn inside(rs: &[Region], at: Option<u64>, len: u64, write: bool, align: u64) -> Result<(), String> {
    let at = at.ok_or("address register not known")?;
    if at % align != 0 {
        return Err(format!("{at:#x} not {align}-aligned"));
    }
    rs.iter()
        .find(|r| at >= r.va && at + len <= r.va + r.size && (r.writable || !write))
        .map(|_| ())
        .ok_or_else(|| format!("[{at:#x}, +{len:#x}) (write {write}) outside the buffers"))
}

fn count(r: &Regs, i: u8, max: u64) -> Result<u64, String> {
    match r[i as usize] {
        Some(n) if (1..=max).contains(&n) => Ok(n),
        other => Err(format!("count r{i} = {other:?}")),
    }
}

fn legal_f(op: Opcode, f: u8) -> bool {
    let (i32t, o) = (f & F_I32 != 0, f & 0x7f);
    match op {
        Opcode::Ew | Opcode::Ews => o <= 5 && !(i32t && o == 3),
        Opcode::Ewu => o <= 3 && !(i32t && o == 3),
        Opcode::Red => o <= 2,
        Opcode::Gemm => f <= 1,
        _ => f == 0,
    }
}

/// Interprets the program straight through (branches only skip whole blocks, so the
/// registers a memory operand uses are the ones its own block set).
fn check(prog: &[Insn], rs: &[Region]) -> Result<HashSet<u8>, String> {
    let mut r: Regs = [None; 16];
    r[0] = Some(0);
    let mut seen = HashSet::new();
    for (pc, i) in prog.iter().enumerate() {
        let (op, d) = Insn::decode(i.encode()).map_err(|e| format!("{pc}: {e}"))?;
        assert_eq!(&d, i);
        seen.insert(op as u8);
        let e = |m: String| format!("{pc} {}: {m}", op.mnemonic());
        if !legal_f(op, i.f) {
            return Err(e(format!("bad f {:#x}", i.f)));
        }
        let [a, b, c, dd] = i.r.map(|x| x as usize);
        let (ra, rb, rc) = (r[a], r[b], r[c]);
        let set = |r: &mut Regs, v: Option<u64>| {
            if a != 0 {
                r[a] = v;
            }
        };
        match op {
            Opcode::Li => set(&mut r, Some(i.simm() as u64)),
            Opcode::Lih => set(
                &mut r,
                ra.map(|x| (x & 0xffff_ffff) | u64::from(i.imm) << 32),
            ),
            Opcode::Add => set(&mut r, rb.zip(rc).map(|(x, y)| x.wrapping_add(y))),
            Opcode::Sub => set(&mut r, rb.zip(rc).map(|(x, y)| x.wrapping_sub(y))),
            Opcode::Mul => set(&mut r, rb.zip(rc).map(|(x, y)| x.wrapping_mul(y))),
            Opcode::Addi => set(&mut r, rb.map(|x| x.wrapping_add(i.simm() as u64))),
            Opcode::Shl => set(&mut r, rb.map(|x| x << (i.imm & 63))),
            Opcode::Jmp | Opcode::Bz | Opcode::Bnz | Opcode::Blt => {
                let t = pc as i64 + 1 + i.simm();
                if i.simm() < 0 || t > prog.len() as i64 {
                    return Err(e(format!("branch to {t}")));
                }
            }
            Opcode::Ld => {
                inside(rs, rb.map(|x| x.wrapping_add(i.simm() as u64)), 8, false, 8).map_err(e)?;
                set(&mut r, None);
            }
            Opcode::St => {
                inside(rs, rb.map(|x| x.wrapping_add(i.simm() as u64)), 8, true, 8).map_err(e)?
            }
            Opcode::Ts => inside(rs, ra, 8, true, 8).map_err(e)?,
            Opcode::Copy => {
                let n = count(&r, i.r[2], 4 * MAX_ELEMS).map_err(e)?;
                inside(rs, ra, n, true, 4).map_err(e)?;
                inside(rs, rb, n, false, 4).map_err(e)?;
                let (x, y) = (ra.unwrap_or(0), rb.unwrap_or(0));
                if !(x + n <= y || y + n <= x) {
                    return Err(e("copy ranges overlap".into()));
                }
            }
            Opcode::Fill => inside(
                rs,
                ra,
                4 * count(&r, i.r[2], MAX_ELEMS).map_err(e)?,
                true,
                4,
            )
            .map_err(e)?,
            Opcode::Ew | Opcode::Ews | Opcode::Ewu | Opcode::Red => {
                let n = count(&r, i.r[3], MAX_ELEMS).map_err(e)?;
                let dst = if op == Opcode::Red { 4 } else { 4 * n };
                inside(rs, ra, dst, true, 4).map_err(e)?;
                inside(rs, rb, 4 * n, false, 4).map_err(e)?;
                if op == Opcode::Ew {
                    inside(rs, rc, 4 * n, false, 4).map_err(e)?;
                }
            }
            Opcode::Gemm => {
                if dd > 13 {
                    return Err(e("d > 13".into()));
                }
                let dim = |k: usize| r[dd + k].filter(|v| (1..=8).contains(v));
                let (m, n, k) = (dim(0), dim(1), dim(2));
                let (m, n, k) = (m.ok_or("M")?, n.ok_or("N")?, k.ok_or("K")?);
                inside(rs, ra, 4 * m * n, true, 4).map_err(e)?;
                inside(rs, rb, 4 * m * k, false, 4).map_err(e)?;
                inside(rs, rc, 4 * k * n, false, 4).map_err(e)?;
            }
            Opcode::Nop | Opcode::Halt => {}
        }
    }
    Ok(seen)
}

fn regions(rng: &mut Rng) -> Vec<Region> {
    let mut va = 0x10_0000 + 4096 * rng.below(1000);
    (0..1 + rng.below(5))
        .map(|_| {
            let size = 8 * (1 + rng.below(8192));
            let r = Region {
                va,
                size,
                writable: rng.chance(2, 3),
            };
            va += size.div_ceil(4096) * 4096 + 4096;
            r
        })
        .collect()
}

#[test]
fn valid_programs_are_legal_and_stay_inside_their_buffers() {
    let mut all = HashSet::new();
    for seed in 0..2000 {
        let mut rng = Rng::new(seed);
        let rs = regions(&mut rng);
        let p = valid_program(&mut rng, &rs, tag(3, 7), 64);
        assert!(p.len() <= 65, "seed {seed}: {} instructions", p.len());
        assert_eq!(p[0], li(TAG, tag(3, 7)));
        assert_eq!(p.last().map(|i| i.op), Some(Opcode::Halt as u8));
        match check(&p, &rs) {
            Ok(seen) => all.extend(seen),
            Err(e) => panic!("seed {seed}: {e}\nregions {rs:x?}\nprogram {p:x?}"),
        }
    }
    for op in Opcode::ALL {
        assert!(
            all.contains(&(*op as u8)),
            "{} never generated",
            op.mnemonic()
        );
    }
}

#[test]
fn generation_replays_from_the_seed() {
    let gen_once = |seed| {
        let mut rng = Rng::new(seed);
        let rs = regions(&mut rng);
        (
            valid_program(&mut rng, &rs, 1, 48),
            random_words(&mut rng, &rs, 32),
        )
    };
    assert_eq!(gen_once(42), gen_once(42));
    assert_ne!(gen_once(42), gen_once(43));
}

#[test]
fn read_only_buffers_are_never_written() {
    let rs = [
        Region {
            va: 0x10_0000,
            size: 4096,
            writable: false,
        },
        Region {
            va: 0x20_0000,
            size: 4096,
            writable: false,
        },
    ];
    for seed in 0..300 {
        let p = valid_program(&mut Rng::new(seed), &rs, 9, 48);
        check(&p, &rs).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let writes = [
            Opcode::St,
            Opcode::Ts,
            Opcode::Copy,
            Opcode::Fill,
            Opcode::Ew,
            Opcode::Ews,
            Opcode::Ewu,
            Opcode::Red,
            Opcode::Gemm,
        ];
        assert!(
            p.iter().all(|i| !writes.iter().any(|&w| w as u8 == i.op)),
            "seed {seed}"
        );
    }
}

#[test]
fn spin_and_tags() {
    let (op, i) = Insn::decode(spin()[0]).expect("spin decodes");
    assert_eq!((op, i.simm()), (Opcode::Jmp, -1));
    assert_eq!(untag(u64::from(tag(5, 300))), Some((5, 300)));
    assert_eq!(untag(0x1234), None);
    let mut rng = Rng::new(1);
    for _ in 0..100 {
        let w = random_words(&mut rng, &[], 16);
        assert!(!w.is_empty() && w.len() <= 16);
    }
}

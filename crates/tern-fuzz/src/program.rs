// SPDX-License-Identifier: MIT OR Apache-2.0
//! Program generation: valid programs built from random legal instructions whose memory
//! operands all lie inside given buffers, and invalid ones (random or mutated words).
//!
//! Register use in valid programs: r1-r3 addresses, r4 element/byte counts, r5-r10 and r15
//! data, r11 the file's tag (the value FILL writes, so a stray write names its file),
//! r12-r14 the GEMM dimensions. Every block sets the address and count registers it uses,
//! and branches only skip whole blocks, so no path reaches a memory operand with a stale
//! address.

use tern_isa::{F_I32, Insn, Opcode};

use crate::rng::Rng;

/// A buffer a program may use: its device VA, size, and whether the device may write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Device VA of the first byte.
    pub va: u64,
    /// Size in bytes (at least 8).
    pub size: u64,
    /// The device may write it.
    pub writable: bool,
}

const ADDR: [u8; 3] = [1, 2, 3];
const COUNT: u8 = 4;
const DATA: [u8; 7] = [5, 6, 7, 8, 9, 10, 15];
/// Register holding the file tag.
pub const TAG: u8 = 11;
const DIMS: u8 = 12;
/// Most elements one vector instruction touches (keeps jobs short on a slow guest).
pub const MAX_ELEMS: u64 = 1024;

/// The tag word FILL writes for file `file` of process `proc`.
pub fn tag(proc: usize, file: u32) -> u32 {
    0xa500_0000 | ((proc as u32 & 0xff) << 16) | (file & 0xffff)
}

/// The (process, file) a word's low half names, if it looks like a tag.
pub fn untag(w: u64) -> Option<(u32, u32)> {
    let t = w as u32;
    (t >> 24 == 0xa5).then_some(((t >> 16) & 0xff, t & 0xffff))
}

fn ins(op: Opcode, r: [u8; 4], f: u8, imm: u32) -> Insn {
    Insn::new(op, r, f, imm)
}

fn li(reg: u8, imm: u32) -> Insn {
    ins(Opcode::Li, [reg, 0, 0, 0], 0, imm)
}

/// `reg = v` exactly: LI of the low half (sign-extended), then LIH of the high half.
fn li64(reg: u8, v: u64) -> [Insn; 2] {
    [
        li(reg, v as u32),
        ins(Opcode::Lih, [reg, 0, 0, 0], 0, (v >> 32) as u32),
    ]
}

enum Block {
    Plain(Vec<Insn>),
    /// A branch (`op`, registers a, b) over the next `skip` blocks.
    Branch(Opcode, u8, u8, usize),
}

struct Gen<'a> {
    rng: &'a mut Rng,
    regions: &'a [Region],
}

impl Gen<'_> {
    fn data(&mut self) -> u8 {
        DATA[self.rng.below(DATA.len() as u64) as usize]
    }

    fn region(&mut self, writable: bool) -> Option<Region> {
        let c: Vec<Region> = self
            .regions
            .iter()
            .copied()
            .filter(|r| r.size >= 8 && (r.writable || !writable))
            .collect();
        self.rng.pick(&c).copied()
    }

    /// An 8-aligned range of `bytes` (a multiple of 8) inside `r`.
    fn place(&mut self, r: Region, bytes: u64) -> u64 {
        let slots = (r.size & !7).saturating_sub(bytes) / 8;
        r.va + 8 * self.rng.below(slots + 1)
    }

    /// Element count for a vector operation over up to `cap` bytes of every region given.
    fn elems(&mut self, rs: &[Region]) -> u64 {
        let cap = rs.iter().map(|r| r.size / 8 * 2).min().unwrap_or(0);
        let n = cap.min(MAX_ELEMS);
        if n == 0 { 0 } else { 1 + self.rng.below(n) }
    }

    fn alu(&mut self) -> Vec<Insn> {
        let (a, b, c) = (self.data(), self.data(), self.data());
        let imm = self.rng.edgy() as u32;
        let i = match self.rng.below(8) {
            0 => li(a, imm),
            1 => ins(Opcode::Lih, [a, 0, 0, 0], 0, imm),
            2 => ins(Opcode::Add, [a, b, c, 0], 0, 0),
            3 => ins(Opcode::Sub, [a, b, c, 0], 0, 0),
            4 => ins(Opcode::Mul, [a, b, c, 0], 0, 0),
            5 => ins(Opcode::Addi, [a, b, 0, 0], 0, imm),
            6 => ins(Opcode::Shl, [a, b, 0, 0], 0, imm),
            _ => ins(Opcode::Nop, [0; 4], 0, 0),
        };
        vec![i]
    }

    fn ld_st_ts(&mut self) -> Option<Vec<Insn>> {
        let kind = self.rng.below(3);
        let r = self.region(kind != 0)?;
        let at = self.place(r, 8);
        let off = at - r.va;
        let (base, imm) = if kind != 2 && off < 1 << 31 && self.rng.chance(1, 2) {
            (r.va, off as u32)
        } else {
            (at, 0)
        };
        let last = match kind {
            0 => ins(Opcode::Ld, [self.data(), ADDR[0], 0, 0], 0, imm),
            1 => {
                let val = if self.rng.chance(1, 2) {
                    TAG
                } else {
                    self.data()
                };
                ins(Opcode::St, [val, ADDR[0], 0, 0], 0, imm)
            }
            _ => ins(Opcode::Ts, [ADDR[0], 0, 0, 0], 0, 0),
        };
        let mut v = li64(ADDR[0], base).to_vec();
        v.push(last);
        Some(v)
    }

    fn fill(&mut self) -> Option<Vec<Insn>> {
        let r = self.region(true)?;
        let n = self.elems(&[r]);
        let at = self.place(r, (4 * n + 7) & !7);
        let val = if self.rng.chance(3, 4) {
            TAG
        } else {
            self.data()
        };
        let mut v = li64(ADDR[0], at).to_vec();
        v.push(li(COUNT, n as u32));
        v.push(ins(Opcode::Fill, [ADDR[0], val, COUNT, 0], 0, 0));
        Some(v)
    }

    fn copy(&mut self) -> Option<Vec<Insn>> {
        let (d, s) = (self.region(true)?, self.region(false)?);
        let bytes = 8 * self.elems(&[d, s]).div_ceil(2);
        for _ in 0..4 {
            let (da, sa) = (self.place(d, bytes), self.place(s, bytes));
            if da + bytes <= sa || sa + bytes <= da {
                let mut v = li64(ADDR[0], da).to_vec();
                v.extend(li64(ADDR[1], sa));
                v.push(li(COUNT, bytes as u32));
                v.push(ins(Opcode::Copy, [ADDR[0], ADDR[1], COUNT, 0], 0, 0));
                return Some(v);
            }
        }
        None
    }

    fn elementwise(&mut self) -> Option<Vec<Insn>> {
        let (d, b, c) = (self.region(true)?, self.region(false)?, self.region(false)?);
        let n = self.elems(&[d, b, c]);
        let bytes = (4 * n + 7) & !7;
        let (da, ba, ca) = (
            self.place(d, bytes),
            self.place(b, bytes),
            self.place(c, bytes),
        );
        let i32t = self.rng.chance(1, 2);
        let ty = if i32t { F_I32 } else { 0 };
        let mut v = li64(ADDR[0], da).to_vec();
        v.extend(li64(ADDR[1], ba));
        v.extend(li64(ADDR[2], ca));
        v.push(li(COUNT, n as u32));
        let s = self.data();
        v.push(match self.rng.below(4) {
            0 | 1 => {
                let op = self.rng.below(if i32t { 5 } else { 6 }) as u8;
                let op = if i32t && op >= 3 { op + 1 } else { op }; // i32 has no div
                if self.rng.chance(1, 2) {
                    ins(Opcode::Ew, [ADDR[0], ADDR[1], ADDR[2], COUNT], ty | op, 0)
                } else {
                    ins(Opcode::Ews, [ADDR[0], ADDR[1], s, COUNT], ty | op, 0)
                }
            }
            2 => {
                let op = self.rng.below(if i32t { 3 } else { 4 }) as u8; // i32 has no sqrt
                ins(Opcode::Ewu, [ADDR[0], ADDR[1], 0, COUNT], ty | op, 0)
            }
            _ => {
                let op = self.rng.below(3) as u8;
                ins(Opcode::Red, [ADDR[0], ADDR[1], 0, COUNT], ty | op, 0)
            }
        });
        Some(v)
    }

    fn gemm(&mut self) -> Option<Vec<Insn>> {
        let (cr, ar, br) = (self.region(true)?, self.region(false)?, self.region(false)?);
        let mut dim = || 1 + self.rng.below(8);
        let (m, n, k) = (dim(), dim(), dim());
        let (cb, ab, bb) = (
            (4 * m * n + 7) & !7,
            (4 * m * k + 7) & !7,
            (4 * k * n + 7) & !7,
        );
        if cb > cr.size || ab > ar.size || bb > br.size {
            return None;
        }
        let (ca, aa, ba) = (self.place(cr, cb), self.place(ar, ab), self.place(br, bb));
        let apart = |x: u64, xl: u64, y: u64, yl: u64| x + xl <= y || y + yl <= x;
        if !apart(ca, cb, aa, ab) || !apart(ca, cb, ba, bb) {
            return None;
        }
        let mut v = li64(ADDR[0], ca).to_vec();
        v.extend(li64(ADDR[1], aa));
        v.extend(li64(ADDR[2], ba));
        v.extend([
            li(DIMS, m as u32),
            li(DIMS + 1, n as u32),
            li(DIMS + 2, k as u32),
        ]);
        let f = self.rng.below(2) as u8;
        v.push(ins(Opcode::Gemm, [ADDR[0], ADDR[1], ADDR[2], DIMS], f, 0));
        Some(v)
    }

    fn block(&mut self) -> Option<Block> {
        Some(Block::Plain(match self.rng.below(16) {
            0..=3 => self.alu(),
            4..=6 => self.ld_st_ts()?,
            7 | 8 => self.fill()?,
            9 | 10 => self.copy()?,
            11..=13 => self.elementwise()?,
            14 => self.gemm()?,
            _ => {
                let op = *self
                    .rng
                    .pick(&[Opcode::Jmp, Opcode::Bz, Opcode::Bnz, Opcode::Blt])?;
                let (a, b) = (self.data(), self.data());
                return Some(Block::Branch(op, a, b, 1 + self.rng.below(3) as usize));
            }
        }))
    }
}

/// A valid program of at most about `max_insns` instructions over `regions`, starting by
/// loading `tag` into r11 and ending with HALT.
pub fn valid_program(rng: &mut Rng, regions: &[Region], tag: u32, max_insns: usize) -> Vec<Insn> {
    let mut g = Gen { rng, regions };
    let mut blocks = vec![Block::Plain(vec![li(TAG, tag)])];
    let mut len = 2;
    let mut tries = 0;
    while len < max_insns && tries < 4 * max_insns {
        tries += 1;
        let Some(b) = g.block() else { continue };
        let n = match &b {
            Block::Plain(v) => v.len(),
            Block::Branch(..) => 1,
        };
        if len + n > max_insns {
            break;
        }
        len += n;
        blocks.push(b);
    }
    let lens: Vec<usize> = blocks
        .iter()
        .map(|b| match b {
            Block::Plain(v) => v.len(),
            Block::Branch(..) => 1,
        })
        .collect();
    let mut out = Vec::with_capacity(len);
    for (i, b) in blocks.iter().enumerate() {
        match b {
            Block::Plain(v) => out.extend_from_slice(v),
            Block::Branch(op, a, bb, skip) => {
                let end = (i + 1 + skip).min(blocks.len());
                let imm = lens[i + 1..end].iter().sum::<usize>() as u32;
                let r = match op {
                    Opcode::Jmp => [0, 0, 0, 0],
                    Opcode::Blt => [*a, *bb, 0, 0],
                    _ => [*a, 0, 0, 0],
                };
                out.push(ins(*op, r, 0, imm));
            }
        }
    }
    out.push(ins(Opcode::Halt, [0; 4], 0, 0));
    out
}

/// A program that loops forever (`JMP -1`): it ends by its instruction budget.
pub fn spin() -> Vec<u64> {
    vec![ins(Opcode::Jmp, [0; 4], 0, u32::MAX).encode()]
}

/// Words that are mostly not a valid program: random bits, legal opcodes with random
/// fields, or a valid program with a few words mutated.
pub fn random_words(rng: &mut Rng, regions: &[Region], max_words: usize) -> Vec<u64> {
    let n = 1 + rng.below(max_words.max(1) as u64) as usize;
    match rng.below(3) {
        0 => (0..n).map(|_| rng.u64()).collect(),
        1 => (0..n)
            .map(|_| {
                let op = *rng.pick(Opcode::ALL).unwrap_or(&Opcode::Nop) as u64;
                let fields = rng.u64() & !0xff;
                op | if rng.chance(1, 2) {
                    fields & 0xffff_ffff_00ff_ffff
                } else {
                    fields
                }
            })
            .collect(),
        _ => {
            let mut v: Vec<u64> = valid_program(rng, regions, 0, n.max(4))
                .iter()
                .map(Insn::encode)
                .collect();
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(v.len() as u64) as usize;
                v[i] = match rng.below(3) {
                    0 => v[i] ^ (1 << rng.below(64)),
                    1 => v[i] ^ (rng.u64() << 32),
                    _ => rng.u64(),
                };
            }
            v
        }
    }
}

#[cfg(test)]
#[path = "program_tests.rs"]
mod tests;

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Property tests: any words disassemble to text that assembles to the same words, and no
//! input makes the assembler panic.

use tern_asm::{assemble, disassemble_words};
use tern_isa::{Insn, Opcode};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn check(words: &[u64]) -> usize {
    let text = disassemble_words(words);
    let back: Vec<u64> = assemble(&text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .iter()
        .map(Insn::encode)
        .collect();
    assert_eq!(back, words, "{text}");
    text.lines()
        .filter(|l| !l.contains(".word") && !l.ends_with(':'))
        .count()
}

#[test]
fn random_words_round_trip() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..100 {
        let words: Vec<u64> = (0..1000).map(|_| rng.next()).collect();
        check(&words);
    }
}

/// Words built from a valid opcode, with the unused fields usually zero, so that most of
/// them decode; short immediates so that branches often land inside the program.
#[test]
fn random_instructions_round_trip() {
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut decoded = 0;
    for _ in 0..100 {
        let words: Vec<u64> = (0..1000)
            .map(|_| {
                let op = Opcode::ALL[rng.below(Opcode::ALL.len() as u64) as usize];
                let fl = op.fields();
                let mut w = Insn::split(rng.next());
                w.op = op as u8;
                let noise = rng.below(8) == 0;
                for k in 0..4 {
                    if !fl.regs[k] && !noise {
                        w.r[k] = 0;
                    }
                }
                if !noise && !fl.f {
                    w.f = 0;
                } else if rng.below(2) == 0 {
                    w.f &= 0x8f;
                }
                if !noise && !fl.imm {
                    w.imm = 0;
                } else if rng.below(2) == 0 {
                    w.imm = (rng.below(64) as i32 - 32) as u32;
                }
                w.encode()
            })
            .collect();
        decoded += check(&words);
    }
    assert!(decoded > 60_000, "only {decoded} of 100000 words decoded");
}

/// Random lines made of plausible and implausible tokens: errors, never panics.
#[test]
fn random_text_never_panics() {
    let toks = [
        "add",
        "ew.f32.add",
        "ew.i32.div",
        "gemm.acc",
        "la",
        ".word",
        "jmp",
        "blt",
        "li",
        "lih",
        "r0",
        "r15",
        "r16",
        "R3",
        "x",
        "lbl:",
        "lbl",
        ":",
        ",",
        ",,",
        " ",
        "\t",
        "-",
        "0x",
        "0xffffffffffffffffffff",
        "-0x80000000",
        "4294967295",
        "9",
        "#",
        ";",
        "é",
        "_",
        "r01",
    ];
    let mut rng = XorShift(42);
    let mut ok = 0;
    for _ in 0..20_000 {
        let mut src = String::new();
        for _ in 0..rng.below(12) {
            src += toks[rng.below(toks.len() as u64) as usize];
            if rng.below(3) == 0 {
                src += if rng.below(4) == 0 { "\n" } else { " " };
            }
        }
        if let Ok(insns) = assemble(&src) {
            ok += 1;
            let words: Vec<u64> = insns.iter().map(Insn::encode).collect();
            check(&words);
        }
    }
    assert!(ok > 0);
}

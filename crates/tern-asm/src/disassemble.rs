// SPDX-License-Identifier: MIT OR Apache-2.0
//! The disassembler: words back to text the assembler turns into the same words.

use tern_isa::{INSN_BYTES, Insn, Opcode};

use crate::error::DisasmError;
use crate::mnemonic;
use crate::operand::format_number;

/// One word, taken apart for printing.
enum Decoded {
    /// A canonical instruction; `branch` is its signed offset when it branches.
    Insn {
        mnemonic: String,
        ops: Vec<String>,
        branch: Option<i64>,
    },
    /// A word the assembler can only write as `.word`, and why.
    Raw(String),
}

fn decode(w: u64) -> Decoded {
    let (op, i) = match Insn::decode(w) {
        Ok(d) => d,
        Err(e) => return Decoded::Raw(e.to_string()),
    };
    let Some(mnemonic) = mnemonic::format(op, i.f) else {
        return Decoded::Raw(format!("illegal function {:#04x}", i.f));
    };
    if op == Opcode::Gemm && i.r[3] > 13 {
        return Decoded::Raw("gemm register d above r13".into());
    }
    let fields = op.fields();
    let mut ops: Vec<String> = (0..4)
        .filter(|&k| fields.regs[k])
        .map(|k| format!("r{}", i.r[k]))
        .collect();
    let mut branch = None;
    match op {
        Opcode::Jmp | Opcode::Bnz | Opcode::Bz | Opcode::Blt => branch = Some(i.simm()),
        Opcode::Lih | Opcode::Shl => ops.push(format_number(i64::from(i.imm))),
        _ if fields.imm => ops.push(format_number(i.simm())),
        _ => {}
    }
    Decoded::Insn {
        mnemonic,
        ops,
        branch,
    }
}

fn line(mnemonic: &str, ops: &[String]) -> String {
    if ops.is_empty() {
        mnemonic.to_string()
    } else {
        format!("{mnemonic} {}", ops.join(", "))
    }
}

fn raw(w: u64, reason: &str) -> String {
    format!(".word {w:#018x} ; {reason}")
}

fn target(pc: usize, offset: i64) -> i128 {
    pc as i128 + 1 + i128::from(offset)
}

/// One instruction at index `pc` as text, with a branch target as an instruction index.
pub fn insn_text(word: u64, pc: usize) -> String {
    match decode(word) {
        Decoded::Insn {
            mnemonic,
            mut ops,
            branch,
        } => {
            if let Some(off) = branch {
                ops.push(target(pc, off).to_string());
            }
            line(&mnemonic, &ops)
        }
        Decoded::Raw(reason) => raw(word, &reason),
    }
}

/// A program's words as assembly text. Branch targets inside the program (or just past its
/// end) get labels `L<index>`; others are printed as instruction indices.
pub fn disassemble_words(words: &[u64]) -> String {
    let decoded: Vec<Decoded> = words.iter().map(|&w| decode(w)).collect();
    let label = |pc: usize, off: i64| {
        let t = target(pc, off);
        (0..=words.len() as i128).contains(&t).then_some(t as usize)
    };
    let mut labelled = vec![false; words.len() + 1];
    for (pc, d) in decoded.iter().enumerate() {
        if let Decoded::Insn {
            branch: Some(off), ..
        } = d
            && let Some(t) = label(pc, *off)
        {
            labelled[t] = true;
        }
    }
    let mut out = String::new();
    for (pc, (d, &w)) in decoded.into_iter().zip(words).enumerate() {
        if labelled[pc] {
            out += &format!("L{pc}:\n");
        }
        let text = match d {
            Decoded::Insn {
                mnemonic,
                mut ops,
                branch,
            } => {
                if let Some(off) = branch {
                    ops.push(match label(pc, off) {
                        Some(t) => format!("L{t}"),
                        None => target(pc, off).to_string(),
                    });
                }
                line(&mnemonic, &ops)
            }
            Decoded::Raw(reason) => raw(w, &reason),
        };
        out += &format!("    {text}\n");
    }
    if labelled[words.len()] {
        out += &format!("L{}:\n", words.len());
    }
    out
}

/// Program bytes (little-endian words) as assembly text.
pub fn disassemble(bytes: &[u8]) -> Result<String, DisasmError> {
    if !bytes.len().is_multiple_of(INSN_BYTES) {
        return Err(DisasmError::Length(bytes.len()));
    }
    let words: Vec<u64> = bytes
        .chunks_exact(INSN_BYTES)
        .map(|c| u64::from_le_bytes(std::array::from_fn(|i| c[i])))
        .collect();
    Ok(disassemble_words(&words))
}

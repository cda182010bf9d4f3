// SPDX-License-Identifier: MIT OR Apache-2.0
//! The assembler: two passes, the second resolving branch targets.

use std::collections::HashMap;

use tern_isa::{Insn, Opcode};

use crate::error::{Error, ErrorKind};
use crate::line::{self, Tok};
use crate::mnemonic::{self, Mnemonic};
use crate::operand::{self, RAW32, RAW64, SIGNED32};

/// Numeric branch targets: absolute instruction indices.
const TARGET: (i128, i128) = (i64::MIN as i128, i64::MAX as i128);

/// A branch whose immediate waits for the labels.
struct Fixup<'a> {
    index: usize,
    line: usize,
    target: Tok<'a>,
}

/// Assembles a source text into instructions.
pub fn assemble(src: &str) -> Result<Vec<Insn>, Error> {
    let mut out = Vec::new();
    let mut fixups = Vec::new();
    let mut labels: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, text) in src.lines().enumerate() {
        let ln = i + 1;
        let at = |col, kind| Error {
            line: ln,
            col,
            kind,
        };
        let parsed = line::split(text).map_err(|(col, kind)| at(col, kind))?;
        for l in &parsed.labels {
            if operand::looks_like_register(l.text) {
                return Err(at(l.col, ErrorKind::InvalidLabel(l.text.into())));
            }
            if let Some(&(_, first_line)) = labels.get(l.text) {
                let kind = ErrorKind::DuplicateLabel {
                    name: l.text.into(),
                    first_line,
                };
                return Err(at(l.col, kind));
            }
            labels.insert(l.text, (out.len(), ln));
        }
        if let Some(m) = parsed.mnemonic {
            let target =
                statement(m, &parsed.operands, &mut out).map_err(|(col, kind)| at(col, kind))?;
            if let Some(target) = target {
                fixups.push(Fixup {
                    index: out.len() - 1,
                    line: ln,
                    target,
                });
            }
        }
    }
    for fx in fixups {
        let at = |kind| Error {
            line: fx.line,
            col: fx.target.col,
            kind,
        };
        let text = fx.target.text;
        let target = if operand::looks_like_number(text) {
            operand::number(text, TARGET).map_err(at)?
        } else if line::ident_len(text) == text.len() && !operand::looks_like_register(text) {
            let &(pc, _) = labels
                .get(text)
                .ok_or_else(|| at(ErrorKind::UndefinedLabel(text.into())))?;
            pc as i128
        } else {
            return Err(at(ErrorKind::ExpectedTarget(text.into())));
        };
        let offset = target - (fx.index as i128 + 1);
        let imm = i32::try_from(offset).map_err(|_| {
            at(ErrorKind::BranchOutOfRange {
                target: text.into(),
                offset,
            })
        })?;
        out[fx.index].imm = imm as u32;
    }
    Ok(out)
}

/// Assembles a source text into program bytes.
pub fn assemble_bytes(src: &str) -> Result<Vec<u8>, Error> {
    assemble(src).map(|insns| tern_isa::encode_program(&insns))
}

type Res<T> = Result<T, (usize, ErrorKind)>;

/// Appends one statement's instructions; returns the branch target left to resolve, if any.
fn statement<'a>(m: Tok<'a>, ops: &[Tok<'a>], out: &mut Vec<Insn>) -> Res<Option<Tok<'a>>> {
    if let Some(name) = m.text.strip_suffix(':') {
        return Err((m.col, ErrorKind::InvalidLabel(name.into())));
    }
    let mn = mnemonic::parse(m.text).map_err(|k| (m.col, k))?;
    let count = |expected: usize| {
        if ops.len() == expected {
            Ok(())
        } else {
            let kind = ErrorKind::OperandCount {
                mnemonic: m.text.into(),
                expected,
                found: ops.len(),
            };
            Err((m.col, kind))
        }
    };
    let reg = |t: &Tok| operand::register(t.text).map_err(|k| (t.col, k));
    let num = |t: &Tok, range| operand::number(t.text, range).map_err(|k| (t.col, k));
    let (op, f) = match mn {
        Mnemonic::Word => {
            count(1)?;
            out.push(Insn::split(num(&ops[0], RAW64)? as u64));
            return Ok(None);
        }
        Mnemonic::La => {
            count(2)?;
            let r = reg(&ops[0])?;
            let v = num(&ops[1], RAW64)? as u64;
            out.push(Insn::new(Opcode::Li, [r, 0, 0, 0], 0, v as u32));
            if (v as u32 as i32 as u64) != v {
                out.push(Insn::new(Opcode::Lih, [r, 0, 0, 0], 0, (v >> 32) as u32));
            }
            return Ok(None);
        }
        Mnemonic::Insn(op, f) => (op, f),
    };
    let fields = op.fields();
    let nregs = fields.regs.iter().filter(|&&u| u).count();
    count(nregs + usize::from(fields.imm))?;
    let mut insn = Insn::new(op, [0; 4], f, 0);
    let slots = (0..4).filter(|&k| fields.regs[k]);
    for (k, t) in slots.zip(ops) {
        insn.r[k] = reg(t)?;
        if op == Opcode::Gemm && k == 3 && insn.r[k] > 13 {
            return Err((t.col, ErrorKind::GemmRegister(t.text.into())));
        }
    }
    let mut target = None;
    if let Some(t) = ops.get(nregs) {
        match op {
            Opcode::Jmp | Opcode::Bnz | Opcode::Bz | Opcode::Blt => target = Some(*t),
            Opcode::Lih | Opcode::Shl => insn.imm = num(t, RAW32)? as u32,
            _ => insn.imm = num(t, SIGNED32)? as u32,
        }
    }
    out.push(insn);
    Ok(target)
}

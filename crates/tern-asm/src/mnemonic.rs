// SPDX-License-Identifier: MIT OR Apache-2.0
//! Mnemonics with their function suffixes (`ew.f32.add`, `gemm.acc`), both ways.

use tern_isa::{BinOp, F_I32, Opcode, RedOp, UnOp};

use crate::error::ErrorKind;

/// What a mnemonic stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mnemonic {
    /// A machine instruction and its function field.
    Insn(Opcode, u8),
    /// `la rN, VALUE64`: `li`, plus `lih` when the value is not a sign-extended 32-bit one.
    La,
    /// `.word VALUE64`: one raw instruction word.
    Word,
}

/// Parses a mnemonic (any case).
pub(crate) fn parse(text: &str) -> Result<Mnemonic, ErrorKind> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        ".word" => return Ok(Mnemonic::Word),
        "la" => return Ok(Mnemonic::La),
        _ => {}
    }
    let mut parts = lower.split('.');
    let base = parts.next().unwrap_or_default();
    let suffix: Vec<&str> = parts.collect();
    let op =
        Opcode::from_mnemonic(base).ok_or_else(|| ErrorKind::UnknownMnemonic(text.to_string()))?;
    let bad = |reason| ErrorKind::BadFunction {
        mnemonic: text.to_string(),
        reason,
    };
    let f = match op {
        Opcode::Ew | Opcode::Ews => {
            let (i32, name) = typed(&suffix).ok_or_else(|| bad(TYPED_FORM))?;
            let o = by_name(BinOp::from_bits, BinOp::name, name)
                .ok_or_else(|| bad("operation must be add, sub, mul, div, max or min"))?;
            if i32 && o == BinOp::Div {
                return Err(bad("div is f32 only"));
            }
            type_bit(i32) | o as u8
        }
        Opcode::Ewu => {
            let (i32, name) = typed(&suffix).ok_or_else(|| bad(TYPED_FORM))?;
            let o = by_name(UnOp::from_bits, UnOp::name, name)
                .ok_or_else(|| bad("operation must be neg, abs, relu or sqrt"))?;
            if i32 && o == UnOp::Sqrt {
                return Err(bad("sqrt is f32 only"));
            }
            type_bit(i32) | o as u8
        }
        Opcode::Red => {
            let (i32, name) = typed(&suffix).ok_or_else(|| bad(TYPED_FORM))?;
            let o = by_name(RedOp::from_bits, RedOp::name, name)
                .ok_or_else(|| bad("operation must be sum, max or min"))?;
            type_bit(i32) | o as u8
        }
        Opcode::Gemm => match suffix.as_slice() {
            [] => 0,
            ["acc"] => 1,
            _ => return Err(bad("the only suffix of gemm is '.acc'")),
        },
        _ if suffix.is_empty() => 0,
        _ => return Err(bad("this instruction takes no suffix")),
    };
    Ok(Mnemonic::Insn(op, f))
}

const TYPED_FORM: &str = "expected a type (f32 or i32) and an operation, e.g. 'ew.f32.add'";

fn typed<'a>(suffix: &[&'a str]) -> Option<(bool, &'a str)> {
    match suffix {
        ["f32", op] => Some((false, op)),
        ["i32", op] => Some((true, op)),
        _ => None,
    }
}

fn type_bit(i32: bool) -> u8 {
    if i32 { F_I32 } else { 0 }
}

fn by_name<T: Copy>(from: fn(u8) -> Option<T>, name: fn(T) -> &'static str, s: &str) -> Option<T> {
    (0..16).filter_map(from).find(|&o| name(o) == s)
}

/// The mnemonic for an opcode and function field, or `None` when the assembler cannot write
/// that function (an illegal one, or bits the instruction set does not define).
pub(crate) fn format(op: Opcode, f: u8) -> Option<String> {
    let typed = |name: Option<&'static str>, f32_only: &str| {
        let name = name?;
        let i32 = f & F_I32 != 0;
        if f & 0x70 != 0 || (i32 && name == f32_only) {
            return None;
        }
        let ty = if i32 { "i32" } else { "f32" };
        Some(format!("{}.{ty}.{name}", op.mnemonic()))
    };
    match op {
        Opcode::Ew | Opcode::Ews => typed(BinOp::from_bits(f & 15).map(BinOp::name), "div"),
        Opcode::Ewu => typed(UnOp::from_bits(f & 15).map(UnOp::name), "sqrt"),
        Opcode::Red => typed(RedOp::from_bits(f & 15).map(RedOp::name), ""),
        Opcode::Gemm => match f {
            0 => Some("gemm".into()),
            1 => Some("gemm.acc".into()),
            _ => None,
        },
        _ if f == 0 => Some(op.mnemonic().into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_legal_function_round_trips() {
        let mut n = 0;
        for &op in Opcode::ALL {
            for f in 0..=255u8 {
                if let Some(text) = format(op, f) {
                    assert_eq!(parse(&text), Ok(Mnemonic::Insn(op, f)), "{text}");
                    n += 1;
                }
            }
        }
        // 18 plain opcodes, ew/ews 2 x 11, ewu 7, red 6, gemm 2.
        assert_eq!(n, 18 + 22 + 7 + 6 + 2);
    }

    #[test]
    fn refusals() {
        for bad in [
            "ew.i32.div",
            "ewu.i32.sqrt",
            "ew",
            "ew.f32",
            "ew.f64.add",
            "red.f32.avg",
            "gemm.x",
            "add.f32",
            "ew.f32.add.x",
        ] {
            assert!(
                matches!(parse(bad), Err(ErrorKind::BadFunction { .. })),
                "{bad}"
            );
        }
        assert_eq!(parse("foo"), Err(ErrorKind::UnknownMnemonic("foo".into())));
        assert_eq!(parse("EW.F32.ADD"), Ok(Mnemonic::Insn(Opcode::Ew, 0)));
    }
}

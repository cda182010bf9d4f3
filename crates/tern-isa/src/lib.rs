// SPDX-License-Identifier: MIT OR Apache-2.0
//! The TERN instruction set (`docs/hardware.md`, chapter 8): one place for the encoding that
//! the device model executes, the assembler writes and the firmware's decode table maps.

mod encoding;
mod opcode;

pub use encoding::{DecodeError, Insn};
pub use opcode::{EngineOp, Fields, Opcode};

/// Bytes per instruction.
pub const INSN_BYTES: usize = 8;
/// Number of scalar registers.
pub const NUM_REGS: u8 = 16;

/// Function field of `EW`/`EWS`/`EWU`/`RED`: bit 7 selects i32.
pub const F_I32: u8 = 0x80;

/// Binary elementwise operations (`EW`, `EWS`), function bits 3:0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BinOp {
    /// a + b
    Add = 0,
    /// a - b
    Sub = 1,
    /// a * b
    Mul = 2,
    /// a / b (f32 only)
    Div = 3,
    /// max(a, b)
    Max = 4,
    /// min(a, b)
    Min = 5,
}

/// Unary elementwise operations (`EWU`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum UnOp {
    /// -x
    Neg = 0,
    /// |x|
    Abs = 1,
    /// max(x, 0)
    Relu = 2,
    /// sqrt(x) (f32 only)
    Sqrt = 3,
}

/// Reductions (`RED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RedOp {
    /// Sum, left to right.
    Sum = 0,
    /// Maximum.
    Max = 1,
    /// Minimum.
    Min = 2,
}

impl BinOp {
    /// From function bits 3:0.
    pub fn from_bits(b: u8) -> Option<Self> {
        use BinOp::*;
        [Add, Sub, Mul, Div, Max, Min].get(b as usize).copied()
    }
    /// Mnemonic suffix.
    pub fn name(self) -> &'static str {
        ["add", "sub", "mul", "div", "max", "min"][self as usize]
    }
}

impl UnOp {
    /// From function bits 3:0.
    pub fn from_bits(b: u8) -> Option<Self> {
        use UnOp::*;
        [Neg, Abs, Relu, Sqrt].get(b as usize).copied()
    }
    /// Mnemonic suffix.
    pub fn name(self) -> &'static str {
        ["neg", "abs", "relu", "sqrt"][self as usize]
    }
}

impl RedOp {
    /// From function bits 3:0.
    pub fn from_bits(b: u8) -> Option<Self> {
        use RedOp::*;
        [Sum, Max, Min].get(b as usize).copied()
    }
    /// Mnemonic suffix.
    pub fn name(self) -> &'static str {
        ["sum", "max", "min"][self as usize]
    }
}

/// Encodes a program into bytes.
pub fn encode_program(insns: &[Insn]) -> Vec<u8> {
    insns
        .iter()
        .flat_map(|i| i.encode().to_le_bytes())
        .collect()
}

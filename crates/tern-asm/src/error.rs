// SPDX-License-Identifier: MIT OR Apache-2.0
//! Assembler and disassembler errors.

/// An assembly error at a 1-based line and column (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {kind}")]
pub struct Error {
    /// Line, from 1.
    pub line: usize,
    /// Column of the offending token, from 1.
    pub col: usize,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong in an assembly source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The mnemonic names no instruction, pseudo-instruction or directive.
    #[error("unknown mnemonic '{0}'")]
    UnknownMnemonic(String),
    /// A known mnemonic with a missing, extra or illegal function suffix.
    #[error("bad function '{mnemonic}': {reason}")]
    BadFunction {
        /// The mnemonic as written.
        mnemonic: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// `r` followed by digits that name no register.
    #[error("unknown register '{0}'")]
    UnknownRegister(String),
    /// A register operand was expected.
    #[error("expected a register, found '{0}'")]
    ExpectedRegister(String),
    /// `GEMM` reads M, N, K from d, d+1, d+2.
    #[error("gemm register d must be r0..r13 (d, d+1, d+2 hold M, N, K), found '{0}'")]
    GemmRegister(String),
    /// Not a number.
    #[error("invalid number '{0}'")]
    InvalidNumber(String),
    /// A number outside the range its operand accepts.
    #[error("immediate '{text}' out of range {min}..={max}")]
    ImmOutOfRange {
        /// The operand as written.
        text: String,
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// A branch target that is neither a label nor a number.
    #[error("expected a label or instruction index, found '{0}'")]
    ExpectedTarget(String),
    /// A branch names a label that is not defined.
    #[error("undefined label '{0}'")]
    UndefinedLabel(String),
    /// A label defined twice.
    #[error("duplicate label '{name}' (first defined on line {first_line})")]
    DuplicateLabel {
        /// The label.
        name: String,
        /// Line of the first definition.
        first_line: usize,
    },
    /// A label name that is not `[A-Za-z_][A-Za-z0-9_]*` or looks like a register.
    #[error("invalid label name '{0}'")]
    InvalidLabel(String),
    /// The branch offset `target - (pc + 1)` does not fit in 32 bits.
    #[error("branch target '{target}' out of range (offset {offset} does not fit in 32 bits)")]
    BranchOutOfRange {
        /// The target as written.
        target: String,
        /// The offset it needs.
        offset: i128,
    },
    /// Too few or too many operands.
    #[error("'{mnemonic}' takes {expected} operand{}, found {found}", if *.expected == 1 { "" } else { "s" })]
    OperandCount {
        /// The mnemonic as written.
        mnemonic: String,
        /// Operands it takes.
        expected: usize,
        /// Operands given.
        found: usize,
    },
    /// Nothing between two commas, or after the last one.
    #[error("missing operand")]
    MissingOperand,
    /// Two words in one operand.
    #[error("expected ',' before '{0}'")]
    ExpectedComma(String),
}

/// Why bytes cannot be disassembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisasmError {
    /// The length is not a multiple of the 8-byte instruction size.
    #[error("program length {0} is not a multiple of 8 bytes")]
    Length(usize),
}

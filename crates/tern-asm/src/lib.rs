// SPDX-License-Identifier: MIT OR Apache-2.0
//! TERN assembler and disassembler (`docs/hardware.md`, chapters 8 and 12).
//!
//! # Syntax
//!
//! ```text
//! ; vadd: dst[i] = a[i] + b[i]          (comments start with ';' or '#')
//!         li   r15, 0x10000             ; argument block
//!         ld   r1, r15, 0
//! loop:   bnz  r4, loop                 ; a label, then an instruction
//!         ew.f32.add r1, r2, r3, r4
//!         halt
//! ```
//!
//! - One statement per line: any number of labels `name:` (`[A-Za-z_][A-Za-z0-9_]*`, not a
//!   register name; case-sensitive), then optionally a mnemonic and its comma-separated
//!   operands. Mnemonics and register names are case-insensitive; the disassembler prints
//!   lower case.
//! - Registers `r0`..`r15`. Numbers: decimal, `0x` hex or `0b` binary, optional `-`/`+`,
//!   `_` allowed between digits.
//! - Operands are the register fields the opcode uses, in field order a, b, c, d, followed by
//!   the immediate if it has one: `add ra, rb, rc`, `ld ra, rb, imm`, `ewu.f32.relu ra, rb,
//!   rd`, `red.f32.sum ra, rb, rd`, `gemm ra, rb, rc, rd` (rd ≤ r13).
//! - Function field: `ew`/`ews`/`ewu`/`red` take `.f32` or `.i32` and an operation
//!   (`ew.i32.mul`, `ewu.f32.sqrt`, `red.i32.max`); `gemm.acc` sets f bit 0. `div` and `sqrt`
//!   are f32 only.
//! - Immediates: `li`, `addi`, `ld`, `st` take the signed value -2^31..2^31-1 (the hardware
//!   sign-extends it; use `la` for anything else). `lih` and `shl` take the raw 32-bit field,
//!   -2^31..2^32-1 (negative values as two's complement).
//! - Branch targets (`jmp`, `bnz`, `bz`, `blt`): a label or a number, both meaning an absolute
//!   instruction index; the assembler writes `imm = target - (pc + 1)`, which must fit in 32
//!   signed bits.
//! - `la rN, VALUE64` (-2^63..2^64-1) is `li rN, low32`, followed by `lih rN, high32` unless
//!   the value is a sign-extended 32-bit one. Labels count the instructions it expands to.
//! - `.word VALUE64` emits one raw instruction word. The disassembler prints words it cannot
//!   write otherwise (unknown opcode, non-zero unused field, illegal function, `gemm` with
//!   d > r13) this way, so disassembled text always assembles back to the same bytes.
//!
//! Errors name a 1-based line and column: `3:9: unknown register 'r16'`.

mod assemble;
mod disassemble;
mod error;
mod line;
mod mnemonic;
mod operand;

pub use assemble::{assemble, assemble_bytes};
pub use disassemble::{disassemble, disassemble_words, insn_text};
pub use error::{DisasmError, Error, ErrorKind};

// SPDX-License-Identifier: MIT OR Apache-2.0
//! The 64-bit instruction word (`docs/hardware.md` 8.2).

use crate::opcode::Opcode;

/// One decoded instruction. Fields not used by the opcode are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Insn {
    /// Opcode byte (may be unknown when built by hand).
    pub op: u8,
    /// Register fields a, b, c, d (0..=15).
    pub r: [u8; 4],
    /// Function / flags field.
    pub f: u8,
    /// Immediate.
    pub imm: u32,
}

/// Why a word is not a valid instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The opcode byte names no instruction.
    #[error("unknown opcode {0:#04x}")]
    UnknownOpcode(u8),
    /// A field the opcode does not use is not zero.
    #[error("{op}: unused field '{field}' is not zero")]
    UnusedField {
        /// Mnemonic.
        op: &'static str,
        /// Field name.
        field: &'static str,
    },
}

impl Insn {
    /// An instruction from its parts.
    pub fn new(op: Opcode, r: [u8; 4], f: u8, imm: u32) -> Insn {
        Insn {
            op: op as u8,
            r,
            f,
            imm,
        }
    }

    /// The instruction word.
    pub fn encode(&self) -> u64 {
        u64::from(self.op)
            | u64::from(self.r[0] & 15) << 8
            | u64::from(self.r[1] & 15) << 12
            | u64::from(self.r[2] & 15) << 16
            | u64::from(self.r[3] & 15) << 20
            | u64::from(self.f) << 24
            | u64::from(self.imm) << 32
    }

    /// Splits a word into fields without checking them.
    pub fn split(w: u64) -> Insn {
        Insn {
            op: w as u8,
            r: [
                (w >> 8) as u8 & 15,
                (w >> 12) as u8 & 15,
                (w >> 16) as u8 & 15,
                (w >> 20) as u8 & 15,
            ],
            f: (w >> 24) as u8,
            imm: (w >> 32) as u32,
        }
    }

    /// Decodes and checks a word: known opcode, unused fields zero.
    pub fn decode(w: u64) -> Result<(Opcode, Insn), DecodeError> {
        let i = Insn::split(w);
        let op = Opcode::from_u8(i.op).ok_or(DecodeError::UnknownOpcode(i.op))?;
        let fl = op.fields();
        let unused = |field| {
            Err(DecodeError::UnusedField {
                op: op.mnemonic(),
                field,
            })
        };
        for (k, name) in ["a", "b", "c", "d"].into_iter().enumerate() {
            if !fl.regs[k] && i.r[k] != 0 {
                return unused(name);
            }
        }
        if !fl.f && i.f != 0 {
            return unused("f");
        }
        if !fl.imm && i.imm != 0 {
            return unused("imm");
        }
        Ok((op, i))
    }

    /// The immediate, sign-extended.
    pub fn simm(&self) -> i64 {
        i64::from(self.imm as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let i = Insn::new(Opcode::Ew, [1, 2, 3, 4], 0x82, 0);
        assert_eq!(i.encode(), 0x8243_2140);
        assert_eq!(Insn::decode(i.encode()), Ok((Opcode::Ew, i)));
        let li = Insn::new(Opcode::Li, [5, 0, 0, 0], 0, (-3i32) as u32);
        assert_eq!(Insn::decode(li.encode()).unwrap().1.simm(), -3);
    }

    #[test]
    fn unused_fields_are_refused() {
        let w = Insn::new(Opcode::Halt, [0, 0, 0, 0], 0, 1).encode();
        assert_eq!(
            Insn::decode(w),
            Err(DecodeError::UnusedField {
                op: "halt",
                field: "imm"
            })
        );
        let w = Insn::new(Opcode::Add, [1, 2, 3, 4], 0, 0).encode();
        assert!(matches!(
            Insn::decode(w),
            Err(DecodeError::UnusedField { field: "d", .. })
        ));
        assert_eq!(Insn::decode(0xee), Err(DecodeError::UnknownOpcode(0xee)));
    }
}

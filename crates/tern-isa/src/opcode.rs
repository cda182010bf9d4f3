// SPDX-License-Identifier: MIT OR Apache-2.0
//! Opcodes, the fields each one uses, and the engine operations the firmware maps them to.

/// Which instruction fields an opcode uses; the others must be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    /// Register fields a, b, c, d in use.
    pub regs: [bool; 4],
    /// The function field is in use.
    pub f: bool,
    /// The immediate is in use.
    pub imm: bool,
}

const fn fields(regs: u8, f: bool, imm: bool) -> Fields {
    Fields {
        regs: [regs & 1 != 0, regs & 2 != 0, regs & 4 != 0, regs & 8 != 0],
        f,
        imm,
    }
}

macro_rules! opcodes {
    ($($name:ident = $code:literal, $mn:literal, $regs:literal, $f:literal, $imm:literal, $eng:literal;)*) => {
        /// An ISA opcode (`docs/hardware.md` 8.3).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Opcode { $(
            #[doc = $mn]
            $name = $code,
        )* }

        impl Opcode {
            /// Every opcode, in encoding order.
            pub const ALL: &[Opcode] = &[$(Opcode::$name),*];

            /// The opcode with encoding `b`.
            pub fn from_u8(b: u8) -> Option<Opcode> {
                match b { $($code => Some(Opcode::$name),)* _ => None }
            }

            /// Assembler mnemonic.
            pub fn mnemonic(self) -> &'static str {
                match self { $(Opcode::$name => $mn,)* }
            }

            /// The opcode with mnemonic `m` (lower case).
            pub fn from_mnemonic(m: &str) -> Option<Opcode> {
                match m { $($mn => Some(Opcode::$name),)* _ => None }
            }

            /// Fields the opcode uses.
            pub fn fields(self) -> Fields {
                match self { $(Opcode::$name => fields($regs, $f, $imm),)* }
            }

            /// The engine operation that executes this opcode in firmware ABI 1.
            pub fn engine_op(self) -> EngineOp {
                match self { $(Opcode::$name => EngineOp($eng),)* }
            }
        }
    };
}

// name = code, mnemonic, registers used (bit mask: a 1, b 2, c 4, d 8), f used, imm used,
// engine op.
opcodes! {
    Nop = 0x00, "nop", 0b0000, false, false, 0x0101;
    Halt = 0x01, "halt", 0b0000, false, false, 0x0102;
    Li = 0x02, "li", 0b0001, false, true, 0x0201;
    Lih = 0x03, "lih", 0b0001, false, true, 0x0202;
    Add = 0x04, "add", 0b0111, false, false, 0x0203;
    Sub = 0x05, "sub", 0b0111, false, false, 0x0204;
    Mul = 0x06, "mul", 0b0111, false, false, 0x0205;
    Addi = 0x07, "addi", 0b0011, false, true, 0x0206;
    Shl = 0x08, "shl", 0b0011, false, true, 0x0207;
    Jmp = 0x10, "jmp", 0b0000, false, true, 0x0301;
    Bnz = 0x11, "bnz", 0b0001, false, true, 0x0302;
    Bz = 0x12, "bz", 0b0001, false, true, 0x0303;
    Blt = 0x13, "blt", 0b0011, false, true, 0x0304;
    Ld = 0x20, "ld", 0b0011, false, true, 0x0401;
    St = 0x21, "st", 0b0011, false, true, 0x0402;
    Ts = 0x22, "ts", 0b0001, false, false, 0x0403;
    Copy = 0x30, "copy", 0b0111, false, false, 0x0501;
    Fill = 0x31, "fill", 0b0111, false, false, 0x0502;
    Ew = 0x40, "ew", 0b1111, true, false, 0x0601;
    Ewu = 0x41, "ewu", 0b1011, true, false, 0x0602;
    Ews = 0x42, "ews", 0b1111, true, false, 0x0603;
    Red = 0x50, "red", 0b1011, true, false, 0x0701;
    Gemm = 0x60, "gemm", 0b1111, true, false, 0x0801;
}

/// An engine operation: what the device's execution engine actually knows how to do. The
/// firmware's decode table maps each opcode to one; without firmware nothing is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EngineOp(pub u16);

impl EngineOp {
    /// Decode table entry for an opcode with no operation.
    pub const ILLEGAL: u16 = 0xffff;

    /// The opcode this engine operation implements, if it is a valid one.
    pub fn opcode(self) -> Option<Opcode> {
        Opcode::ALL.iter().copied().find(|o| o.engine_op() == self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_consistent() {
        for &o in Opcode::ALL {
            assert_eq!(Opcode::from_u8(o as u8), Some(o));
            assert_eq!(Opcode::from_mnemonic(o.mnemonic()), Some(o));
            assert_eq!(o.engine_op().opcode(), Some(o));
        }
        assert_eq!(Opcode::from_u8(0xff), None);
        assert_eq!(EngineOp(EngineOp::ILLEGAL).opcode(), None);
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Operands: registers, numbers and their ranges.

use crate::error::ErrorKind;

/// Signed 32-bit immediates (`li`, `addi`, `ld`, `st`): the value the hardware sign-extends.
pub(crate) const SIGNED32: (i128, i128) = (-(1 << 31), (1 << 31) - 1);
/// Raw 32-bit fields (`lih`, `shl`): a value or its two's-complement pattern.
pub(crate) const RAW32: (i128, i128) = (-(1 << 31), (1 << 32) - 1);
/// 64-bit values (`la`, `.word`): a value or its two's-complement pattern.
pub(crate) const RAW64: (i128, i128) = (-(1 << 63), (1 << 64) - 1);

/// `r0`..`r15` (any case).
pub(crate) fn register(text: &str) -> Result<u8, ErrorKind> {
    if !looks_like_register(text) {
        return Err(ErrorKind::ExpectedRegister(text.to_string()));
    }
    let digits = &text[1..];
    match digits.parse::<u8>() {
        Ok(n) if n < tern_isa::NUM_REGS && (digits.len() == 1 || !digits.starts_with('0')) => Ok(n),
        _ => Err(ErrorKind::UnknownRegister(text.to_string())),
    }
}

/// `r` or `R` followed by decimal digits: a register name, valid or not.
pub(crate) fn looks_like_register(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() > 1 && (b[0] == b'r' || b[0] == b'R') && b[1..].iter().all(u8::is_ascii_digit)
}

/// Whether `text` starts like a number (a digit, or a sign).
pub(crate) fn looks_like_number(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
}

/// A number in `range`: decimal, `0x` hex or `0b` binary, optional sign, `_` between digits.
pub(crate) fn number(text: &str, range: (i128, i128)) -> Result<i128, ErrorKind> {
    let out_of_range = || ErrorKind::ImmOutOfRange {
        text: text.to_string(),
        min: range.0,
        max: range.1,
    };
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else {
        (10, lower.as_str())
    };
    let valid = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c == '_' || c.is_digit(radix));
    if !valid {
        return Err(ErrorKind::InvalidNumber(text.to_string()));
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    // The digits are valid, so the only failure left is overflow.
    let magnitude = i128::from_str_radix(&clean, radix).map_err(|_| out_of_range())?;
    let value = if neg { -magnitude } else { magnitude };
    if value < range.0 || value > range.1 {
        return Err(out_of_range());
    }
    Ok(value)
}

/// How the disassembler prints a number: decimal when small, hex otherwise.
pub(crate) fn format_number(v: i64) -> String {
    if v.unsigned_abs() < 0x1000 {
        v.to_string()
    } else if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers() {
        assert_eq!(register("r0"), Ok(0));
        assert_eq!(register("R15"), Ok(15));
        assert_eq!(
            register("r16"),
            Err(ErrorKind::UnknownRegister("r16".into()))
        );
        assert_eq!(
            register("r01"),
            Err(ErrorKind::UnknownRegister("r01".into()))
        );
        assert_eq!(
            register("x1"),
            Err(ErrorKind::ExpectedRegister("x1".into()))
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(number("-0x10", RAW32), Ok(-16));
        assert_eq!(number("0b1_01", RAW32), Ok(5));
        assert_eq!(number("+42", RAW32), Ok(42));
        assert_eq!(number("4294967295", RAW32), Ok(0xffff_ffff));
        assert!(matches!(
            number("4294967296", RAW32),
            Err(ErrorKind::ImmOutOfRange { .. })
        ));
        assert!(matches!(
            number("9".repeat(60).as_str(), RAW32),
            Err(ErrorKind::ImmOutOfRange { .. })
        ));
        for bad in ["", "-", "0x", "12a", "1__0", "_1", "0x_1"] {
            assert_eq!(
                number(bad, RAW32),
                Err(ErrorKind::InvalidNumber(bad.into())),
                "{bad}"
            );
        }
        for v in [0, -1, 4095, 4096, -4096, i64::MIN, i64::MAX] {
            assert_eq!(number(&format_number(v), RAW64), Ok(i128::from(v)));
        }
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Every error kind, with its line and column.

use tern_asm::{Error, ErrorKind, assemble};

fn err(src: &str) -> Error {
    assemble(src).expect_err(src)
}

#[test]
fn messages_with_line_and_column() {
    let cases = [
        ("nop\nnop\nadd r1, r16, r2", "3:9: unknown register 'r16'"),
        ("  foo r1", "1:3: unknown mnemonic 'foo'"),
        (
            "ew.i32.div r1, r2, r3, r4",
            "1:1: bad function 'ew.i32.div': div is f32 only",
        ),
        (
            "ewu.i32.sqrt r1, r2, r3",
            "1:1: bad function 'ewu.i32.sqrt': sqrt is f32 only",
        ),
        (
            "ew r1, r2, r3, r4",
            "1:1: bad function 'ew': expected a type (f32 or i32) and an operation, e.g. 'ew.f32.add'",
        ),
        (
            "red.f32.avg r1, r2, r3",
            "1:1: bad function 'red.f32.avg': operation must be sum, max or min",
        ),
        (
            "gemm.x r1, r2, r3, r4",
            "1:1: bad function 'gemm.x': the only suffix of gemm is '.acc'",
        ),
        (
            "halt.now",
            "1:1: bad function 'halt.now': this instruction takes no suffix",
        ),
        ("add r1, 5, r3", "1:9: expected a register, found '5'"),
        (
            "gemm r1, r2, r3, r14",
            "1:18: gemm register d must be r0..r13 (d, d+1, d+2 hold M, N, K), found 'r14'",
        ),
        ("li r1, 12x", "1:8: invalid number '12x'"),
        (
            "li r1, 0x80000000",
            "1:8: immediate '0x80000000' out of range -2147483648..=2147483647",
        ),
        (
            "ld r1, r2, -2147483649",
            "1:12: immediate '-2147483649' out of range -2147483648..=2147483647",
        ),
        (
            "lih r1, 0x100000000",
            "1:9: immediate '0x100000000' out of range -2147483648..=4294967295",
        ),
        (
            "la r1, 0x1_0000_0000_0000_0000",
            "1:8: immediate '0x1_0000_0000_0000_0000' out of range -9223372036854775808..=18446744073709551615",
        ),
        (
            "jmp r1",
            "1:5: expected a label or instruction index, found 'r1'",
        ),
        (
            "jmp a.b",
            "1:5: expected a label or instruction index, found 'a.b'",
        ),
        ("nop\n  bnz r1, nowhere", "2:11: undefined label 'nowhere'"),
        (
            "a: nop\nb: nop\n  a: nop",
            "3:3: duplicate label 'a' (first defined on line 1)",
        ),
        ("r3: nop", "1:1: invalid label name 'r3'"),
        ("1x: nop", "1:1: invalid label name '1x'"),
        (
            "jmp 0x80000001",
            "1:5: branch target '0x80000001' out of range (offset 2147483648 does not fit in 32 bits)",
        ),
        (
            "nop\nblt r1, r2, -0x80000000",
            "2:13: branch target '-0x80000000' out of range (offset -2147483650 does not fit in 32 bits)",
        ),
        ("add r1, r2", "1:1: 'add' takes 3 operands, found 2"),
        ("halt r1", "1:1: 'halt' takes 0 operands, found 1"),
        ("  .word", "1:3: '.word' takes 1 operand, found 0"),
        ("add r1,,r2", "1:8: missing operand"),
        ("add r1, r2,", "1:12: missing operand"),
        ("add r1, r2 r3", "1:12: expected ',' before 'r3'"),
    ];
    for (src, want) in cases {
        assert_eq!(err(src).to_string(), want, "{src:?}");
    }
}

#[test]
fn columns_count_characters_and_lines_count_crlf() {
    let e = err("; é\r\nnop ; ok\r\n\tli r1, é");
    assert_eq!((e.line, e.col), (3, 9));
    assert_eq!(e.kind, ErrorKind::InvalidNumber("é".into()));
}

#[test]
fn is_a_std_error() {
    let e: Box<dyn std::error::Error> = Box::new(err("foo"));
    assert_eq!(e.to_string(), "1:1: unknown mnemonic 'foo'");
}

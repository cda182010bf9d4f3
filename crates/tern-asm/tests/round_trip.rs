// SPDX-License-Identifier: MIT OR Apache-2.0
//! Text -> bytes -> text -> bytes for every opcode and every legal function.

use std::collections::HashSet;

use tern_asm::{assemble_bytes, disassemble, insn_text};
use tern_isa::{Insn, Opcode};

/// Every instruction form, written exactly as the disassembler prints it.
fn every_instruction() -> String {
    let mut lines: Vec<String> = [
        "nop",
        "halt",
        "li r1, -5",
        "li r2, 0x10000",
        "li r3, -0x80000000",
        "lih r3, 0xffffffff",
        "lih r4, 1",
        "add r1, r2, r3",
        "sub r4, r5, r6",
        "mul r7, r8, r9",
        "addi r10, r11, -1",
        "shl r12, r13, 63",
        "jmp L0",
        "bnz r1, L0",
        "bz r2, END",
        "blt r3, r4, L0",
        "ld r1, r15, 8",
        "st r1, r2, -8",
        "ts r14",
        "copy r1, r2, r3",
        "fill r1, r2, r3",
        "gemm r1, r2, r3, r13",
        "gemm.acc r0, r15, r14, r4",
        "jmp 2147483647",
        "bz r1, -100",
    ]
    .map(String::from)
    .to_vec();
    let bin = ["add", "sub", "mul", "div", "max", "min"];
    for base in ["ew", "ews"] {
        for ty in ["f32", "i32"] {
            for op in bin.iter().filter(|&&o| ty == "f32" || o != "div") {
                lines.push(format!("{base}.{ty}.{op} r1, r2, r3, r4"));
            }
        }
    }
    for ty in ["f32", "i32"] {
        for op in ["neg", "abs", "relu", "sqrt"]
            .iter()
            .filter(|&&o| ty == "f32" || o != "sqrt")
        {
            lines.push(format!("ewu.{ty}.{op} r5, r6, r7"));
        }
        for op in ["sum", "max", "min"] {
            lines.push(format!("red.{ty}.{op} r8, r9, r10"));
        }
    }
    let end = format!("L{}", lines.len());
    let mut text = "L0:\n".to_string();
    for l in &lines {
        text += &format!("    {}\n", l.replace("END", &end));
    }
    text + &end + ":\n"
}

#[test]
fn every_opcode_and_function_round_trips() {
    let src = every_instruction();
    let bytes = assemble_bytes(&src).unwrap();
    let text = disassemble(&bytes).unwrap();
    assert_eq!(text, src);
    assert_eq!(assemble_bytes(&text).unwrap(), bytes);

    let words: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut ops = HashSet::new();
    let mut functions = HashSet::new();
    for &w in &words {
        let (op, i) = Insn::decode(w).unwrap();
        ops.insert(op);
        functions.insert((op, i.f));
    }
    assert_eq!(ops.len(), Opcode::ALL.len());
    // 18 plain opcodes, ew/ews 2 x 11, ewu 7, red 6, gemm 2.
    assert_eq!(functions.len(), 18 + 22 + 7 + 6 + 2);
}

#[test]
fn case_and_spacing_do_not_matter() {
    let a = assemble_bytes("EW.F32.ADD R1,R2,R3,R4\n\tLd r1 ,r2,  -8").unwrap();
    let b = assemble_bytes("ew.f32.add r1, r2, r3, r4\nld r1, r2, -8").unwrap();
    assert_eq!(a, b);
}

#[test]
fn single_instruction_text() {
    let w = tern_asm::assemble("jmp 7").unwrap()[0].encode();
    assert_eq!(insn_text(w, 0), "jmp 7");
    assert_eq!(insn_text(w, 3), "jmp 10");
    assert_eq!(
        insn_text(0xee, 0),
        ".word 0x00000000000000ee ; unknown opcode 0xee"
    );
}

#[test]
fn words_that_do_not_decode_print_as_word() {
    let words = [
        0xee,                                                   // unknown opcode
        Insn::new(Opcode::Halt, [0; 4], 0, 1).encode(),         // unused imm
        Insn::new(Opcode::Ew, [1, 2, 3, 4], 0x83, 0).encode(),  // ew.i32.div
        Insn::new(Opcode::Ewu, [1, 2, 0, 4], 0x10, 0).encode(), // undefined bits
        Insn::new(Opcode::Gemm, [1, 2, 3, 4], 2, 0).encode(),   // gemm f = 2
        Insn::new(Opcode::Gemm, [1, 2, 3, 14], 0, 0).encode(),  // gemm d = r14
    ];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let text = disassemble(&bytes).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with(".word"))
            .count(),
        6
    );
    assert_eq!(assemble_bytes(&text).unwrap(), bytes);
}

#[test]
fn length_must_be_a_multiple_of_eight() {
    let e = disassemble(&[0; 7]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "program length 7 is not a multiple of 8 bytes"
    );
    assert_eq!(disassemble(&[]).unwrap(), "");
}

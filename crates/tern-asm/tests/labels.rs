// SPDX-License-Identifier: MIT OR Apache-2.0
//! Branch offsets from labels and numbers, and what `la` does to label positions.

use tern_asm::assemble;
use tern_isa::{Insn, Opcode};

fn imms(src: &str) -> Vec<i64> {
    assemble(src).unwrap().iter().map(Insn::simm).collect()
}

#[test]
fn forward_and_backward_branches() {
    let src = "
start:  li r1, 3            ; 0
loop:   addi r1, r1, -1     ; 1
        bnz r1, loop        ; 2: 1 - 3 = -2
        jmp done            ; 3: 5 - 4 = 1
        blt r1, r2, start   ; 4: 0 - 5 = -5
done:                       ; 5
        bz r1, end          ; 5: 7 - 6 = 1
        jmp done            ; 6: 5 - 7 = -2
end:
";
    assert_eq!(imms(src), [3, -1, -2, 1, -5, 1, -2]);
}

#[test]
fn numeric_targets_are_instruction_indices() {
    assert_eq!(
        imms("nop\njmp 0\njmp 2\njmp 10\njmp -1"),
        [0, -2, -1, 6, -6]
    );
}

#[test]
fn self_loop_and_several_labels_on_one_line() {
    assert_eq!(imms("a: b: jmp a\nc:\n\nd: jmp b"), [-1, -2]);
}

#[test]
fn la_expands_and_labels_count_it() {
    let insns = assemble(
        "la r1, 0x1_0000_0000\nla r2, -1\nla r3, 0xffffffff\nla r4, 0x7fffffff\nhere: jmp here",
    )
    .unwrap();
    let ops: Vec<(Opcode, u8, u32)> = insns
        .iter()
        .map(|i| (Opcode::from_u8(i.op).unwrap(), i.r[0], i.imm))
        .collect();
    assert_eq!(
        ops,
        [
            (Opcode::Li, 1, 0),
            (Opcode::Lih, 1, 1),
            (Opcode::Li, 2, u32::MAX),
            (Opcode::Li, 3, u32::MAX),
            (Opcode::Lih, 3, 0),
            (Opcode::Li, 4, 0x7fff_ffff),
            (Opcode::Jmp, 0, u32::MAX),
        ]
    );
}

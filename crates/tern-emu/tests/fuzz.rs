// SPDX-License-Identifier: MIT OR Apache-2.0
//! Random descriptors and instruction streams: the model never panics, and every job ends
//! with a status the manual defines.

mod common;
use common::*;
use tern_hw::queue::{Descriptor, status};
use tern_isa::{Insn, Opcode};

const VALID: [u32; 7] = [
    status::OK,
    status::MMU_FAULT,
    status::ILLEGAL,
    status::WATCHDOG,
    status::BAD_DESCRIPTOR,
    status::ABORTED,
    status::NO_FIRMWARE,
];

#[test]
fn random_instruction_streams() {
    let mut t = TestDriver::ready();
    t.map(1, 0, 1 << 20, true); // data the programs may hit
    let mut rng = Rng(0x5eed);
    for round in 0..300 {
        let len = 1 + rng.next() % 24;
        let prog: Vec<Insn> = (0..len)
            .map(|_| {
                let w = rng.next();
                let mut i = Insn::split(w);
                // Mostly real opcodes with small registers and counts, so jobs do real work.
                if !rng.next().is_multiple_of(4) {
                    i.op = Opcode::ALL[(rng.next() % Opcode::ALL.len() as u64) as usize] as u8;
                    i.imm = (rng.next() % 4096) as u32;
                    i.f = (rng.next() % 8) as u8;
                }
                i
            })
            .collect();
        let bytes = tern_isa::encode_program(&prog);
        let va = 0x100_0000 + round * 0x1000;
        let pa = t.map(1, va, 4096, false);
        t.put(pa, &bytes);
        let mut d = exec(1, va, bytes.len() as u32);
        d.budget = 10_000;
        let s = t.submit(0, d);
        let r = t.wait(0, s);
        assert!(
            VALID.contains(&r.status),
            "round {round}: status {}",
            r.status
        );
        if r.status == status::ILLEGAL {
            assert!(
                (r.info as u64) < len,
                "info names an instruction of the program"
            );
        }
    }
}

#[test]
fn random_descriptors() {
    let mut t = TestDriver::ready();
    let mut rng = Rng(42);
    for i in 0..500u64 {
        let mut raw = [0u8; 64];
        for b in raw.iter_mut() {
            *b = rng.next() as u8;
        }
        // Keep the seqno increasing so completions can be found; mostly-clean descriptors.
        raw[8..16].copy_from_slice(&(i + 1).to_le_bytes());
        if rng.next().is_multiple_of(2) {
            raw[32..].fill(0);
            raw[2] = 0;
            raw[3] = 0;
            raw[1] &= 1;
            raw[0] &= 1;
        }
        let s = t.submit_raw(0, raw);
        let r = t.wait(0, s);
        assert!(
            VALID.contains(&r.status),
            "descriptor {i}: status {}",
            r.status
        );
        if Descriptor::from_bytes(&raw).reserved_set {
            assert_eq!(r.status, status::BAD_DESCRIPTOR);
        }
    }
}

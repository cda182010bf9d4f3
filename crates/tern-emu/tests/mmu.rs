// SPDX-License-Identifier: MIT OR Apache-2.0
//! The MMU: translation, faults, isolation between contexts (`docs/hardware.md` 7).

mod common;
use common::*;
use tern_hw::mmu::{PTE_L, PTE_V, PTE_W};
use tern_hw::queue::{fault, status};
use tern_isa::{Insn, Opcode};

const PROG: u64 = 0x10_0000;

fn store_to(va: u64) -> Vec<Insn> {
    let mut p = la(1, va);
    p.extend(la(2, 0x1122_3344_5566_7788));
    p.push(Insn::new(Opcode::St, [2, 1, 0, 0], 0, 0));
    p.push(halt());
    p
}

#[test]
fn unmapped_read_and_write_fault_with_the_va() {
    let mut t = TestDriver::ready();
    let r = t.run(0, 1, PROG, &store_to(0x7000_0008));
    assert_eq!(
        (r.status, r.info, r.fault_va),
        (status::MMU_FAULT, fault::WRITE, 0x7000_0008)
    );
    let mut p = la(1, 0x5000_0000);
    p.push(Insn::new(Opcode::Ld, [2, 1, 0, 0], 0, 0));
    let r = t.run(0, 1, PROG + 0x1000, &p);
    assert_eq!(
        (r.status, r.info, r.fault_va),
        (status::MMU_FAULT, fault::READ, 0x5000_0000)
    );
}

#[test]
fn read_only_pages_refuse_writes_and_nothing_is_written() {
    let mut t = TestDriver::ready();
    let pa = t.map(1, 0x40_0000, 4096, false);
    let r = t.run(0, 1, PROG, &store_to(0x40_0000));
    assert_eq!((r.status, r.info), (status::MMU_FAULT, fault::WRITE));
    assert_eq!(t.get64(pa), 0);
    // A copy whose destination's second page is read-only writes nothing at all.
    let src = t.map(1, 0x80_0000, 8192, true);
    t.put(src, &[0xab; 8192]);
    let d0 = t.map(1, 0x90_0000, 4096, true);
    t.map(1, 0x90_1000, 4096, false);
    let mut p = la(1, 0x90_0000);
    p.extend(la(2, 0x80_0000));
    p.extend(la(3, 8192));
    p.push(Insn::new(Opcode::Copy, [1, 2, 3, 0], 0, 0));
    let r = t.run(0, 1, PROG + 0x1000, &p);
    assert_eq!((r.status, r.fault_va), (status::MMU_FAULT, 0x90_1000));
    assert_eq!(t.get(d0, 4096), vec![0u8; 4096]);
}

#[test]
fn contexts_are_isolated() {
    let mut t = TestDriver::ready();
    t.new_context(2);
    let secret = t.map(1, 0x20_0000, 4096, true);
    t.put(secret, b"context one only");
    // Context 2 reads the same VA: not mapped there.
    let mut p = la(1, 0x20_0000);
    p.push(Insn::new(Opcode::Ld, [2, 1, 0, 0], 0, 0));
    p.push(halt());
    let r = t.run(0, 2, PROG, &p);
    assert_eq!((r.status, r.fault_va), (status::MMU_FAULT, 0x20_0000));
    // Context 1 can.
    let r = t.run(0, 1, PROG, &p);
    assert_eq!(r.status, status::OK);
}

#[test]
fn missing_context_and_large_va() {
    let mut t = TestDriver::ready();
    let pa = t.map(1, PROG, 4096, false);
    t.put(pa, &tern_isa::encode_program(&[halt()]));
    for ctx in [3, 16, 9999] {
        let s = t.submit(0, exec(ctx, PROG, 8));
        let r = t.wait(0, s);
        assert_eq!(
            (r.status, r.info),
            (status::MMU_FAULT, fault::NO_CONTEXT),
            "ctx {ctx}"
        );
    }
    let r = t.run(0, 1, PROG + 0x1000, &store_to(1 << 39));
    assert_eq!((r.status, r.fault_va), (status::MMU_FAULT, 1 << 39));
}

#[test]
fn large_pages_and_reserved_bits() {
    let mut t = TestDriver::ready();
    // A 2 MiB leaf at level 1 for VA 0x4000_0000 (L0 index 1, L1 index 0).
    let big = t.alloc(4 << 20);
    let big = big.div_ceil(2 << 20) * (2 << 20);
    let root = t.get64(t.ctx_table + 16) & !0xfff;
    let l1 = t.alloc(4096);
    t.put(root + 8, &(l1 | PTE_V).to_le_bytes());
    t.put(l1, &(big | PTE_V | PTE_W | PTE_L).to_le_bytes());
    let r = t.run(0, 1, PROG, &store_to(0x4000_0000 + 0x12_3450));
    assert_eq!(r.status, status::OK);
    assert_eq!(t.get64(big + 0x12_3450), 0x1122_3344_5566_7788);
    // A reserved bit in a leaf faults.
    t.put(
        l1 + 8,
        &(big | PTE_V | PTE_W | PTE_L | 1 << 60).to_le_bytes(),
    );
    let r = t.run(0, 1, PROG + 0x1000, &store_to(0x4020_0000));
    assert_eq!((r.status, r.fault_va), (status::MMU_FAULT, 0x4020_0000));
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fault injection and recovery (`docs/hardware.md` 10, 11).

mod common;
use std::sync::atomic::Ordering;

use common::*;
use tern_emu::faults::Knob;
use tern_hw::queue::status;
use tern_hw::regs::{self, q};
use tern_hw::{BootStatus, dev_status};

#[test]
fn injected_boot_failure() {
    let mut t = TestDriver::new();
    t.dev
        .faults
        .apply(&Knob::parse("boot-fail=bad_digest").unwrap());
    assert_eq!(t.boot(&firmware()), BootStatus::BadDigest as u32);
    t.dev.faults.apply(&Knob::Clear);
    assert_eq!(t.boot(&firmware()), BootStatus::Ok as u32);
}

#[test]
fn hang_then_queue_reset_aborts_only_that_queue() {
    let mut t = TestDriver::ready();
    t.enable_queue(1, 16);
    t.dev.faults.apply(&Knob::Hang(0));
    let hung = t.submit(0, nop());
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(t.fence(0), 0, "a hung job does not complete");
    let other = t.submit(1, nop());
    assert_eq!(t.wait(1, other).status, status::OK, "other queues go on");
    t.dev.faults.apply(&Knob::Clear);
    t.w32(TestDriver::qreg(0, q::CTRL), q::CTRL_RESET);
    assert_eq!(
        t.record_of(0, hung).map(|r| r.status),
        Some(status::ABORTED)
    );
    assert_eq!(t.fence(0), hung);
    assert_eq!(
        t.r32(TestDriver::qreg(0, q::STATUS)),
        0,
        "reset queue is disabled"
    );
    t.enable_queue(0, 16);
    let s = t.submit(0, nop());
    assert_eq!(t.wait(0, s).status, status::OK);
}

#[test]
fn injected_mmu_fault_hits_one_job() {
    let mut t = TestDriver::ready();
    t.dev.faults.apply(&Knob::MmuFault);
    let r = t.run(0, 1, 0x10_0000, &[halt()]);
    assert_eq!((r.status, r.fault_va), (status::MMU_FAULT, 0x10_0000));
    let r = t.run(0, 1, 0x20_0000, &[halt()]);
    assert_eq!(r.status, status::OK);
}

#[test]
fn firmware_crash_aborts_halts_and_needs_reset() {
    let mut t = TestDriver::ready();
    let page = t.alloc(4096);
    t.w32(regs::EVENT_ADDR_LO, page as u32);
    t.w32(regs::EVENT_ADDR_HI, (page >> 32) as u32);
    t.dev.faults.apply(&Knob::Hang(0));
    let s = t.submit(0, nop());
    std::thread::sleep(std::time::Duration::from_millis(50));
    while wait_irq(&t.irqs[0], 0) > 0 {}
    t.dev.crash(0xdead_0001);
    assert!(
        wait_irq(&t.irqs[0], 1000) >= 1,
        "crash raises the event vector"
    );
    assert_eq!(t.wait(0, s).status, status::ABORTED);
    assert_eq!(
        t.r32(regs::DEV_STATUS) & (dev_status::HALTED | dev_status::READY),
        dev_status::HALTED
    );
    assert_eq!(t.get(page + 8, 4), 0xdead_0001u32.to_le_bytes());
    // Doorbells are ignored while halted.
    t.dev.faults.hang_mask.store(0, Ordering::SeqCst);
    let s2 = t.submit(0, nop());
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(t.fence(0) < s2);
    // Reset and reboot recover.
    t.w32(regs::RESET, regs::RESET_MAGIC);
    assert_eq!(t.boot(&firmware()), BootStatus::Ok as u32);
    t.w32(regs::ABI_SELECT, 1);
    t.enable_queue(0, 16);
    let s3 = t.submit(0, nop());
    assert_eq!(t.wait(0, s3).status, status::OK);
}

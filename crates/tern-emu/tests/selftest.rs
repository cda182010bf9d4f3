// SPDX-License-Identifier: MIT OR Apache-2.0
//! `SELFTEST` (`docs/hardware.md` 3.1): the word by DMA, then vector 5; nothing at all when
//! the address is unset, misaligned or unmapped, or bus mastering is off.

mod common;

use common::{IOVA, TestDriver, wait_irq};
use tern_hw::{caps, regs, vectors};

fn word(t: &TestDriver, addr: u64) -> u32 {
    u32::from_le_bytes(t.get(addr, 4).try_into().unwrap())
}

fn set_addr(t: &TestDriver, addr: u64) {
    t.w32(regs::SELFTEST_ADDR_LO, addr as u32);
    t.w32(regs::SELFTEST_ADDR_HI, (addr >> 32) as u32);
}

#[test]
fn self_test_writes_the_word_then_raises_vector_5() {
    let mut t = TestDriver::new();
    assert_ne!(t.r32(regs::CAPS) & caps::SELFTEST, 0, "CAPS announces it");
    let irq = t.irqs[usize::from(vectors::SELFTEST)].try_clone().unwrap();
    let irq = &irq;
    let page = t.alloc(4096);
    set_addr(&t, page + 4);
    assert_eq!(t.r32(regs::SELFTEST_ADDR_LO), (page + 4) as u32);
    assert_eq!(t.r32(regs::SELFTEST_ADDR_HI), ((page + 4) >> 32) as u32);
    for v in [0x1234_5678u32, 1, 0xffff_ffff] {
        t.w32(regs::SELFTEST, v);
        assert_eq!(word(&t, page + 4), v, "the word holds the value written");
        assert_eq!(wait_irq(irq, 1000), 1, "one interrupt per write");
    }
    assert_eq!(t.get64(page + 8), 0, "nothing written past the word");
    assert_eq!(
        wait_irq(&t.irqs[usize::from(vectors::EVENTS)], 0),
        0,
        "no other vector"
    );
}

#[test]
fn self_test_does_nothing_without_a_valid_address_or_bus_mastering() {
    let mut t = TestDriver::new();
    let irq = t.irqs[usize::from(vectors::SELFTEST)].try_clone().unwrap();
    let irq = &irq;
    let page = t.alloc(4096);

    t.w32(regs::SELFTEST, 7);
    assert_eq!(wait_irq(irq, 50), 0, "address 0: no interrupt");

    set_addr(&t, page + 2);
    t.w32(regs::SELFTEST, 7);
    assert_eq!(word(&t, page), 0, "misaligned: no write");
    assert_eq!(wait_irq(irq, 50), 0, "misaligned: no interrupt");

    set_addr(&t, IOVA - 4096);
    t.w32(regs::SELFTEST, 7);
    assert_eq!(wait_irq(irq, 50), 0, "unmapped: no interrupt");

    set_addr(&t, page);
    t.dev.config.lock().unwrap().write(4, &[0x02, 0x00]);
    t.w32(regs::SELFTEST, 7);
    assert_eq!(word(&t, page), 0, "bus mastering off: no write");
    assert_eq!(wait_irq(irq, 50), 0, "bus mastering off: no interrupt");

    t.dev.config.lock().unwrap().write(4, &[0x06, 0x00]);
    t.w32(regs::RESET, regs::RESET_MAGIC);
    assert_eq!(t.r32(regs::SELFTEST_ADDR_LO), 0, "reset clears the address");
    assert_eq!(t.r32(regs::SELFTEST_ADDR_HI), 0);
}

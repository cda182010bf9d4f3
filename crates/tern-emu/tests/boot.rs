// SPDX-License-Identifier: MIT OR Apache-2.0
//! Boot ROM and ABI negotiation (`docs/hardware.md` 4), through the registers.

mod common;
use common::*;
use tern_hw::fw::{DIGEST_LEN, DIGEST_OFFSET};
use tern_hw::{BootStatus, dev_status, regs};

#[test]
fn good_image_boots_and_negotiates() {
    let mut t = TestDriver::new();
    assert_eq!(t.r32(regs::ID).to_le_bytes(), *b"TERN");
    assert_eq!(t.r32(regs::BOOT_STATUS), BootStatus::None as u32);
    assert_eq!(t.boot(&firmware()), BootStatus::Ok as u32);
    assert_eq!(t.r32(regs::DEV_STATUS), dev_status::BOOTED);
    assert_eq!(t.r32(regs::FW_VERSION), 0x0100_0000);
    assert_eq!(t.r32(regs::FW_ABI), 1 << 16 | 1);
    t.w32(regs::ABI_SELECT, 2);
    assert_eq!(
        t.r32(regs::DEV_STATUS) & dev_status::READY,
        0,
        "ABI 2 is not offered"
    );
    t.w32(regs::ABI_SELECT, 1);
    assert_eq!(
        t.r32(regs::DEV_STATUS),
        dev_status::BOOTED | dev_status::READY
    );
    // A second boot while booted is refused and keeps the running state.
    assert_eq!(t.boot(&firmware()), BootStatus::Busy as u32);
    assert_eq!(
        t.r32(regs::DEV_STATUS),
        dev_status::BOOTED | dev_status::READY
    );
}

#[test]
fn event_page_reports_boot() {
    let mut t = TestDriver::new();
    let page = t.alloc(4096);
    t.w32(regs::EVENT_ADDR_LO, page as u32);
    t.w32(regs::EVENT_ADDR_HI, (page >> 32) as u32);
    t.boot(&firmware());
    let p = t.get(page, 24);
    assert_eq!(u32::from_le_bytes(p[0..4].try_into().unwrap()), 1);
    assert_eq!(
        u32::from_le_bytes(p[4..8].try_into().unwrap()),
        dev_status::BOOTED
    );
    assert_eq!(u32::from_le_bytes(p[12..16].try_into().unwrap()), 1);
}

fn redigest(mut b: Vec<u8>) -> Vec<u8> {
    let d = tern_fw::digest(&b);
    b[DIGEST_OFFSET..DIGEST_OFFSET + DIGEST_LEN].copy_from_slice(&d);
    b
}

#[test]
fn every_bad_image_gets_its_status_and_no_firmware_runs() {
    let good = firmware();
    let n = good.len() as u32;
    let mut cases: Vec<(Vec<u8>, u32, BootStatus)> = Vec::new();
    let mut b = good.clone();
    b[0] = 0;
    cases.push((b, n, BootStatus::BadMagic));
    let mut b = good.clone();
    b[4] = 9;
    cases.push((b, n, BootStatus::BadHeaderVersion));
    cases.push((good.clone(), n - 4, BootStatus::BadSize));
    cases.push((good.clone(), 0, BootStatus::BadSize));
    cases.push((good.clone(), 2 << 20, BootStatus::BadSize));
    let mut b = good.clone();
    b[100] ^= 0x40;
    cases.push((b, n, BootStatus::BadDigest));
    let mut b = good.clone();
    b[0x0c..0x10].copy_from_slice(&[5, 0, 7, 0]);
    cases.push((redigest(b), n, BootStatus::AbiUnsupported));
    let mut b = good.clone();
    b[0x40 + 4] = 0xff;
    b[0x40 + 5] = 0xff;
    cases.push((redigest(b), n, BootStatus::BadSection));
    let mut b = good.clone();
    b[0x40] = 2;
    cases.push((redigest(b), n, BootStatus::MissingSection));
    for (img, size, want) in cases {
        let mut t = TestDriver::new();
        let got = t.boot_sized(&img, size);
        assert_eq!(got, want as u32, "want {}", want.name());
        assert_eq!(
            t.r32(regs::DEV_STATUS),
            0,
            "{}: device must not run",
            want.name()
        );
        t.w32(regs::ABI_SELECT, 1);
        assert_eq!(t.r32(regs::DEV_STATUS) & dev_status::READY, 0);
    }
}

#[test]
fn unreadable_image_is_a_dma_error() {
    let t = TestDriver::new();
    t.w32(regs::BOOT_ADDR_LO, 0x1000);
    t.w32(regs::BOOT_SIZE, 4096);
    t.w32(regs::BOOT_CTRL, 1);
    assert!(wait_irq(&t.irqs[0], 1000) >= 1);
    assert_eq!(t.r32(regs::BOOT_STATUS), BootStatus::DmaError as u32);
}

#[test]
fn reset_drops_the_firmware() {
    let mut t = TestDriver::ready();
    t.w32(regs::RESET, 0x1234);
    assert_ne!(t.r32(regs::DEV_STATUS), 0, "a wrong magic does not reset");
    t.w32(regs::RESET, regs::RESET_MAGIC);
    assert_eq!(t.r32(regs::DEV_STATUS), 0);
    assert_eq!(t.r32(regs::FW_VERSION), 0);
    assert_eq!(t.boot(&firmware()), BootStatus::Ok as u32);
}

#[test]
fn no_dma_without_bus_master() {
    let mut t = TestDriver::new();
    t.dev.config.lock().unwrap().write(4, &[0x02, 0x00]);
    assert_eq!(t.boot(&firmware()), BootStatus::DmaError as u32);
    t.dev.config.lock().unwrap().write(4, &[0x06, 0x00]);
    assert_eq!(t.boot(&firmware()), BootStatus::Ok as u32);
}

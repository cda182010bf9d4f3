// SPDX-License-Identifier: MIT OR Apache-2.0
//! The model through the vfio-user protocol, with the `vfio_user` crate's client standing in
//! for QEMU: config space, BAR0, and a client that goes away and comes back.

use std::sync::Arc;

use tern_emu::backend::{irqs, regions, serve};
use tern_emu::device::Device;
use tern_hw::regs;
use vfio_bindings::bindings::vfio::{VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX};
use vfio_user::{Client, Server};

fn read32(c: &mut Client, region: u32, off: u64) -> u32 {
    let mut b = [0u8; 4];
    c.region_read(region, off, &mut b).expect("region read");
    u32::from_le_bytes(b)
}

#[test]
fn serves_a_client_then_a_reconnect() {
    let dir = std::env::temp_dir().join(format!("tern-vfu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("tern.sock");
    let server = Server::new(&sock, true, irqs(), regions()).expect("listen");
    let dev = Arc::new(Device::new());
    let d2 = dev.clone();
    let t = std::thread::spawn(move || {
        serve(&server, &d2, true); // first client
        serve(&server, &d2, true); // the reconnect
    });

    let mut c = Client::new(&sock).expect("first client connects");
    assert_eq!(read32(&mut c, VFIO_PCI_CONFIG_REGION_INDEX, 0), 0x7e50_1234);
    assert_eq!(
        read32(&mut c, VFIO_PCI_CONFIG_REGION_INDEX, 8) >> 8,
        0x12_0000
    );
    assert_eq!(
        read32(&mut c, VFIO_PCI_BAR0_REGION_INDEX, regs::ID).to_le_bytes(),
        *b"TERN"
    );
    c.region_write(
        VFIO_PCI_BAR0_REGION_INDEX,
        regs::SCRATCH,
        &0xfeed_f00du32.to_le_bytes(),
    )
    .unwrap();
    assert_eq!(
        read32(&mut c, VFIO_PCI_BAR0_REGION_INDEX, regs::SCRATCH),
        0xfeed_f00d
    );
    c.shutdown().unwrap();
    drop(c);

    // QEMU restarted: the same server process serves it a device in its reset state.
    let mut c = Client::new(&sock).expect("second client connects");
    assert_eq!(
        read32(&mut c, VFIO_PCI_BAR0_REGION_INDEX, regs::ID).to_le_bytes(),
        *b"TERN"
    );
    assert_eq!(
        read32(&mut c, VFIO_PCI_BAR0_REGION_INDEX, regs::SCRATCH),
        0,
        "device was reset"
    );
    c.shutdown().unwrap();
    drop(c);
    t.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

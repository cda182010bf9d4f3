// SPDX-License-Identifier: MIT OR Apache-2.0
//! The model through the vfio-user protocol, with the `vfio_user` crate's client standing in
//! for QEMU: config space, BAR0, and a client that goes away and comes back; directly on the
//! crate's server and through the model's proxy (`tern_emu::proxy`), where a DMA_MAP fd must
//! survive the forwarding for the boot ROM to read the image.

mod common;

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
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
    client_then_reconnect(&sock);
    t.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn proxy_serves_a_client_then_a_reconnect() {
    let dir = std::env::temp_dir().join(format!("tern-vfp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("tern.sock");
    let listener = UnixListener::bind(&sock).expect("listen");
    let dev = Arc::new(Device::new());
    let d2 = dev.clone();
    let t = std::thread::spawn(move || {
        for _ in 0..3 {
            tern_emu::proxy::serve(&listener, &d2, true).unwrap();
        }
    });
    client_then_reconnect(&sock);

    // A DMA window with an fd, forwarded by the proxy: the boot ROM reads the image by memcpy.
    let mut c = Client::new(&sock).expect("third client connects");
    // SAFETY: memfd_create with a valid C string; the fd is owned by the File.
    let fd = unsafe { libc::memfd_create(c"tern-vfp".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let mem = unsafe { File::from_raw_fd(fd) };
    mem.set_len(1 << 20).unwrap();
    let image = common::firmware();
    mem.write_all_at(&image, 0x1000).unwrap();
    let iova = 0x4000_0000u64;
    c.dma_map(0, iova, 1 << 20, mem.as_raw_fd()).unwrap();
    c.region_write(VFIO_PCI_CONFIG_REGION_INDEX, 4, &[0x06, 0x00])
        .unwrap();
    let bar = VFIO_PCI_BAR0_REGION_INDEX;
    for (r, v) in [
        (regs::BOOT_ADDR_LO, (iova + 0x1000) as u32),
        (regs::BOOT_ADDR_HI, ((iova + 0x1000) >> 32) as u32),
        (regs::BOOT_SIZE, image.len() as u32),
        (regs::BOOT_CTRL, 1),
    ] {
        c.region_write(bar, r, &v.to_le_bytes()).unwrap();
    }
    assert_eq!(
        read32(&mut c, bar, regs::BOOT_STATUS),
        1,
        "booted over the fd"
    );
    c.shutdown().unwrap();
    drop(c);
    t.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client session on `sock`, then a second one that must find the device reset.
fn client_then_reconnect(sock: &Path) {
    let mut c = Client::new(sock).expect("first client connects");
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
    let mut c = Client::new(sock).expect("second client connects");
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
}

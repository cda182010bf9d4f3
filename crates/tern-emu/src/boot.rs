// SPDX-License-Identifier: MIT OR Apache-2.0
//! The boot ROM (`docs/hardware.md` 4): reads the image by DMA and checks it.

use tern_hw::BootStatus;
use tern_hw::fw::MAX_IMAGE;

use crate::device::Inner;

/// Runs the boot ROM on the image at `addr` of `size` bytes.
pub fn boot_rom(dev: &Inner, addr: u64, size: u32) -> Result<tern_fw::Loaded, BootStatus> {
    if let Some(s) = injected(dev) {
        return Err(s);
    }
    if size == 0 {
        return Err(BootStatus::BadSize);
    }
    if !dev.bus_master() {
        log::warn!("boot: bus mastering is off, the image cannot be read");
        return Err(BootStatus::DmaError);
    }
    // Read what the header needs first, so a bad magic is reported even for a bad size.
    let mut head = [0u8; 8];
    let n = (size as usize).min(head.len());
    dev.dma_read(addr, &mut head[..n])
        .map_err(|_| BootStatus::DmaError)?;
    if size == 0 || size > MAX_IMAGE {
        return Err(tern_fw::check(&head[..n], size)
            .err()
            .unwrap_or(BootStatus::BadSize));
    }
    let mut image = vec![0u8; size as usize];
    dev.dma_read(addr, &mut image)
        .map_err(|_| BootStatus::DmaError)?;
    tern_fw::check(&image, size)
}

fn injected(dev: &Inner) -> Option<BootStatus> {
    use std::sync::atomic::Ordering::SeqCst;
    let once = dev.faults.boot_fail_once.swap(0, SeqCst);
    let code = if once != 0 {
        once
    } else {
        dev.faults.boot_fail.load(SeqCst)
    };
    BootStatus::from_code(code).filter(|s| s.is_failure())
}

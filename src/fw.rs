// SPDX-License-Identifier: GPL-2.0

//! Firmware: loading the image, checking its header and booting the device
//! (`docs/hardware.md` 4).

use kernel::{
    device::Bound,
    dma::Coherent,
    firmware::{
        Firmware,
        ModInfoBuilder, //
    },
    fmt,
    io::Io,
    pci,
    prelude::*,
};

use crate::{
    driver::Bar0,
    event::EventIrq,
    regs::{
        self,
        fw, //
    },
    shared::Shared,
};

/// The firmware files the driver tries, in order.
const FILES: [&CStr; 2] = [c"tern/tern-fw-v1.bin", c"tern/tern-fw.bin"];

/// How long the boot ROM may take, in milliseconds.
const BOOT_TIMEOUT_MS: u32 = 5000;

/// Declares the firmware files (`MODULE_FIRMWARE`).
pub(crate) struct FwFiles<const N: usize>;

impl<const N: usize> FwFiles<N> {
    /// Builds the `.modinfo` entries.
    pub(crate) const fn create(module_name: &'static CStr) -> ModInfoBuilder<N> {
        ModInfoBuilder::new(module_name)
            .new_entry()
            .push("tern/tern-fw-v1.bin")
            .new_entry()
            .push("tern/tern-fw.bin")
    }
}

//@ step recovery {
/// The firmware image in DMA memory, kept to boot it again after a device reset.
pub(crate) struct FwImage {
    /// The image.
    pub(crate) image: Coherent<[u8]>,
}
//@ }

/// What the driver knows about the running firmware.
#[derive(Clone, Copy)]
pub(crate) struct FwInfo {
    /// `FW_VERSION`.
    pub(crate) version: u32,
    /// The negotiated ABI.
    pub(crate) abi: u32,
}

/// The fields of an image header the driver checks.
struct Header {
    version: u32,
    abi: (u16, u16),
}

/// Formats a firmware version.
struct Version(u32);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(f, "{}.{}.{}", v >> 24, (v >> 16) & 0xff, v & 0xffff)
    }
}

fn le16(data: &[u8], off: usize) -> u16 {
    data.get(off..off + 2)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

fn le32(data: &[u8], off: usize) -> u32 {
    data.get(off..off + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// Checks the header of image `name` before the device sees it; logs the first problem.
fn check_header(pdev: &pci::Device<Bound>, name: &CStr, data: &[u8]) -> Result<Header> {
    let len = data.len();
    let bad = |what: fmt::Arguments<'_>| {
        dev_err!(
            pdev,
            "firmware {}: {}\n",
            name.to_str().unwrap_or("?"),
            what
        );
        EINVAL
    };
    if len < fw::HEADER_FIXED {
        return Err(bad(fmt!(
            "{len} bytes, too short for the {}-byte header",
            fw::HEADER_FIXED
        )));
    }
    let magic = le32(data, 0x00);
    if magic != fw::MAGIC {
        return Err(bad(fmt!(
            "bad magic {magic:#010x}, expected {:#010x} ('TFW1')",
            fw::MAGIC
        )));
    }
    let header_version = le16(data, 0x04);
    if header_version != fw::HEADER_VERSION {
        return Err(bad(fmt!(
            "header version {header_version}, the driver understands {}",
            fw::HEADER_VERSION
        )));
    }
    let header_size = usize::from(le16(data, 0x06));
    let version = Version(le32(data, 0x08));
    let (abi_min, abi_max) = (le16(data, 0x0c), le16(data, 0x0e));
    let image_size = le32(data, 0x10);
    let sections = le32(data, 0x14);
    if len > fw::MAX_IMAGE {
        return Err(bad(fmt!(
            "firmware {version}: {len} bytes, over the {}-byte limit",
            fw::MAX_IMAGE
        )));
    }
    if usize::try_from(image_size) != Ok(len) {
        return Err(bad(fmt!(
            "firmware {version}: header says {image_size} bytes, the file has {len}"
        )));
    }
    if sections == 0 || sections > fw::MAX_SECTIONS {
        return Err(bad(fmt!(
            "firmware {version}: {sections} sections, expected 1..{}",
            fw::MAX_SECTIONS
        )));
    }
    // CAST: At most 16 sections.
    let table_end = fw::HEADER_FIXED + fw::SECTION_ENTRY * sections as usize;
    if header_size != table_end || header_size > len {
        return Err(bad(fmt!(
            "firmware {version}: header size {header_size} does not match {sections} sections"
        )));
    }
    for i in 0..sections as usize {
        let entry = fw::HEADER_FIXED + fw::SECTION_ENTRY * i;
        let (off, size) = (le32(data, entry + 4), le32(data, entry + 8));
        if u64::from(off) + u64::from(size) > u64::from(image_size) {
            return Err(bad(fmt!(
                "firmware {version}: section {i} ({size} bytes at {off:#x}) lies outside the image"
            )));
        }
    }
    let driver_abi = regs::DRIVER_ABI;
    if abi_min > abi_max || !(u32::from(abi_min)..=u32::from(abi_max)).contains(&driver_abi) {
        return Err(bad(fmt!(
            "firmware {version} speaks ABI {abi_min}..{abi_max}, the driver speaks {driver_abi}"
        )));
    }
    Ok(Header {
        version: version.0,
        abi: (abi_min, abi_max),
    })
}

/// Requests the first firmware file that exists.
fn request(pdev: &pci::Device<Bound>) -> Result<(&'static CStr, Firmware)> {
    let mut last = ENOENT;
    for name in FILES {
        match Firmware::request_nowarn(name, pdev.as_ref()) {
            Ok(fw) => return Ok((name, fw)),
            Err(e) => last = e,
        }
    }
    dev_err!(
        pdev,
        "firmware {} not found (nor {}): {last:?}\n",
        FILES[0].to_str().unwrap_or("?"),
        FILES[1].to_str().unwrap_or("?")
    );
    Err(last)
}

/// Loads the firmware, boots the device and negotiates the ABI.
///
/// Every failure is logged once, naming the file, the problem and the versions involved.
pub(crate) fn boot(
    pdev: &pci::Device<Bound>,
    bar: &Bar0<'_>,
    shared: &Shared,
    events: &EventIrq,
) -> Result<FwInfo> {
    let (name, file) = request(pdev)?;
    let name_str = name.to_str().unwrap_or("?");
    let data = file.data();
    let header = check_header(pdev, name, data)?;
    let version = Version(header.version);
    let (abi_min, abi_max) = header.abi;

    let image = Coherent::from_slice(pdev.as_ref(), data, GFP_KERNEL).inspect_err(|e| {
        dev_err!(
            pdev,
            "firmware {name_str}: cannot allocate DMA memory for it: {e:?}\n"
        )
    })?;
    let addr = image.dma_address();

    // Start from a clean device: an earlier driver instance may have left it booted or halted.
    Shared::reset_device(bar);
    shared.program_memory(bar);
    // CAST: Register halves of a 64-bit address; the size was checked against 1 MiB.
    bar.write32(addr as u32, regs::BOOT_ADDR_LO);
    bar.write32((addr >> 32) as u32, regs::BOOT_ADDR_HI);
    bar.write32(data.len() as u32, regs::BOOT_SIZE);
    let seen = events.count();
    bar.write32(regs::BOOT_CTRL_START, regs::BOOT_CTRL);
    events
        .wait_for_more_than(seen, BOOT_TIMEOUT_MS)
        .inspect_err(|e| {
            // The boot ROM may still be reading the image: stop it before the image is freed.
            Shared::reset_device(bar);
            dev_err!(
                pdev,
                "firmware {name_str} {version}: no boot event within {BOOT_TIMEOUT_MS} ms ({e:?})\n"
            )
        })?;

    let status = bar.read32(regs::BOOT_STATUS);
    if status != regs::BOOT_STATUS_OK {
        dev_err!(
            pdev,
            "firmware {name_str} {version} (ABI {abi_min}..{abi_max}) refused by the boot ROM: \
            {} (status {status})\n",
            regs::boot_status_name(status)
        );
        return Err(EIO);
    }

    let fw_abi = bar.read32(regs::FW_ABI);
    let (min, max) = (fw_abi >> 16, fw_abi & 0xffff);
    if !(min..=max).contains(&regs::DRIVER_ABI) {
        dev_err!(
            pdev,
            "firmware {name_str} {version} runs ABI {min}..{max}, the driver speaks {}\n",
            regs::DRIVER_ABI
        );
        return Err(ENODEV);
    }
    bar.write32(regs::DRIVER_ABI, regs::ABI_SELECT);
    let dev_status = bar.read32(regs::DEV_STATUS);
    if dev_status & regs::DEV_STATUS_READY == 0 {
        dev_err!(
            pdev,
            "firmware {name_str} {version}: device not ready after selecting ABI {} \
            (DEV_STATUS {dev_status:#x})\n",
            regs::DRIVER_ABI
        );
        return Err(EIO);
    }

    //@ step recovery {
    // Kept for the reboots of recovery (`src/recovery.rs`).
    *shared.fw.lock() = Some(FwImage { image });
    //@ }
    let running = bar.read32(regs::FW_VERSION);
    dev_info!(
        pdev,
        "firmware {name_str} {} running, ABI {}\n",
        Version(running),
        regs::DRIVER_ABI
    );
    Ok(FwInfo {
        version: running,
        abi: regs::DRIVER_ABI,
    })
}

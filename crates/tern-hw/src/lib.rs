// SPDX-License-Identifier: MIT OR Apache-2.0
//! TERN hardware definitions, as written in `docs/hardware.md`.
//!
//! One place for the numbers the device model, the host tests and the userspace tools share.
//! The kernel module keeps its own copy in `src/regs.rs`; `docs/hardware.md` is the reference
//! both follow.

/// PCI identity of the TERN function.
pub mod pci {
    /// Vendor ID: 0x1234, the ID QEMU's own emulated devices use for experiments. See
    /// `docs/hardware.md`, "PCI identity", for why TERN uses it.
    pub const VENDOR_ID: u16 = 0x1234;
    /// Device ID of the TERN accelerator.
    pub const DEVICE_ID: u16 = 0x7e50;
    /// Revision of this hardware model.
    pub const REVISION: u8 = 0x01;
    /// Class code: base 0x12 (processing accelerator), subclass 0, programming interface 0.
    pub const CLASS_CODE: u32 = 0x12_0000;
    /// Size of BAR0 in bytes.
    pub const BAR0_SIZE: u64 = 0x2000;
    /// Number of MSI-X vectors.
    pub const MSIX_VECTORS: u16 = 8;
    /// Offset of the MSI-X table in BAR0.
    pub const MSIX_TABLE_OFFSET: u32 = 0x800;
    /// Offset of the MSI-X pending-bit array in BAR0.
    pub const MSIX_PBA_OFFSET: u32 = 0xc00;
}

/// BAR0 register offsets. All registers are 32 bits wide and little-endian.
pub mod regs {
    /// RO: `'TERN'` in little-endian byte order.
    pub const ID: u64 = 0x000;
    /// RO: hardware version, major in bits 31:16, minor in bits 15:0.
    pub const HW_VERSION: u64 = 0x004;
    /// RO: capability bits (see [`super::caps`]).
    pub const CAPS: u64 = 0x008;
    /// RO: number of hardware queues.
    pub const QUEUE_COUNT: u64 = 0x00c;
    /// RW: scratch register with no side effects.
    pub const SCRATCH: u64 = 0x020;
    /// WO: writing N raises MSI-X vector N (interrupt path self-test).
    pub const IRQ_RAISE: u64 = 0x024;

    /// Value of [`ID`].
    pub const ID_VALUE: u32 = u32::from_le_bytes(*b"TERN");
    /// Value of [`HW_VERSION`]: 1.0.
    pub const HW_VERSION_VALUE: u32 = 1 << 16;
}

/// Capability bits in the `CAPS` register.
pub mod caps {}

/// MSI-X vector assignment.
pub mod vectors {
    /// Device events: boot status changes, errors, firmware events.
    pub const EVENTS: u16 = 0;
    /// Vector of hardware queue `q`.
    pub const fn queue(q: u16) -> u16 {
        1 + q
    }
}

/// Firmware image format constants (`docs/hardware.md` 4.1).
pub mod fw {
    /// `'TFW1'`.
    pub const MAGIC: u32 = u32::from_le_bytes(*b"TFW1");
    /// Header version this hardware understands.
    pub const HEADER_VERSION: u16 = 1;
    /// Fixed part of the header.
    pub const HEADER_FIXED: usize = 64;
    /// Bytes per section table entry.
    pub const SECTION_ENTRY: usize = 16;
    /// Most sections in an image.
    pub const MAX_SECTIONS: u32 = 16;
    /// Largest image.
    pub const MAX_IMAGE: u32 = 1 << 20;
    /// Offset and length of the digest field.
    pub const DIGEST_OFFSET: usize = 0x20;
    /// Digest length (SHA-256).
    pub const DIGEST_LEN: usize = 32;
    /// Section type: decode table.
    pub const SECTION_DECODE: u32 = 1;
    /// Section type: build note.
    pub const SECTION_NOTE: u32 = 2;
    /// Size of the decode table section.
    pub const DECODE_SIZE: u32 = 512;
    /// Firmware ABI versions this hardware supports.
    pub const HW_ABI_MIN: u16 = 1;
    /// See [`HW_ABI_MIN`].
    pub const HW_ABI_MAX: u16 = 1;
}

/// Boot ROM status codes (`BOOT_STATUS`, `docs/hardware.md` 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum BootStatus {
    /// No boot attempted since reset.
    None = 0,
    /// Image accepted.
    Ok = 1,
    /// Bad magic.
    BadMagic = 2,
    /// Unknown header version.
    BadHeaderVersion = 3,
    /// Sizes wrong.
    BadSize = 4,
    /// Digest mismatch.
    BadDigest = 5,
    /// No common ABI.
    AbiUnsupported = 6,
    /// Bad section table.
    BadSection = 7,
    /// No decode section.
    MissingSection = 8,
    /// Image unreadable.
    DmaError = 9,
    /// Boot requested while busy.
    Busy = 10,
}

impl BootStatus {
    /// Name as in the manual.
    pub fn name(self) -> &'static str {
        use BootStatus::*;
        match self {
            None => "NONE",
            Ok => "OK",
            BadMagic => "BAD_MAGIC",
            BadHeaderVersion => "BAD_HEADER_VERSION",
            BadSize => "BAD_SIZE",
            BadDigest => "BAD_DIGEST",
            AbiUnsupported => "ABI_UNSUPPORTED",
            BadSection => "BAD_SECTION",
            MissingSection => "MISSING_SECTION",
            DmaError => "DMA_ERROR",
            Busy => "BUSY",
        }
    }
}

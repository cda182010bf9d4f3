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

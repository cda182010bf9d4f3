// SPDX-License-Identifier: GPL-2.0

//! TERN BAR0 register map.
//!
//! All registers are 32 bits wide and little-endian. Offsets are from the start of BAR0.

/// Size of the BAR0 register window.
pub(crate) const BAR0_SIZE: usize = 0x2000;

/// Device identification, read-only: always [`ID_TERN`].
pub(crate) const ID: usize = 0x000;

/// Hardware version, read-only: `major << 16 | minor`.
pub(crate) const HW_VERSION: usize = 0x004;

/// Scratch register, read/write, no side effects.
pub(crate) const SCRATCH: usize = 0x020;

/// Interrupt test, write-only: the device raises the MSI-X vector whose index is written.
pub(crate) const IRQ_RAISE: usize = 0x024;

/// Value of [`ID`]: `"TERN"` in little-endian byte order.
pub(crate) const ID_TERN: u32 = 0x4e52_4554;

/// Number of MSI-X vectors of the device.
pub(crate) const NUM_VECTORS: u32 = 8;

/// MSI-X vector of device events; vector `1 + q` belongs to hardware queue `q`.
pub(crate) const VECTOR_EVENTS: u32 = 0;

/// Extracts the major number from a [`HW_VERSION`] value.
pub(crate) const fn hw_version_major(version: u32) -> u32 {
    version >> 16
}

/// Extracts the minor number from a [`HW_VERSION`] value.
pub(crate) const fn hw_version_minor(version: u32) -> u32 {
    version & 0xffff
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! The TERN device: BAR0 registers and the state behind them.

use std::sync::Mutex;

use tern_hw::{pci, regs};

use crate::dma::GuestMemory;
use crate::irq::Interrupts;
use crate::pci_config::PciConfig;

/// Registers that hold state.
#[derive(Default)]
struct Regs {
    scratch: u32,
}

/// One TERN device.
#[derive(Default)]
pub struct Device {
    /// PCI configuration space.
    pub config: Mutex<PciConfig>,
    /// MSI-X vectors.
    pub irqs: Interrupts,
    /// Guest memory reachable by DMA.
    pub mem: GuestMemory,
    regs: Mutex<Regs>,
}

impl Device {
    /// A device in its reset state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whole-device reset: registers to their reset values, interrupts disconnected.
    pub fn reset(&self) {
        *self.regs.lock().unwrap_or_else(|e| e.into_inner()) = Regs::default();
    }

    /// The client went away: forget its memory and eventfds, reset.
    pub fn disconnect(&self) {
        self.reset();
        self.irqs.clear();
        self.mem.clear();
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = PciConfig::new();
    }

    /// Reads a 32-bit register. Unknown offsets read as zero.
    pub fn read32(&self, off: u64) -> u32 {
        let r = self.regs.lock().unwrap_or_else(|e| e.into_inner());
        match off {
            regs::ID => regs::ID_VALUE,
            regs::HW_VERSION => regs::HW_VERSION_VALUE,
            regs::CAPS => 0,
            regs::QUEUE_COUNT => 0,
            regs::SCRATCH => r.scratch,
            _ => 0,
        }
    }

    /// Writes a 32-bit register. Writes to read-only or unknown offsets are ignored.
    pub fn write32(&self, off: u64, val: u32) {
        match off {
            regs::SCRATCH => self.regs.lock().unwrap_or_else(|e| e.into_inner()).scratch = val,
            regs::IRQ_RAISE => {
                if val < u32::from(pci::MSIX_VECTORS) {
                    self.irqs.raise(val as u16);
                }
            }
            _ => log::debug!("bar0: write {val:#x} to {off:#x} ignored"),
        }
    }

    /// A BAR0 read of any size. Registers are 32-bit; other sizes or misaligned accesses
    /// read as zero, as do the MSI-X table and PBA (QEMU emulates the table).
    pub fn bar0_read(&self, off: u64, data: &mut [u8]) {
        data.fill(0);
        if data.len() == 4 && off % 4 == 0 && off < u64::from(pci::MSIX_TABLE_OFFSET) {
            data.copy_from_slice(&self.read32(off).to_le_bytes());
        }
    }

    /// A BAR0 write of any size; see [`Device::bar0_read`].
    pub fn bar0_write(&self, off: u64, data: &[u8]) {
        if let Ok(b) = <[u8; 4]>::try_from(data) {
            if off % 4 == 0 && off < u64::from(pci::MSIX_TABLE_OFFSET) {
                self.write32(off, u32::from_le_bytes(b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_registers() {
        let d = Device::new();
        assert_eq!(d.read32(regs::ID).to_le_bytes(), *b"TERN");
        assert_eq!(d.read32(regs::HW_VERSION), 0x0001_0000);
    }

    #[test]
    fn scratch_and_reset() {
        let d = Device::new();
        d.write32(regs::SCRATCH, 0xdead_beef);
        assert_eq!(d.read32(regs::SCRATCH), 0xdead_beef);
        d.write32(regs::ID, 0);
        assert_eq!(d.read32(regs::ID), regs::ID_VALUE);
        d.reset();
        assert_eq!(d.read32(regs::SCRATCH), 0);
    }

    #[test]
    fn odd_accesses_read_zero() {
        let d = Device::new();
        let mut b = [0xffu8; 2];
        d.bar0_read(regs::ID, &mut b);
        assert_eq!(b, [0, 0]);
        let mut b = [0xffu8; 4];
        d.bar0_read(1, &mut b);
        assert_eq!(b, [0; 4]);
    }
}

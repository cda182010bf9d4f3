// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI configuration space of the TERN function: a type 0 header, one 32-bit memory BAR and
//! an MSI-X capability. QEMU's vfio-user client virtualises the BARs and the MSI-X table
//! itself; the model keeps the registers it is asked for and the bits a driver may write.

use tern_hw::pci;

/// Size of the configuration space the model exposes.
pub const CONFIG_SIZE: usize = 256;
/// Offset of the MSI-X capability.
const MSIX_CAP: usize = 0x40;

const COMMAND: usize = 0x04;
/// Command register: memory space, bus master, SERR, INTx disable.
const COMMAND_WRITABLE: u16 = 0x0002 | 0x0004 | 0x0100 | 0x0400;
/// Command register bit: bus master enable.
pub const COMMAND_BUS_MASTER: u16 = 0x0004;
const STATUS_CAP_LIST: u16 = 0x0010;
const BAR0: usize = 0x10;
/// MSI-X message control: enable and function mask are writable.
const MSIX_CONTROL_WRITABLE: u16 = 0xc000;

/// The configuration space registers.
pub struct PciConfig {
    bytes: [u8; CONFIG_SIZE],
    bar0: u32,
}

impl Default for PciConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl PciConfig {
    /// Configuration space at reset.
    pub fn new() -> Self {
        let mut c = PciConfig {
            bytes: [0; CONFIG_SIZE],
            bar0: 0,
        };
        c.put16(0x00, pci::VENDOR_ID);
        c.put16(0x02, pci::DEVICE_ID);
        c.put16(0x06, STATUS_CAP_LIST);
        c.bytes[0x08] = pci::REVISION;
        c.bytes[0x09] = (pci::CLASS_CODE & 0xff) as u8;
        c.bytes[0x0a] = ((pci::CLASS_CODE >> 8) & 0xff) as u8;
        c.bytes[0x0b] = ((pci::CLASS_CODE >> 16) & 0xff) as u8;
        c.put16(0x2c, pci::VENDOR_ID);
        c.put16(0x2e, pci::DEVICE_ID);
        c.bytes[0x34] = MSIX_CAP as u8;
        // MSI-X: capability ID 0x11, last in the list, table and PBA in BAR0.
        c.bytes[MSIX_CAP] = 0x11;
        c.bytes[MSIX_CAP + 1] = 0;
        c.put16(MSIX_CAP + 2, pci::MSIX_VECTORS - 1);
        c.put32(MSIX_CAP + 4, pci::MSIX_TABLE_OFFSET);
        c.put32(MSIX_CAP + 8, pci::MSIX_PBA_OFFSET);
        c
    }

    fn put16(&mut self, off: usize, v: u16) {
        self.bytes[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn put32(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn get16(&self, off: usize) -> u16 {
        u16::from_le_bytes([self.bytes[off], self.bytes[off + 1]])
    }

    /// The command register.
    pub fn command(&self) -> u16 {
        self.get16(COMMAND)
    }

    /// Reads `data.len()` bytes at `offset`; bytes past the end read as zero.
    pub fn read(&self, offset: u64, data: &mut [u8]) {
        let mut view = self.bytes;
        view[BAR0..BAR0 + 4].copy_from_slice(&self.bar0.to_le_bytes());
        for (i, b) in data.iter_mut().enumerate() {
            *b = offset
                .checked_add(i as u64)
                .and_then(|o| view.get(o as usize).copied())
                .unwrap_or(0);
        }
    }

    /// Writes `data` at `offset`, keeping read-only bits.
    pub fn write(&mut self, offset: u64, data: &[u8]) {
        for (i, &b) in data.iter().enumerate() {
            let Some(off) = offset.checked_add(i as u64).map(|o| o as usize) else {
                return;
            };
            match off {
                o if (COMMAND..COMMAND + 2).contains(&o) => {
                    let mask = COMMAND_WRITABLE.to_le_bytes()[o - COMMAND];
                    self.bytes[o] = (self.bytes[o] & !mask) | (b & mask);
                }
                o if (BAR0..BAR0 + 4).contains(&o) => {
                    let mut v = self.bar0.to_le_bytes();
                    v[o - BAR0] = b;
                    // 32-bit memory BAR: size alignment in the low bits, type bits zero.
                    self.bar0 = u32::from_le_bytes(v) & !(pci::BAR0_SIZE as u32 - 1);
                }
                o if (MSIX_CAP + 2..MSIX_CAP + 4).contains(&o) => {
                    let mask = MSIX_CONTROL_WRITABLE.to_le_bytes()[o - MSIX_CAP - 2];
                    self.bytes[o] = (self.bytes[o] & !mask) | (b & mask);
                }
                0x3c => self.bytes[0x3c] = b,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read32(c: &PciConfig, off: u64) -> u32 {
        let mut b = [0u8; 4];
        c.read(off, &mut b);
        u32::from_le_bytes(b)
    }

    #[test]
    fn identity_and_class() {
        let c = PciConfig::new();
        assert_eq!(read32(&c, 0), 0x7e50_1234);
        assert_eq!(read32(&c, 8) >> 8, 0x12_0000);
        assert_eq!(read32(&c, 0x34) & 0xff, 0x40);
        assert_eq!(read32(&c, 0x40) & 0xff, 0x11);
        assert_eq!((read32(&c, 0x40) >> 16) & 0x7ff, 7);
    }

    #[test]
    fn read_only_bits_stay() {
        let mut c = PciConfig::new();
        c.write(0, &[0xff; 4]);
        c.write(4, &[0xff, 0xff]);
        assert_eq!(read32(&c, 0), 0x7e50_1234);
        assert_eq!(c.command(), COMMAND_WRITABLE);
        c.write(0x10, &[0xff; 4]);
        assert_eq!(read32(&c, 0x10), !(0x2000u32 - 1));
    }

    #[test]
    fn reads_past_end_are_zero() {
        let c = PciConfig::new();
        let mut b = [0xaau8; 8];
        c.read(252, &mut b);
        assert_eq!(&b[4..], &[0, 0, 0, 0]);
    }
}

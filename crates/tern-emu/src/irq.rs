// SPDX-License-Identifier: MIT OR Apache-2.0
//! MSI-X vectors: one eventfd per vector, handed over by QEMU in SET_IRQS messages.
//!
//! QEMU emulates the MSI-X table itself. For a masked vector it drops the raise and sends the
//! eventfd again on unmask, so the model only writes to whatever eventfd it holds.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

use tern_hw::pci::MSIX_VECTORS;
use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
    VFIO_PCI_MSIX_IRQ_INDEX,
};

/// The interrupt side of the device.
pub struct Interrupts {
    vectors: Mutex<Vec<Option<File>>>,
}

impl Default for Interrupts {
    fn default() -> Self {
        Self::new()
    }
}

impl Interrupts {
    /// All vectors unconnected.
    pub fn new() -> Self {
        Interrupts {
            vectors: Mutex::new((0..MSIX_VECTORS).map(|_| None).collect()),
        }
    }

    /// Applies a SET_IRQS message. Returns `Err` with EINVAL for what the device lacks.
    pub fn set_irqs(
        &self,
        index: u32,
        flags: u32,
        start: u32,
        count: u32,
        fds: Vec<File>,
    ) -> std::io::Result<()> {
        let einval = || std::io::Error::from_raw_os_error(libc::EINVAL);
        if index != VFIO_PCI_MSIX_IRQ_INDEX {
            // INTx and MSI are not offered (irq info count 0); only a disable is accepted.
            return if count == 0 { Ok(()) } else { Err(einval()) };
        }
        let mut v = self.vectors.lock().unwrap_or_else(|e| e.into_inner());
        let end = start.checked_add(count).ok_or_else(einval)? as usize;
        if end > v.len() {
            return Err(einval());
        }
        let trigger = flags & VFIO_IRQ_SET_ACTION_TRIGGER != 0;
        if trigger && flags & VFIO_IRQ_SET_DATA_NONE != 0 && count == 0 {
            v.iter_mut().for_each(|f| *f = None);
            return Ok(());
        }
        if trigger && flags & VFIO_IRQ_SET_DATA_EVENTFD != 0 {
            // QEMU first sends a placeholder without fd, then one message per vector with fd.
            let mut fds = fds.into_iter();
            for slot in &mut v[start as usize..end] {
                *slot = fds.next();
            }
            log::debug!("msix: vectors {start}..{end} connected");
            return Ok(());
        }
        Ok(())
    }

    /// Raises vector `n`. Returns false when nothing is connected to it.
    pub fn raise(&self, n: u16) -> bool {
        let v = self.vectors.lock().unwrap_or_else(|e| e.into_inner());
        match v.get(n as usize) {
            Some(Some(f)) => {
                let mut f: &File = f;
                if let Err(e) = f.write_all(&1u64.to_ne_bytes()) {
                    log::warn!("msix: vector {n}: eventfd write failed: {e}");
                    return false;
                }
                true
            }
            _ => {
                log::debug!("msix: vector {n} not connected, interrupt dropped");
                false
            }
        }
    }

    /// Disconnects all vectors (device reset, client gone).
    pub fn clear(&self) {
        self.vectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
            .for_each(|f| *f = None);
    }
}

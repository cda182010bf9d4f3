// SPDX-License-Identifier: MIT OR Apache-2.0
//! The vfio-user side: regions, interrupts and the message handlers that reach the device.

use std::fs::File;
use std::mem::size_of;
use std::sync::Arc;

use tern_hw::pci;
use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_INFO_EVENTFD, VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
    VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_REGIONS, VFIO_REGION_INFO_FLAG_READ,
    VFIO_REGION_INFO_FLAG_WRITE, vfio_region_info,
};
use vfio_user::{DmaMapFlags, DmaUnmapFlags, IrqInfo, ServerBackend, ServerRegion};

use crate::device::Device;
use crate::pci_config::CONFIG_SIZE;

/// Connects one vfio-user session to a [`Device`].
pub struct Backend {
    dev: Arc<Device>,
}

impl Backend {
    /// A backend serving `dev`.
    pub fn new(dev: Arc<Device>) -> Self {
        Backend { dev }
    }
}

/// The regions the device offers: config space and BAR0.
pub fn regions() -> Vec<ServerRegion> {
    (0..VFIO_PCI_NUM_REGIONS)
        .map(|index| {
            let mut info = vfio_region_info {
                argsz: size_of::<vfio_region_info>() as u32,
                index,
                ..Default::default()
            };
            let rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
            match index {
                VFIO_PCI_CONFIG_REGION_INDEX => (info.size, info.flags) = (CONFIG_SIZE as u64, rw),
                VFIO_PCI_BAR0_REGION_INDEX => (info.size, info.flags) = (pci::BAR0_SIZE, rw),
                _ => {}
            }
            ServerRegion {
                region_info: info,
                sparse_areas: Vec::new(),
                mmap_fd: None,
            }
        })
        .collect()
}

/// The interrupts the device offers: MSI-X only.
pub fn irqs() -> Vec<IrqInfo> {
    (0..VFIO_PCI_NUM_IRQS)
        .map(|index| match index {
            VFIO_PCI_MSIX_IRQ_INDEX => IrqInfo {
                index,
                count: u32::from(pci::MSIX_VECTORS),
                flags: VFIO_IRQ_INFO_EVENTFD,
            },
            _ => IrqInfo {
                index,
                count: 0,
                flags: 0,
            },
        })
        .collect()
}

impl ServerBackend for Backend {
    fn region_read(&mut self, region: u32, offset: u64, data: &mut [u8]) -> std::io::Result<()> {
        match region {
            VFIO_PCI_CONFIG_REGION_INDEX => self
                .dev
                .config
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .read(offset, data),
            VFIO_PCI_BAR0_REGION_INDEX => self.dev.bar0_read(offset, data),
            _ => return Err(std::io::Error::from_raw_os_error(libc::EINVAL)),
        }
        Ok(())
    }

    fn region_write(&mut self, region: u32, offset: u64, data: &[u8]) -> std::io::Result<()> {
        match region {
            VFIO_PCI_CONFIG_REGION_INDEX => {
                log::debug!("config: write {data:02x?} at {offset:#x}");
                self.dev
                    .config
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .write(offset, data)
            }
            VFIO_PCI_BAR0_REGION_INDEX => self.dev.bar0_write(offset, data),
            _ => return Err(std::io::Error::from_raw_os_error(libc::EINVAL)),
        }
        Ok(())
    }

    fn dma_map(
        &mut self,
        _flags: DmaMapFlags,
        offset: u64,
        address: u64,
        size: u64,
        fd: Option<File>,
    ) -> std::io::Result<()> {
        self.dev.mem.map(address, size, offset, fd)
    }

    fn dma_unmap(&mut self, _flags: DmaUnmapFlags, address: u64, size: u64) -> std::io::Result<()> {
        self.dev.mem.unmap(address, size);
        Ok(())
    }

    fn reset(&mut self) -> std::io::Result<()> {
        log::info!("device reset requested by the client");
        self.dev.reset();
        Ok(())
    }

    fn set_irqs(
        &mut self,
        index: u32,
        flags: u32,
        start: u32,
        count: u32,
        fds: Vec<File>,
    ) -> std::io::Result<()> {
        self.dev.irqs.set_irqs(index, flags, start, count, fds)
    }
}

/// Serves clients of `server` one after another, each on `dev`; forgets a client's memory
/// and eventfds and resets the device when it goes (a restarted QEMU finds a fresh device).
/// Returns after one client when `once` is set.
pub fn serve(server: &vfio_user::Server, dev: &Arc<Device>, once: bool) {
    loop {
        let mut backend = Backend::new(dev.clone());
        match server.run(&mut backend) {
            Ok(()) => log::info!("client disconnected"),
            Err(e) => log::warn!("client session ended: {e}"),
        }
        dev.disconnect();
        if once {
            return;
        }
        log::info!("waiting for a new client");
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! dma-bufs of other exporters, to import as TERN buffers ([`Device::import_buffer`]): the
//! kernel's dma-heaps (`/dev/dma_heap/*`), udmabuf (pages of a memfd), or any dma-buf file
//! descriptor another driver handed out.
//!
//! The CPU reaches a dma-buf through its own mapping ([`DmaBuf::map`]), bracketed by
//! [`DmaBuf::begin_cpu_access`] / [`DmaBuf::end_cpu_access`] (`DMA_BUF_IOCTL_SYNC`): the begin
//! waits for the fences of the devices that use the buffer, so the CPU sees what a TERN job
//! wrote once the job's fence has signalled.
//!
//! [`Device::import_buffer`]: crate::Device::import_buffer

use std::fs::OpenOptions;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use tern_uapi::ioc;

use crate::error::{Error, Result};
use crate::ioctl::{ioctl, mmap_shared, munmap, owned_fd, seek_end, slice};

/// `struct dma_heap_allocation_data` (linux/dma-heap.h).
#[repr(C)]
#[derive(Default)]
struct HeapAllocation {
    len: u64,
    fd: u32,
    fd_flags: u32,
    heap_flags: u64,
}

/// `struct udmabuf_create` (linux/udmabuf.h).
#[repr(C)]
#[derive(Default)]
struct UdmabufCreate {
    memfd: u32,
    flags: u32,
    offset: u64,
    size: u64,
}

/// `struct dma_buf_sync` (linux/dma-buf.h).
#[repr(C)]
struct DmaBufSync {
    flags: u64,
}

const DMA_HEAP_IOCTL_ALLOC: u64 = ioc(3, b'H', 0, size_of::<HeapAllocation>());
const UDMABUF_CREATE: u64 = ioc(1, b'u', 0x42, size_of::<UdmabufCreate>());
const UDMABUF_FLAGS_CLOEXEC: u32 = 1;
const DMA_BUF_IOCTL_SYNC: u64 = ioc(1, b'b', 0, size_of::<DmaBufSync>());
const DMA_BUF_SYNC_RW: u64 = 3;
const DMA_BUF_SYNC_END: u64 = 4;

/// A dma-buf file descriptor and its size.
#[derive(Debug)]
pub struct DmaBuf {
    fd: OwnedFd,
    size: u64,
}

impl DmaBuf {
    /// Takes a dma-buf file descriptor from another exporter.
    pub fn from_fd(fd: OwnedFd) -> Result<DmaBuf> {
        let size = seek_end(fd.as_fd())?;
        Ok(DmaBuf { fd, size })
    }

    /// Allocates `size` bytes from the dma-heap `heap` (for example `"system"`), readable and
    /// writable by importers. The heap rounds the size up to whole pages.
    pub fn alloc_heap(heap: &str, size: u64) -> Result<DmaBuf> {
        let path = format!("/dev/dma_heap/{heap}");
        let dev = OpenOptions::new()
            .read(true)
            .open(&path)
            .map_err(|e| Error::open_other(path.into(), e))?;
        let mut a = HeapAllocation {
            len: size,
            fd_flags: (libc::O_RDWR | libc::O_CLOEXEC) as u32,
            ..Default::default()
        };
        ioctl(
            dev.as_fd(),
            "DMA_HEAP_IOCTL_ALLOC",
            DMA_HEAP_IOCTL_ALLOC,
            &mut a,
        )?;
        DmaBuf::from_fd(owned_fd(a.fd as i32)?)
    }

    /// Makes a dma-buf of `size` bytes at `offset` in `memfd` (udmabuf). The memfd must be
    /// sealed against shrinking (`F_SEAL_SHRINK`) and the range page-aligned; udmabuf refuses
    /// anything else with `EINVAL`.
    pub fn from_memfd(memfd: BorrowedFd<'_>, offset: u64, size: u64) -> Result<DmaBuf> {
        let path = "/dev/udmabuf";
        let dev = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::open_other(path.into(), e))?;
        let mut c = UdmabufCreate {
            memfd: memfd.as_raw_fd() as u32,
            flags: UDMABUF_FLAGS_CLOEXEC,
            offset,
            size,
        };
        let fd = crate::ioctl::ioctl_ret(dev.as_fd(), "UDMABUF_CREATE", UDMABUF_CREATE, &mut c)?;
        DmaBuf::from_fd(owned_fd(fd)?)
    }

    /// A new memfd of `size` zeroed bytes, sealed against shrinking, for [`DmaBuf::from_memfd`].
    pub fn sealed_memfd(size: u64) -> Result<OwnedFd> {
        crate::ioctl::sealed_memfd(size)
    }

    /// The file descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The owned file descriptor.
    pub fn owned_fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Gives up the file descriptor.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Maps the whole buffer for the CPU, shared and read-write.
    pub fn map(&self) -> Result<DmaBufMap> {
        let len = usize::try_from(self.size).map_err(|_| Error::Invalid("dma-buf too large"))?;
        let p = mmap_shared(self.fd.as_fd(), len, 0)?;
        Ok(DmaBufMap { p, len })
    }

    /// Starts CPU access for reading and writing: waits for the devices using the buffer.
    pub fn begin_cpu_access(&self) -> Result<()> {
        self.sync(DMA_BUF_SYNC_RW)
    }

    /// Ends CPU access: what the CPU wrote is visible to the devices.
    pub fn end_cpu_access(&self) -> Result<()> {
        self.sync(DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)
    }

    fn sync(&self, flags: u64) -> Result<()> {
        let mut s = DmaBufSync { flags };
        ioctl(
            self.fd.as_fd(),
            "DMA_BUF_IOCTL_SYNC",
            DMA_BUF_IOCTL_SYNC,
            &mut s,
        )
    }
}

/// A CPU mapping of a [`DmaBuf`], unmapped on drop.
#[derive(Debug)]
pub struct DmaBufMap {
    p: usize,
    len: usize,
}

impl DmaBufMap {
    /// The mapped bytes.
    pub fn bytes(&mut self) -> &mut [u8] {
        slice(self.p, self.len)
    }
}

impl Drop for DmaBufMap {
    fn drop(&mut self) {
        munmap(self.p, self.len);
    }
}

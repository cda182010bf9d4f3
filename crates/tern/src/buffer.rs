// SPDX-License-Identifier: MIT OR Apache-2.0
//! Buffer objects: device memory shared with the CPU through mmap.

use std::os::fd::{AsRawFd, OwnedFd};

use tern_uapi as uapi;

use crate::device::Device;
use crate::error::Result;
use crate::ioctl::{ioctl, mmap_shared, munmap};

/// Buffer creation options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferFlags {
    /// The device may read but not write it.
    pub device_readonly: bool,
    /// Map it at this device VA instead of one the driver chooses.
    pub fixed_va: Option<u64>,
}

/// A buffer object of a [`Device`], closed on drop.
#[derive(Debug)]
pub struct Buffer<'d> {
    dev: &'d Device,
    handle: u32,
    size: u64,
    va: u64,
    flags: u32,
    map: Option<(usize, usize)>,
}

impl Device {
    /// Creates a zero-filled buffer of at least `size` bytes, mapped for the device.
    pub fn create_buffer(&self, size: u64, flags: BufferFlags) -> Result<Buffer<'_>> {
        let mut a = uapi::drm_tern_bo_create {
            size,
            flags: if flags.device_readonly {
                uapi::DRM_TERN_BO_DEVICE_READONLY
            } else {
                0
            } | if flags.fixed_va.is_some() {
                uapi::DRM_TERN_BO_FIXED_VA
            } else {
                0
            },
            va: flags.fixed_va.unwrap_or(0),
            ..Default::default()
        };
        ioctl(
            self.fd(),
            "DRM_IOCTL_TERN_BO_CREATE",
            uapi::DRM_IOCTL_TERN_BO_CREATE,
            &mut a,
        )?;
        self.wrap(a.handle)
    }

    /// Imports a dma-buf as a buffer of this device: one this device exported gives the
    /// exporting buffer, any other exporter's (a [`DmaBuf`](crate::DmaBuf), another device's
    /// export) a buffer that [`Buffer::is_imported`]. Importing the same dma-buf twice in one
    /// file gives the same handle, so keep one `Buffer` per dma-buf: dropping it closes the
    /// handle.
    pub fn import_buffer(&self, fd: &OwnedFd) -> Result<Buffer<'_>> {
        let mut p = uapi::drm_prime_handle {
            fd: fd.as_raw_fd(),
            ..Default::default()
        };
        ioctl(
            self.fd(),
            "DRM_IOCTL_PRIME_FD_TO_HANDLE",
            uapi::DRM_IOCTL_PRIME_FD_TO_HANDLE,
            &mut p,
        )?;
        self.wrap(p.handle)
    }

    /// Wraps a handle of this file, closing it if its description fails.
    fn wrap(&self, handle: u32) -> Result<Buffer<'_>> {
        let mut info = uapi::drm_tern_bo_info {
            handle,
            ..Default::default()
        };
        let r = ioctl(
            self.fd(),
            "DRM_IOCTL_TERN_BO_INFO",
            uapi::DRM_IOCTL_TERN_BO_INFO,
            &mut info,
        );
        let b = Buffer {
            dev: self,
            handle,
            size: info.size,
            va: info.va,
            flags: info.flags,
            map: None,
        };
        r.map(|()| b)
    }
}

impl Buffer<'_> {
    /// GEM handle.
    pub fn handle(&self) -> u32 {
        self.handle
    }
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Device VA in this file's address space.
    pub fn va(&self) -> u64 {
        self.va
    }
    /// Whether the buffer imports a dma-buf of another exporter (its pages are the exporter's).
    pub fn is_imported(&self) -> bool {
        self.flags & uapi::DRM_TERN_BO_IMPORTED != 0
    }
    /// Whether the device may only read the buffer (created so, or imported from a read-only
    /// dma-buf).
    pub fn is_device_readonly(&self) -> bool {
        self.flags & uapi::DRM_TERN_BO_DEVICE_READONLY != 0
    }

    /// The buffer's bytes, mapped for the CPU on first use.
    pub fn bytes(&mut self) -> Result<&mut [u8]> {
        if self.map.is_none() {
            let mut info = uapi::drm_tern_bo_info {
                handle: self.handle,
                ..Default::default()
            };
            ioctl(
                self.dev.fd(),
                "DRM_IOCTL_TERN_BO_INFO",
                uapi::DRM_IOCTL_TERN_BO_INFO,
                &mut info,
            )?;
            let p = mmap_shared(self.dev.fd(), self.size as usize, info.mmap_offset)?;
            self.map = Some((p, self.size as usize));
        }
        let (p, len) = self.map.unwrap_or((0, 0));
        Ok(crate::ioctl::slice(p, len))
    }

    /// Exports the buffer as a dma-buf file descriptor that importers may read and write.
    pub fn export(&self) -> Result<OwnedFd> {
        self.export_with(libc::O_CLOEXEC | libc::O_RDWR)
    }

    /// Exports the buffer as a read-only dma-buf: importers may not write it.
    pub fn export_readonly(&self) -> Result<OwnedFd> {
        self.export_with(libc::O_CLOEXEC)
    }

    fn export_with(&self, flags: i32) -> Result<OwnedFd> {
        let mut p = uapi::drm_prime_handle {
            handle: self.handle,
            flags: flags as u32,
            ..Default::default()
        };
        ioctl(
            self.dev.fd(),
            "DRM_IOCTL_PRIME_HANDLE_TO_FD",
            uapi::DRM_IOCTL_PRIME_HANDLE_TO_FD,
            &mut p,
        )?;
        crate::ioctl::owned_fd(p.fd)
    }
}

impl Drop for Buffer<'_> {
    fn drop(&mut self) {
        if let Some((p, len)) = self.map.take() {
            munmap(p, len);
        }
        let mut c = uapi::drm_gem_close {
            handle: self.handle,
            ..Default::default()
        };
        let _ = ioctl(
            self.dev.fd(),
            "DRM_IOCTL_GEM_CLOSE",
            uapi::DRM_IOCTL_GEM_CLOSE,
            &mut c,
        );
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Exporters of dma-bufs besides TERN, for the sharing tests: vgem (a software DRM device
//! whose fence ioctls make fences the test signals), memfds for udmabuf, and the second TERN
//! device of the VM.
//!
//! vgem's interface has no header in the uAPI crate: its structs are declared here as
//! `include/uapi/drm/vgem_drm.h` and `drm_mode.h` define them.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tern_uapi::{self as uapi, DRM_COMMAND_BASE, DRM_IOCTL_BASE, ioc};

/// `struct drm_mode_create_dumb`.
#[repr(C)]
#[derive(Default)]
struct CreateDumb {
    height: u32,
    width: u32,
    bpp: u32,
    flags: u32,
    handle: u32,
    pitch: u32,
    size: u64,
}

/// `struct drm_mode_map_dumb`.
#[repr(C)]
#[derive(Default)]
struct MapDumb {
    handle: u32,
    pad: u32,
    offset: u64,
}

/// `struct drm_vgem_fence_attach`.
#[repr(C)]
#[derive(Default)]
struct FenceAttach {
    handle: u32,
    flags: u32,
    out_fence: u32,
    pad: u32,
}

/// `struct drm_vgem_fence_signal`.
#[repr(C)]
#[derive(Default)]
struct FenceSignal {
    fence: u32,
    flags: u32,
}

const CREATE_DUMB: u64 = ioc(3, DRM_IOCTL_BASE, 0xb2, size_of::<CreateDumb>());
const MAP_DUMB: u64 = ioc(3, DRM_IOCTL_BASE, 0xb3, size_of::<MapDumb>());
const VGEM_FENCE_ATTACH: u64 = ioc(
    3,
    DRM_IOCTL_BASE,
    DRM_COMMAND_BASE + 1,
    size_of::<FenceAttach>(),
);
const VGEM_FENCE_SIGNAL: u64 = ioc(
    1,
    DRM_IOCTL_BASE,
    DRM_COMMAND_BASE + 2,
    size_of::<FenceSignal>(),
);
/// `VGEM_FENCE_WRITE`: an exclusive (write) fence.
const VGEM_FENCE_WRITE: u32 = 1;

fn call<T>(f: &impl AsRawFd, what: &str, req: u64, arg: &mut T) -> Result<(), String> {
    // SAFETY: `arg` is a valid exclusive `T` and `req` encodes `size_of::<T>()`.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), req as _, arg as *mut T) };
    if r == 0 {
        Ok(())
    } else {
        Err(format!("{what}: {}", std::io::Error::last_os_error()))
    }
}

/// The vgem device.
pub struct Vgem {
    file: File,
}

/// A vgem buffer: its handle in the vgem file and its size.
pub struct VgemBo {
    pub handle: u32,
    pub size: u64,
}

impl Vgem {
    /// Opens the DRM card node whose driver is vgem.
    pub fn open() -> Result<Vgem, String> {
        let dir = std::fs::read_dir("/dev/dri").map_err(|e| format!("/dev/dri: {e}"))?;
        for e in dir.flatten() {
            if !e.file_name().to_string_lossy().starts_with("card") {
                continue;
            }
            let Ok(file) = OpenOptions::new().read(true).write(true).open(e.path()) else {
                continue;
            };
            let mut name = [0u8; 32];
            let mut v = uapi::drm_version {
                name_len: name.len() as u64,
                name: name.as_mut_ptr().cast(),
                ..Default::default()
            };
            if call(&file, "DRM_IOCTL_VERSION", uapi::DRM_IOCTL_VERSION, &mut v).is_ok()
                && name.starts_with(b"vgem")
            {
                return Ok(Vgem { file });
            }
        }
        Err("no vgem card under /dev/dri (CONFIG_DRM_VGEM)".into())
    }

    /// Creates a buffer of `size` bytes (a multiple of 4 KiB): a dumb buffer of 4 KiB rows.
    pub fn create(&self, size: u64) -> Result<VgemBo, String> {
        let mut c = CreateDumb {
            height: (size / 4096) as u32,
            width: 1024,
            bpp: 32,
            ..Default::default()
        };
        call(
            &self.file,
            "DRM_IOCTL_MODE_CREATE_DUMB",
            CREATE_DUMB,
            &mut c,
        )?;
        Ok(VgemBo {
            handle: c.handle,
            size: c.size,
        })
    }

    /// Maps a buffer for the CPU; the returned slice stays valid until the process exits
    /// (the tests are short-lived processes; the mapping is not torn down).
    pub fn map(&self, bo: &VgemBo) -> Result<&'static mut [u8], String> {
        let mut m = MapDumb {
            handle: bo.handle,
            ..Default::default()
        };
        call(&self.file, "DRM_IOCTL_MODE_MAP_DUMB", MAP_DUMB, &mut m)?;
        // SAFETY: a fresh shared mapping of the buffer, chosen by the kernel.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bo.size as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.file.as_raw_fd(),
                m.offset as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!("mmap vgem: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: `p` maps `size` bytes and is never unmapped (see above).
        Ok(unsafe { std::slice::from_raw_parts_mut(p.cast(), bo.size as usize) })
    }

    /// Exports a buffer as a read-write dma-buf.
    pub fn export(&self, bo: &VgemBo) -> Result<OwnedFd, String> {
        let mut p = uapi::drm_prime_handle {
            handle: bo.handle,
            flags: (libc::O_RDWR | libc::O_CLOEXEC) as u32,
            ..Default::default()
        };
        call(
            &self.file,
            "DRM_IOCTL_PRIME_HANDLE_TO_FD",
            uapi::DRM_IOCTL_PRIME_HANDLE_TO_FD,
            &mut p,
        )?;
        // SAFETY: the kernel just created the fd for this process.
        Ok(unsafe { OwnedFd::from_raw_fd(p.fd) })
    }

    /// Adds an unsignalled write fence to the buffer's reservation object (it signals when
    /// [`Vgem::signal`] is called, or with `-ETIMEDOUT` after 10 s); returns its id.
    pub fn attach_write_fence(&self, bo: &VgemBo) -> Result<u32, String> {
        let mut a = FenceAttach {
            handle: bo.handle,
            flags: VGEM_FENCE_WRITE,
            ..Default::default()
        };
        call(
            &self.file,
            "DRM_IOCTL_VGEM_FENCE_ATTACH",
            VGEM_FENCE_ATTACH,
            &mut a,
        )?;
        Ok(a.out_fence)
    }

    /// Signals a fence made by [`Vgem::attach_write_fence`].
    pub fn signal(&self, fence: u32) -> Result<(), String> {
        let mut s = FenceSignal { fence, flags: 0 };
        call(
            &self.file,
            "DRM_IOCTL_VGEM_FENCE_SIGNAL",
            VGEM_FENCE_SIGNAL,
            &mut s,
        )
    }
}

/// A memfd of `size` bytes holding `data` at its start, sealed against shrinking (what
/// udmabuf requires).
pub fn memfd(size: u64, data: &[u8]) -> Result<OwnedFd, String> {
    let fd = tern::DmaBuf::sealed_memfd(size).map_err(|e| e.to_string())?;
    let file = File::from(fd.try_clone().map_err(|e| e.to_string())?);
    std::os::unix::fs::FileExt::write_all_at(&file, data, 0).map_err(|e| e.to_string())?;
    Ok(fd)
}

/// Reads `n` bytes at the start of a memfd.
pub fn memfd_read(fd: &OwnedFd, n: usize) -> Result<Vec<u8>, String> {
    let file = File::from(fd.try_clone().map_err(|e| e.to_string())?);
    let mut out = vec![0; n];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut out, 0).map_err(|e| e.to_string())?;
    Ok(out)
}

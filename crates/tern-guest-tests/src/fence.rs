// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fences the test controls and sync_file inspection.
//!
//! `sw_sync` (debugfs, `CONFIG_SW_SYNC`) is the kernel's software fence timeline for tests: each
//! open of `/sys/kernel/debug/sync/sw_sync` is a timeline, a fence at value N signals when the
//! timeline reaches N, and closing the timeline signals its pending fences with `-ENOENT`. Its
//! interface has no uAPI header (it lives in `drivers/dma-buf/sw_sync.c`), so its structs are
//! declared here as that file defines them; `sync_file_info` is `linux/sync_file.h`'s.

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use tern_uapi::ioc;

const SW_SYNC: &str = "/sys/kernel/debug/sync/sw_sync";

/// `struct sw_sync_create_fence_data`.
#[repr(C)]
struct CreateFence {
    value: u32,
    name: [u8; 32],
    fence: i32,
}

/// `struct sync_file_info`.
#[repr(C)]
#[derive(Default)]
struct SyncFileInfo {
    name: [u8; 32],
    status: i32,
    flags: u32,
    num_fences: u32,
    pad: u32,
    sync_fence_info: u64,
}

const SW_SYNC_IOC_CREATE_FENCE: u64 = ioc(3, b'W', 0, size_of::<CreateFence>());
const SW_SYNC_IOC_INC: u64 = ioc(1, b'W', 1, size_of::<u32>());
const SYNC_IOC_FILE_INFO: u64 = ioc(3, b'>', 4, size_of::<SyncFileInfo>());

fn ioctl<T>(fd: &impl AsRawFd, req: u64, arg: &mut T) -> Result<(), String> {
    // SAFETY: `arg` is a valid exclusive `T` and `req` encodes `size_of::<T>()`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg as *mut T) };
    if r == 0 {
        Ok(())
    } else {
        Err(format!(
            "ioctl {req:#x}: {}",
            std::io::Error::last_os_error()
        ))
    }
}

/// A software fence timeline; closing it signals its pending fences with `-ENOENT`.
pub struct Timeline {
    file: std::fs::File,
}

impl Timeline {
    /// Opens a new timeline at value 0.
    pub fn open() -> Result<Timeline, String> {
        if !std::path::Path::new(SW_SYNC).exists() {
            let _ = std::process::Command::new("mount")
                .args(["-t", "debugfs", "none", "/sys/kernel/debug"])
                .status();
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(SW_SYNC)
            .map_err(|e| format!("{SW_SYNC}: {e} (is CONFIG_SW_SYNC set?)"))?;
        Ok(Timeline { file })
    }

    /// A sync_file whose fence signals when the timeline reaches `value`.
    pub fn fence(&self, value: u32) -> Result<OwnedFd, String> {
        let mut a = CreateFence {
            value,
            name: [0; 32],
            fence: -1,
        };
        a.name[..4].copy_from_slice(b"test");
        ioctl(&self.file, SW_SYNC_IOC_CREATE_FENCE, &mut a)?;
        // SAFETY: the ioctl returned a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(a.fence) })
    }

    /// Advances the timeline by `n`.
    pub fn inc(&self, n: u32) -> Result<(), String> {
        let mut n = n;
        ioctl(&self.file, SW_SYNC_IOC_INC, &mut n)
    }
}

/// The status of a sync_file's fence: 0 pending, 1 signalled, or the negative errno it was
/// signalled with.
pub fn status(fd: &OwnedFd) -> Result<i32, String> {
    let mut info = SyncFileInfo::default();
    ioctl(fd, SYNC_IOC_FILE_INFO, &mut info)?;
    Ok(info.status)
}

/// Whether `poll()` reports the sync_file signalled within `timeout`.
pub fn poll_ready(fd: &OwnedFd, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    r == 1 && p.revents & libc::POLLIN != 0
}

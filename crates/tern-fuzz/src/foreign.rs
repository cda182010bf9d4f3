// SPDX-License-Identifier: MIT OR Apache-2.0
//! dma-bufs of other exporters for the PRIME operation to import: the system dma-heap, udmabuf
//! over a memfd, and the VM's second TERN device (`/dev/accel/accel1`) when it has one. Their
//! ioctls are not the driver's, so they go straight to the kernel (through the tern library for
//! the heap and udmabuf), uncounted and unjudged.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use tern_uapi as uapi;

use crate::ctx::Ctx;
use crate::{drm, sys};

fn open(path: &str) -> Option<File> {
    OpenOptions::new().read(true).write(true).open(path).ok()
}

fn owned(fd: i32) -> Option<OwnedFd> {
    // SAFETY: the kernel just created `fd` for this process; nothing else owns it.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A dma-buf of `size` bytes (a multiple of 4 KiB) from a random exporter other than the
/// fuzzed device, if that exporter exists in the VM.
pub fn dmabuf(ctx: &mut Ctx<'_>, size: u64) -> Option<OwnedFd> {
    match ctx.rng.below(3) {
        0 => heap(size),
        1 => udmabuf(size),
        _ => other_device(size),
    }
}

fn heap(size: u64) -> Option<OwnedFd> {
    tern::DmaBuf::alloc_heap("system", size)
        .ok()
        .map(tern::DmaBuf::into_fd)
}

fn udmabuf(size: u64) -> Option<OwnedFd> {
    let memfd = tern::DmaBuf::sealed_memfd(size).ok()?;
    tern::DmaBuf::from_memfd(memfd.as_fd(), 0, size)
        .ok()
        .map(tern::DmaBuf::into_fd)
}

fn other_device(size: u64) -> Option<OwnedFd> {
    static OTHER: OnceLock<Option<File>> = OnceLock::new();
    let dev = OTHER.get_or_init(|| open("/dev/accel/accel1")).as_ref()?;
    let mut c = uapi::drm_tern_bo_create {
        size,
        ..Default::default()
    };
    (sys::ioctl(dev.as_raw_fd(), drm::BO_CREATE, &raw mut c as usize) == 0).then_some(())?;
    let mut p = uapi::drm_prime_handle {
        handle: c.handle,
        flags: drm::DRM_CLOEXEC | drm::DRM_RDWR,
        fd: -1,
    };
    let e = sys::ioctl(
        dev.as_raw_fd(),
        drm::PRIME_HANDLE_TO_FD,
        &raw mut p as usize,
    );
    // The dma-buf keeps the buffer; the handle is not needed.
    let mut close = uapi::drm_gem_close {
        handle: c.handle,
        ..Default::default()
    };
    sys::ioctl(dev.as_raw_fd(), drm::GEM_CLOSE, &raw mut close as usize);
    (e == 0).then_some(())?;
    owned(p.fd)
}

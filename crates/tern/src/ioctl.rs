// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ioctl layer: the only place in the library with `unsafe`.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::error::{Error, Result};

/// Issues `request` on `fd` with `arg`, retrying on EINTR/EAGAIN as libdrm does.
///
/// `T` must be the struct the ioctl number was built from (the uAPI crate derives both from
/// the same header), so the kernel reads and writes exactly `size_of::<T>()` bytes of `arg`.
pub(crate) fn ioctl<T>(
    fd: BorrowedFd<'_>,
    name: &'static str,
    request: u64,
    arg: &mut T,
) -> Result<()> {
    loop {
        // SAFETY: `arg` is a valid, exclusively borrowed `T` for the whole call, and `request`
        // encodes `size_of::<T>()`, so the kernel stays inside it. Pointers inside `T` (if
        // any) are set by the caller to buffers that outlive this call.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg as *mut T) };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) | Some(libc::EAGAIN) => continue,
            _ => {
                return Err(Error::Ioctl {
                    ioctl: name,
                    source: e,
                });
            }
        }
    }
}

/// Maps `len` bytes of the device file at `offset`, shared and read-write.
pub(crate) fn mmap_shared(fd: BorrowedFd<'_>, len: usize, offset: u64) -> Result<usize> {
    // SAFETY: a fresh mapping chosen by the kernel; nothing else is at the returned address.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            offset as libc::off_t,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(Error::Ioctl {
            ioctl: "mmap",
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(p as usize)
}

/// Unmaps what [`mmap_shared`] mapped.
pub(crate) fn munmap(p: usize, len: usize) {
    // SAFETY: `p`/`len` come from `mmap_shared` and are unmapped once, by the owner.
    unsafe { libc::munmap(p as *mut libc::c_void, len) };
}

/// The bytes of a mapping made by [`mmap_shared`].
pub(crate) fn slice<'a>(p: usize, len: usize) -> &'a mut [u8] {
    if len == 0 {
        return &mut [];
    }
    // SAFETY: `p` is a live shared mapping of `len` bytes owned by a `Buffer`; the returned
    // borrow is tied by the caller to `&mut Buffer`, so it cannot outlive the mapping or alias
    // another Rust borrow of it.
    unsafe { std::slice::from_raw_parts_mut(p as *mut u8, len) }
}

/// Takes ownership of a descriptor the kernel returned.
pub(crate) fn owned_fd(fd: i32) -> Result<std::os::fd::OwnedFd> {
    if fd < 0 {
        return Err(Error::Invalid("the kernel returned no file descriptor"));
    }
    // SAFETY: the kernel just created `fd` for this process and nobody else owns it.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// Nanoseconds of `CLOCK_MONOTONIC` now.
pub(crate) fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, exclusively borrowed timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec)
}

/// The size of the file behind `fd`, as `lseek(fd, 0, SEEK_END)` reports it (a dma-buf's size).
pub(crate) fn seek_end(fd: BorrowedFd<'_>) -> Result<u64> {
    // SAFETY: lseek on a borrowed descriptor reads no memory of ours.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), 0, libc::SEEK_END) };
    u64::try_from(r).map_err(|_| Error::Ioctl {
        ioctl: "lseek",
        source: std::io::Error::last_os_error(),
    })
}

/// Issues `request` on `fd` with `arg` once and returns the ioctl's non-negative result (a
/// new file descriptor for the ioctls that create one).
pub(crate) fn ioctl_ret<T>(
    fd: BorrowedFd<'_>,
    name: &'static str,
    request: u64,
    arg: &mut T,
) -> Result<i32> {
    // SAFETY: as for `ioctl`: `arg` is a valid, exclusively borrowed `T` and `request` encodes
    // `size_of::<T>()`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg as *mut T) };
    if r < 0 {
        return Err(Error::Ioctl {
            ioctl: name,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(r)
}

/// A new memfd of `size` bytes, sealed against shrinking (what udmabuf requires of its pages).
pub(crate) fn sealed_memfd(size: u64) -> Result<std::os::fd::OwnedFd> {
    let err = |what| Error::Ioctl {
        ioctl: what,
        source: std::io::Error::last_os_error(),
    };
    // SAFETY: a NUL-terminated name and valid flags.
    let fd = unsafe { libc::memfd_create(c"tern".as_ptr(), libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(err("memfd_create"));
    }
    let fd = owned_fd(fd)?;
    // SAFETY: ftruncate and fcntl on a descriptor this function owns.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) } < 0 {
        return Err(err("ftruncate"));
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_SHRINK) } < 0 {
        return Err(err("F_ADD_SEALS"));
    }
    Ok(fd)
}

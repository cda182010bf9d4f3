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

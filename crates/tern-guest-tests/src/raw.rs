// SPDX-License-Identifier: MIT OR Apache-2.0
//! Raw ioctls with arbitrary argument values, to check the driver's answer to bad input.

use std::os::fd::{AsFd, AsRawFd};

/// Issues `req` with `arg` on `dev`; returns the errno, or 0 on success.
pub fn ioctl<T>(dev: &impl AsFd, req: u64, arg: &mut T) -> i32 {
    // SAFETY: `arg` is a valid exclusive `T`, and every request used with this helper is
    // built from `size_of::<T>()` by tern-uapi, so the kernel stays inside `arg`.
    let r = unsafe { libc::ioctl(dev.as_fd().as_raw_fd(), req as _, arg as *mut T) };
    if r == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
    }
}

/// Name of an errno for messages.
pub fn errno_name(e: i32) -> String {
    let known = [
        (0, "success"),
        (libc::EINVAL, "EINVAL"),
        (libc::ENOENT, "ENOENT"),
        (libc::EFAULT, "EFAULT"),
        (libc::EEXIST, "EEXIST"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EBUSY, "EBUSY"),
        (libc::ETIME, "ETIME"),
        (libc::ENODEV, "ENODEV"),
        (libc::ENOTTY, "ENOTTY"),
        (libc::E2BIG, "E2BIG"),
    ];
    known
        .iter()
        .find(|(n, _)| *n == e)
        .map_or_else(|| format!("errno {e}"), |(_, s)| s.to_string())
}

/// Fails unless `got` is `want`.
pub fn expect_errno(what: &str, got: i32, want: i32) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {}, want {}",
            errno_name(got),
            errno_name(want)
        ))
    }
}

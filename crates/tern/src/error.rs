// SPDX-License-Identifier: MIT OR Apache-2.0
//! The library's error type: every error names its cause, and the fix where there is one.

use std::path::PathBuf;

/// Errors from TERN devices.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No TERN device was found.
    #[error(
        "no TERN device found under /sys/class/accel: is the tern module loaded \
         (`modprobe tern`) and the device present (`lspci -d 1234:7e50`)?"
    )]
    NoDevice,
    /// Opening the device node failed.
    #[error("cannot open {path}: {source}{hint}")]
    Open {
        /// The device node.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
        /// A hint at the fix.
        hint: &'static str,
    },
    /// The node is a DRM device of another driver.
    #[error("{path} is a '{driver}' device, not a TERN accelerator")]
    NotTern {
        /// The device node.
        path: PathBuf,
        /// The driver that owns it.
        driver: String,
    },
    /// An argument the library refuses before asking the kernel.
    #[error("invalid argument: {0}")]
    Invalid(&'static str),
    /// A job did not finish within the wait's timeout.
    #[error("job {seqno} on queue {queue} did not finish within the timeout")]
    Timeout {
        /// Queue.
        queue: u32,
        /// Sequence number.
        seqno: u64,
    },
    /// An ioctl failed.
    #[error("{ioctl} failed: {source}{}", ioctl_hint(ioctl, source))]
    Ioctl {
        /// Name of the ioctl.
        ioctl: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

fn ioctl_hint(ioctl: &str, e: &std::io::Error) -> &'static str {
    match (ioctl, e.raw_os_error()) {
        (_, Some(libc::ENOTTY)) => " (not a TERN device node, or the driver is too old)",
        ("DRM_IOCTL_TERN_BO_CREATE", Some(libc::ENOMEM)) => {
            " (out of memory: free buffers or ask for less)"
        }
        ("DRM_IOCTL_TERN_BO_CREATE", Some(libc::ENOSPC)) => " (device address space full)",
        ("DRM_IOCTL_TERN_BO_CREATE", Some(libc::EEXIST)) => {
            " (the fixed VA overlaps another buffer)"
        }
        ("DRM_IOCTL_TERN_SUBMIT", Some(libc::ENOENT)) => " (a buffer handle does not exist)",
        ("DRM_IOCTL_TERN_SUBMIT", Some(libc::EBUSY)) => {
            " (the queue is full: wait for a job first)"
        }
        (_, Some(libc::ENODEV)) => " (the device is gone or being reset)",
        (_, Some(libc::EIO)) => " (the device failed: see dmesg)",
        _ => "",
    }
}

impl Error {
    /// The errno behind this error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Open { source, .. } | Error::Ioctl { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    pub(crate) fn open(path: PathBuf, source: std::io::Error) -> Self {
        let hint = match source.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) => {
                " (add yourself to the group owning the node, or run as root)"
            }
            Some(libc::ENOENT) => " (is the tern module loaded?)",
            _ => "",
        };
        Error::Open { path, source, hint }
    }

    /// Opening a node that is not a TERN device (a dma-heap, udmabuf) failed.
    pub(crate) fn open_other(path: PathBuf, source: std::io::Error) -> Self {
        Error::Open {
            path,
            source,
            hint: "",
        }
    }
}

/// Result with the library's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

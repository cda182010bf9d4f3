// SPDX-License-Identifier: MIT OR Apache-2.0
//! Ioctl numbers: the driver's own and the core DRM ones an accel node accepts, with the
//! direction and size each was defined with, for the raw ioctl fuzzer.

pub use tern_uapi::{DRM_COMMAND_BASE, DRM_IOCTL_BASE, ioc};

/// `_IOC_NONE`, `_IOC_WRITE`, `_IOC_READ`, both.
pub const IOC_NONE: u32 = 0;
pub const IOC_W: u32 = 1;
pub const IOC_R: u32 = 2;
pub const IOC_RW: u32 = 3;

/// Driver ioctl numbers (`DRM_COMMAND_BASE` + this).
pub const NR_QUERY: u8 = tern_uapi::DRM_TERN_QUERY as u8;
pub const NR_BO_CREATE: u8 = tern_uapi::DRM_TERN_BO_CREATE as u8;
pub const NR_BO_INFO: u8 = tern_uapi::DRM_TERN_BO_INFO as u8;
pub const NR_SUBMIT: u8 = tern_uapi::DRM_TERN_SUBMIT as u8;
pub const NR_WAIT: u8 = tern_uapi::DRM_TERN_WAIT as u8;
pub const NR_SET_PRIORITY: u8 = tern_uapi::DRM_TERN_SET_PRIORITY as u8;
pub const NR_SUBMIT_BATCH: u8 = tern_uapi::DRM_TERN_SUBMIT_BATCH as u8;

/// Core DRM ioctl numbers with pointers or descriptors the fuzzer must handle.
pub const NR_VERSION: u8 = 0x00;
pub const NR_GET_UNIQUE: u8 = 0x01;
pub const NR_GEM_CLOSE: u8 = 0x09;
pub const NR_SET_UNIQUE: u8 = 0x10;
pub const NR_PRIME_HANDLE_TO_FD: u8 = 0x2d;
pub const NR_PRIME_FD_TO_HANDLE: u8 = 0x2e;
pub const NR_MODE_GETRESOURCES: u8 = 0xa0;

/// One ioctl as it is defined.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// Name for notes.
    pub name: &'static str,
    /// Number (the `_IOC_NR` byte).
    pub nr: u8,
    /// Direction it is defined with.
    pub dir: u32,
    /// Argument size it is defined with.
    pub size: usize,
}

const fn def(name: &'static str, nr: u8, dir: u32, size: usize) -> Def {
    Def {
        name,
        nr,
        dir,
        size,
    }
}

/// The driver's ioctls.
pub const DRIVER: &[Def] = &[
    def("TERN_QUERY", DRM_COMMAND_BASE + NR_QUERY, IOC_RW, 72),
    def(
        "TERN_BO_CREATE",
        DRM_COMMAND_BASE + NR_BO_CREATE,
        IOC_RW,
        24,
    ),
    def("TERN_BO_INFO", DRM_COMMAND_BASE + NR_BO_INFO, IOC_RW, 32),
    def("TERN_SUBMIT", DRM_COMMAND_BASE + NR_SUBMIT, IOC_RW, 80),
    def("TERN_WAIT", DRM_COMMAND_BASE + NR_WAIT, IOC_RW, 48),
    def(
        "TERN_SET_PRIORITY",
        DRM_COMMAND_BASE + NR_SET_PRIORITY,
        IOC_RW,
        8,
    ),
];

/// Core DRM ioctls reachable on an accel node (most answer EINVAL/EOPNOTSUPP/EACCES).
/// Only ioctls that write through pointers the fuzzer sanitizes, or that have none, are
/// listed; mode-setting is represented by one call with a zeroed payload.
pub const CORE: &[Def] = &[
    def("VERSION", NR_VERSION, IOC_RW, 64),
    def("GET_UNIQUE", NR_GET_UNIQUE, IOC_RW, 16),
    def("GET_MAGIC", 0x02, IOC_R, 4),
    def("IRQ_BUSID", 0x03, IOC_RW, 16),
    def("GET_CLIENT", 0x05, IOC_RW, 40),
    def("GET_STATS", 0x06, IOC_R, 248),
    def("SET_VERSION", 0x07, IOC_RW, 16),
    def("MODESET_CTL", 0x08, IOC_W, 8),
    def("GEM_CLOSE", NR_GEM_CLOSE, IOC_W, 8),
    def("GEM_FLINK", 0x0a, IOC_RW, 8),
    def("GEM_OPEN", 0x0b, IOC_RW, 16),
    def("GET_CAP", 0x0c, IOC_RW, 16),
    def("SET_CLIENT_CAP", 0x0d, IOC_W, 16),
    def("SET_UNIQUE", NR_SET_UNIQUE, IOC_W, 16),
    def("AUTH_MAGIC", 0x11, IOC_W, 4),
    def("SET_MASTER", 0x1e, IOC_NONE, 0),
    def("DROP_MASTER", 0x1f, IOC_NONE, 0),
    def("PRIME_HANDLE_TO_FD", NR_PRIME_HANDLE_TO_FD, IOC_RW, 12),
    def("PRIME_FD_TO_HANDLE", NR_PRIME_FD_TO_HANDLE, IOC_RW, 12),
    def("MODE_GETRESOURCES", NR_MODE_GETRESOURCES, IOC_RW, 64),
    def("SYNCOBJ_CREATE", 0xbf, IOC_RW, 8),
    def("SYNCOBJ_DESTROY", 0xc0, IOC_RW, 8),
    def("GEM_CHANGE_HANDLE", 0xd2, IOC_RW, 8),
];

/// The request number for `nr` with direction `dir` and size `size` (masked to 14 bits).
pub fn request(dir: u32, nr: u8, size: usize) -> u64 {
    ioc(dir, DRM_IOCTL_BASE, nr, size & 0x3fff)
}

/// The requests the structured operations issue (as the uAPI defines them).
pub const GEM_CLOSE: u64 = tern_uapi::DRM_IOCTL_GEM_CLOSE;
pub const PRIME_HANDLE_TO_FD: u64 = tern_uapi::DRM_IOCTL_PRIME_HANDLE_TO_FD;
pub const PRIME_FD_TO_HANDLE: u64 = tern_uapi::DRM_IOCTL_PRIME_FD_TO_HANDLE;
pub const QUERY: u64 = tern_uapi::DRM_IOCTL_TERN_QUERY;
pub const BO_CREATE: u64 = tern_uapi::DRM_IOCTL_TERN_BO_CREATE;
pub const BO_INFO: u64 = tern_uapi::DRM_IOCTL_TERN_BO_INFO;
pub const SUBMIT: u64 = tern_uapi::DRM_IOCTL_TERN_SUBMIT;
pub const WAIT: u64 = tern_uapi::DRM_IOCTL_TERN_WAIT;
pub const SET_PRIORITY: u64 = tern_uapi::DRM_IOCTL_TERN_SET_PRIORITY;
pub const SUBMIT_BATCH: u64 = tern_uapi::DRM_IOCTL_TERN_SUBMIT_BATCH;

/// `DRM_CLOEXEC` and `DRM_RDWR` for PRIME export.
pub const DRM_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
pub const DRM_RDWR: u32 = libc::O_RDWR as u32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_uapi() {
        for d in DRIVER {
            let r = request(d.dir, d.nr, d.size);
            assert!(
                [
                    QUERY,
                    BO_CREATE,
                    BO_INFO,
                    SUBMIT,
                    WAIT,
                    SET_PRIORITY,
                    SUBMIT_BATCH
                ]
                .contains(&r),
                "{}",
                d.name
            );
        }
        assert_eq!(request(IOC_W, NR_GEM_CLOSE, 8), GEM_CLOSE);
        assert_eq!(
            request(IOC_RW, NR_PRIME_HANDLE_TO_FD, 12),
            PRIME_HANDLE_TO_FD
        );
        assert_eq!(
            request(IOC_RW, NR_PRIME_FD_TO_HANDLE, 12),
            PRIME_FD_TO_HANDLE
        );
        assert_eq!(
            request(IOC_RW, NR_VERSION, 64),
            tern_uapi::DRM_IOCTL_VERSION
        );
    }
}

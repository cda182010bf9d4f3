// SPDX-License-Identifier: MIT OR Apache-2.0
//! The TERN uAPI, generated from `uapi/drm/tern_accel.h` (and the DRM core structs it uses).
//!
//! Structs come from bindgen, never written by hand; ioctl request numbers are computed with
//! the kernel's `_IOC` encoding because bindgen does not expand function-like macros.
#![no_std]
#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    missing_docs
)]
#![allow(clippy::all)]

/// The bindgen output, as generated (its layout checks use `unsafe` without comments).
#[allow(clippy::undocumented_unsafe_blocks)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}
pub use generated::*;

/// The kernel's `_IOC` encoding on x86 and arm64.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u64 {
    ((dir as u64) << 30) | ((size as u64 & 0x3fff) << 16) | ((ty as u64) << 8) | nr as u64
}
/// `_IOC_READ | _IOC_WRITE`.
pub const IOC_RW: u32 = 3;
/// The DRM ioctl type byte.
pub const DRM_IOCTL_BASE: u8 = b'd';
/// First driver-specific DRM ioctl number.
pub const DRM_COMMAND_BASE: u8 = 0x40;

/// `DRM_IOWR(nr, T)`.
pub const fn drm_iowr<T>(nr: u8) -> u64 {
    ioc(IOC_RW, DRM_IOCTL_BASE, nr, core::mem::size_of::<T>())
}

/// `DRM_IOCTL_VERSION`.
pub const DRM_IOCTL_VERSION: u64 = drm_iowr::<drm_version>(0x00);
/// `DRM_IOCTL_GEM_CLOSE`.
pub const DRM_IOCTL_GEM_CLOSE: u64 = ioc(
    1,
    DRM_IOCTL_BASE,
    0x09,
    core::mem::size_of::<drm_gem_close>(),
);
/// `DRM_IOCTL_GEM_FLINK`.
pub const DRM_IOCTL_GEM_FLINK: u64 = drm_iowr::<drm_gem_flink>(0x0a);
/// `DRM_IOCTL_GEM_OPEN`.
pub const DRM_IOCTL_GEM_OPEN: u64 = drm_iowr::<drm_gem_open>(0x0b);
/// `DRM_IOCTL_PRIME_HANDLE_TO_FD`.
pub const DRM_IOCTL_PRIME_HANDLE_TO_FD: u64 = drm_iowr::<drm_prime_handle>(0x2d);
/// `DRM_IOCTL_PRIME_FD_TO_HANDLE`.
pub const DRM_IOCTL_PRIME_FD_TO_HANDLE: u64 = drm_iowr::<drm_prime_handle>(0x2e);
/// `DRM_IOCTL_GET_CAP`.
pub const DRM_IOCTL_GET_CAP: u64 = drm_iowr::<drm_get_cap>(0x0c);
/// `DRM_IOCTL_SYNCOBJ_CREATE`.
pub const DRM_IOCTL_SYNCOBJ_CREATE: u64 = drm_iowr::<drm_syncobj_create>(0xbf);
/// `DRM_IOCTL_SYNCOBJ_DESTROY`.
pub const DRM_IOCTL_SYNCOBJ_DESTROY: u64 = drm_iowr::<drm_syncobj_destroy>(0xc0);
/// `DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD`.
pub const DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD: u64 = drm_iowr::<drm_syncobj_handle>(0xc1);
/// `DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE`.
pub const DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE: u64 = drm_iowr::<drm_syncobj_handle>(0xc2);
/// `DRM_IOCTL_SYNCOBJ_WAIT`.
pub const DRM_IOCTL_SYNCOBJ_WAIT: u64 = drm_iowr::<drm_syncobj_wait>(0xc3);
/// `DRM_IOCTL_SYNCOBJ_RESET`.
pub const DRM_IOCTL_SYNCOBJ_RESET: u64 = drm_iowr::<drm_syncobj_array>(0xc4);
/// `DRM_IOCTL_SYNCOBJ_SIGNAL`.
pub const DRM_IOCTL_SYNCOBJ_SIGNAL: u64 = drm_iowr::<drm_syncobj_array>(0xc5);
/// `DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT`.
pub const DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT: u64 = drm_iowr::<drm_syncobj_timeline_wait>(0xca);
/// `DRM_IOCTL_SYNCOBJ_QUERY`.
pub const DRM_IOCTL_SYNCOBJ_QUERY: u64 = drm_iowr::<drm_syncobj_timeline_array>(0xcb);
/// `DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL`.
pub const DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL: u64 = drm_iowr::<drm_syncobj_timeline_array>(0xcd);

/// `DRM_IOCTL_TERN_QUERY`.
pub const DRM_IOCTL_TERN_QUERY: u64 =
    drm_iowr::<drm_tern_query>(DRM_COMMAND_BASE + DRM_TERN_QUERY as u8);
/// `DRM_IOCTL_TERN_BO_CREATE`.
pub const DRM_IOCTL_TERN_BO_CREATE: u64 =
    drm_iowr::<drm_tern_bo_create>(DRM_COMMAND_BASE + DRM_TERN_BO_CREATE as u8);
/// `DRM_IOCTL_TERN_BO_INFO`.
pub const DRM_IOCTL_TERN_BO_INFO: u64 =
    drm_iowr::<drm_tern_bo_info>(DRM_COMMAND_BASE + DRM_TERN_BO_INFO as u8);
/// `DRM_IOCTL_TERN_SUBMIT`.
pub const DRM_IOCTL_TERN_SUBMIT: u64 =
    drm_iowr::<drm_tern_submit>(DRM_COMMAND_BASE + DRM_TERN_SUBMIT as u8);
/// `DRM_IOCTL_TERN_WAIT`.
pub const DRM_IOCTL_TERN_WAIT: u64 =
    drm_iowr::<drm_tern_wait>(DRM_COMMAND_BASE + DRM_TERN_WAIT as u8);
/// `DRM_IOCTL_TERN_SET_PRIORITY`.
pub const DRM_IOCTL_TERN_SET_PRIORITY: u64 =
    drm_iowr::<drm_tern_set_priority>(DRM_COMMAND_BASE + DRM_TERN_SET_PRIORITY as u8);
/// `DRM_IOCTL_TERN_SUBMIT_BATCH`.
pub const DRM_IOCTL_TERN_SUBMIT_BATCH: u64 =
    drm_iowr::<drm_tern_submit_batch>(DRM_COMMAND_BASE + DRM_TERN_SUBMIT_BATCH as u8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drm_version_number_matches_the_kernel() {
        // DRM_IOCTL_VERSION on 64-bit Linux, as libdrm's xf86drm uses it.
        assert_eq!(DRM_IOCTL_VERSION, 0xc040_6400);
    }

    #[test]
    fn struct_sizes_are_padded_to_8() {
        use core::mem::size_of;
        assert_eq!(size_of::<drm_tern_query>(), 72);
        assert_eq!(size_of::<drm_tern_bo_create>(), 24);
        assert_eq!(size_of::<drm_tern_bo_info>(), 32);
        assert_eq!(size_of::<drm_tern_submit>(), 80);
        assert_eq!(size_of::<drm_tern_bo_ref>(), 8);
        assert_eq!(size_of::<drm_tern_sync>(), 16);
        assert_eq!(size_of::<drm_tern_wait>(), 48);
        assert_eq!(DRM_IOCTL_TERN_QUERY, 0xc048_6440);
        assert_eq!(DRM_IOCTL_TERN_WAIT, 0xc030_6444);
        assert_eq!(size_of::<drm_tern_set_priority>(), 8);
        assert_eq!(DRM_IOCTL_TERN_SET_PRIORITY, 0xc008_6445);
        assert_eq!(size_of::<drm_tern_submit_batch>(), 24);
        assert_eq!(DRM_IOCTL_TERN_SUBMIT_BATCH, 0xc018_6446);
        assert_eq!(DRM_IOCTL_GEM_CLOSE, 0x4008_6409);
        assert_eq!(DRM_IOCTL_PRIME_HANDLE_TO_FD, 0xc00c_642d);
        // The values of libdrm's xf86drm.h on 64-bit Linux.
        assert_eq!(DRM_IOCTL_SYNCOBJ_CREATE, 0xc008_64bf);
        assert_eq!(DRM_IOCTL_SYNCOBJ_WAIT, 0xc020_64c3);
        assert_eq!(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, 0xc028_64ca);
        assert_eq!(DRM_IOCTL_SYNCOBJ_QUERY, 0xc018_64cb);
    }

    #[test]
    fn uapi_version_and_name() {
        assert_eq!(DRM_TERN_UAPI_VERSION, 5);
        assert_eq!(DRM_TERN_DRIVER_NAME, b"tern\0");
    }
}

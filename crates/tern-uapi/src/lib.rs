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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drm_version_number_matches_the_kernel() {
        // DRM_IOCTL_VERSION on 64-bit Linux, as libdrm's xf86drm uses it.
        assert_eq!(DRM_IOCTL_VERSION, 0xc040_6400);
    }

    #[test]
    fn uapi_version_and_name() {
        assert_eq!(DRM_TERN_UAPI_VERSION, 1);
        assert_eq!(DRM_TERN_DRIVER_NAME, b"tern\0");
    }
}

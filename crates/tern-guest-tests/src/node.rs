// SPDX-License-Identifier: MIT OR Apache-2.0
//! The accel device node.

use std::path::Path;

use crate::ktap::{Outcome, check};

pub fn accel_node_discovered() -> Outcome {
    let found = tern::discover();
    check(!found.is_empty(), || {
        "no TERN node in /sys/class/accel".into()
    })?;
    let p = &found[0];
    check(p.starts_with("/dev/accel") && p.exists(), || {
        format!("{} missing", p.display())
    })
}

pub fn version_ioctl() -> Outcome {
    let dev = tern::Device::open_first().map_err(|e| e.to_string())?;
    let v = dev.driver_version().map_err(|e| e.to_string())?;
    check(v.name == "tern", || format!("driver name '{}'", v.name))?;
    check(!v.desc.is_empty(), || "empty description".into())
}

pub fn open_wrong_node_refused() -> Outcome {
    match tern::Device::open(Path::new("/dev/null")) {
        Err(tern::Error::Ioctl { source, .. }) if source.raw_os_error() == Some(libc::ENOTTY) => {
            Ok(())
        }
        other => Err(format!(
            "opening /dev/null as a TERN device gave {other:?}, want ENOTTY"
        )),
    }
}

/// `DRM_IOCTL_GET_MAGIC`: `_IOR('d', 0x02, struct drm_auth)` (a u32).
const DRM_IOCTL_GET_MAGIC: u64 = tern_uapi::ioc(2, tern_uapi::DRM_IOCTL_BASE, 0x02, 4);
/// `DRM_IOCTL_GET_UNIQUE`: `_IOWR('d', 0x01, struct drm_unique)` (a length and a pointer).
const DRM_IOCTL_GET_UNIQUE: u64 = tern_uapi::ioc(3, tern_uapi::DRM_IOCTL_BASE, 0x01, 16);
/// `DRM_IOCTL_SET_MASTER`: `_IO('d', 0x1e)`.
const DRM_IOCTL_SET_MASTER: u64 = tern_uapi::ioc(0, tern_uapi::DRM_IOCTL_BASE, 0x1e, 0);

pub fn master_ioctls_refused() -> Outcome {
    // An accel file has no master: authentication and mastership do not apply to it, and the
    // core's ioctls for them must say so rather than follow a null master (kernel patch 0010).
    let dev = tern::Device::open_first().map_err(|e| e.to_string())?;
    let mut magic = 0u32;
    crate::raw::expect_errno(
        "GET_MAGIC",
        crate::raw::ioctl(&dev, DRM_IOCTL_GET_MAGIC, &mut magic),
        libc::EINVAL,
    )?;
    let mut name = [0u8; 64];
    let mut unique = [name.len() as u64, name.as_mut_ptr() as u64];
    crate::raw::expect_errno(
        "GET_UNIQUE",
        crate::raw::ioctl(&dev, DRM_IOCTL_GET_UNIQUE, &mut unique),
        libc::EINVAL,
    )?;
    let mut none = 0u8;
    crate::raw::expect_errno(
        "SET_MASTER",
        crate::raw::ioctl(&dev, DRM_IOCTL_SET_MASTER, &mut none),
        libc::EINVAL,
    )
}

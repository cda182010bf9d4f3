// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the device and driver offer.

use tern_uapi as uapi;

use crate::device::Device;
use crate::error::Result;
use crate::ioctl::ioctl;

/// The answer of `DRM_IOCTL_TERN_QUERY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// uAPI version of the driver.
    pub uapi_version: u32,
    /// Hardware version (major, minor).
    pub hw_version: (u16, u16),
    /// Firmware version (major, minor, patch).
    pub fw_version: (u8, u8, u16),
    /// Negotiated firmware ABI.
    pub fw_abi: u32,
    /// `DRM_TERN_CAP_*` bits.
    pub caps: u64,
    /// Hardware queues.
    pub queue_count: u32,
    /// Longest program in bytes.
    pub max_cmd_len: u32,
    /// Usable device VA range.
    pub va_range: std::ops::Range<u64>,
    /// Largest buffer.
    pub max_bo_size: u64,
    /// Most buffers per submission.
    pub max_submit_bos: u32,
}

impl DeviceInfo {
    /// Names of the capability bits set.
    pub fn cap_names(&self) -> Vec<&'static str> {
        [
            (uapi::DRM_TERN_CAP_MMU, "mmu"),
            (uapi::DRM_TERN_CAP_F32, "f32"),
            (uapi::DRM_TERN_CAP_I32, "i32"),
            (uapi::DRM_TERN_CAP_TIMESTAMP, "timestamp"),
        ]
        .into_iter()
        .filter(|(bit, _)| self.caps & u64::from(*bit) != 0)
        .map(|(_, n)| n)
        .collect()
    }
}

impl Device {
    /// Queries the device and driver.
    pub fn query(&self) -> Result<DeviceInfo> {
        let mut q = uapi::drm_tern_query::default();
        ioctl(
            self.fd(),
            "DRM_IOCTL_TERN_QUERY",
            uapi::DRM_IOCTL_TERN_QUERY,
            &mut q,
        )?;
        Ok(DeviceInfo {
            uapi_version: q.uapi_version,
            hw_version: ((q.hw_version >> 16) as u16, q.hw_version as u16),
            fw_version: (
                (q.fw_version >> 24) as u8,
                (q.fw_version >> 16) as u8,
                q.fw_version as u16,
            ),
            fw_abi: q.fw_abi,
            caps: q.caps,
            queue_count: q.queue_count,
            max_cmd_len: q.max_cmd_len,
            va_range: q.va_start..q.va_end,
            max_bo_size: q.max_bo_size,
            max_submit_bos: q.max_submit_bos,
        })
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Job priorities (`DRM_IOCTL_TERN_SET_PRIORITY`).

use tern_uapi as uapi;

use crate::device::Device;
use crate::error::Result;
use crate::ioctl::ioctl;

/// The priority of a file's jobs: on each queue the driver runs ready jobs of higher priority
/// first, and the device runs the instructions of higher-priority queues first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Priority {
    /// Background work.
    Low,
    /// A new file's priority.
    #[default]
    Normal,
    /// Latency-sensitive work; needs CAP_SYS_NICE.
    High,
}

impl Priority {
    /// The uAPI value.
    pub fn raw(self) -> u32 {
        match self {
            Priority::Low => uapi::DRM_TERN_PRIORITY_LOW,
            Priority::Normal => uapi::DRM_TERN_PRIORITY_NORMAL,
            Priority::High => uapi::DRM_TERN_PRIORITY_HIGH,
        }
    }
}

impl Device {
    /// Sets the priority of the jobs this file submits from now on. `High` fails with EPERM
    /// without CAP_SYS_NICE.
    pub fn set_priority(&self, p: Priority) -> Result<()> {
        let mut arg = uapi::drm_tern_set_priority {
            priority: p.raw(),
            pad: 0,
        };
        ioctl(
            self.fd(),
            "DRM_IOCTL_TERN_SET_PRIORITY",
            uapi::DRM_IOCTL_TERN_SET_PRIORITY,
            &mut arg,
        )?;
        Ok(())
    }
}

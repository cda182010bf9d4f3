// SPDX-License-Identifier: MIT OR Apache-2.0
//! Synchronisation objects: the DRM core's syncobjs on a TERN device, and the time base of
//! deadlines.
//!
//! A job can wait for syncobjs and signal them ([`crate::Submit::waits`],
//! [`crate::Submit::signals`]); a syncobj can be waited for here, exported to another process
//! as a file descriptor, or turned into a sync_file. A binary syncobj holds one fence; a
//! timeline holds one per point (point 0 means "binary").

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use tern_uapi as uapi;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::ioctl::ioctl;

/// Nanoseconds of `CLOCK_MONOTONIC` now, the clock of every deadline in the uAPI.
pub fn monotonic_ns() -> i64 {
    crate::ioctl::monotonic_ns()
}

/// The absolute deadline `timeout` from now, saturated.
pub fn deadline_after(timeout: Duration) -> i64 {
    let t = i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX);
    monotonic_ns().saturating_add(t)
}

/// A syncobj and a point on it (0 for a binary syncobj), as a job waits for or signals it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPoint {
    /// Syncobj handle of the device file.
    pub handle: u32,
    /// Timeline point, or 0.
    pub point: u64,
}

/// A syncobj of a device file; destroyed when dropped.
#[derive(Debug)]
pub struct SyncObj<'d> {
    dev: &'d Device,
    handle: u32,
}

impl Device {
    /// Creates a syncobj, unsignalled (or signalled, with `signaled`).
    pub fn create_syncobj(&self, signaled: bool) -> Result<SyncObj<'_>> {
        let mut a = uapi::drm_syncobj_create {
            flags: if signaled {
                uapi::DRM_SYNCOBJ_CREATE_SIGNALED
            } else {
                0
            },
            ..Default::default()
        };
        ioctl(
            self.fd(),
            "DRM_IOCTL_SYNCOBJ_CREATE",
            uapi::DRM_IOCTL_SYNCOBJ_CREATE,
            &mut a,
        )?;
        Ok(SyncObj {
            dev: self,
            handle: a.handle,
        })
    }

    /// Imports a syncobj exported by [`SyncObj::export`] (possibly by another process).
    pub fn import_syncobj(&self, fd: &OwnedFd) -> Result<SyncObj<'_>> {
        let mut a = uapi::drm_syncobj_handle {
            fd: fd.as_raw_fd(),
            ..Default::default()
        };
        ioctl(
            self.fd(),
            "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE",
            uapi::DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
            &mut a,
        )?;
        Ok(SyncObj {
            dev: self,
            handle: a.handle,
        })
    }

    /// Waits until all (or, with `any`, one) of `points` have signalled, or `deadline_ns`
    /// (CLOCK_MONOTONIC) passes (`Error::Timeout`). With `for_submit`, a point that has no fence
    /// yet is waited for instead of failing with EINVAL.
    pub fn wait_syncobjs(
        &self,
        points: &[SyncPoint],
        deadline_ns: i64,
        any: bool,
        for_submit: bool,
    ) -> Result<()> {
        let handles: Vec<u32> = points.iter().map(|p| p.handle).collect();
        let values: Vec<u64> = points.iter().map(|p| p.point).collect();
        let mut flags = 0;
        if !any {
            flags |= uapi::DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL;
        }
        if for_submit {
            flags |= uapi::DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
        }
        let mut a = uapi::drm_syncobj_timeline_wait {
            handles: handles.as_ptr() as u64,
            points: values.as_ptr() as u64,
            timeout_nsec: deadline_ns,
            count_handles: handles.len() as u32,
            flags,
            ..Default::default()
        };
        match ioctl(
            self.fd(),
            "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT",
            uapi::DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
            &mut a,
        ) {
            Err(e) if e.errno() == Some(libc::ETIME) => Err(Error::Timeout {
                queue: u32::MAX,
                seqno: 0,
            }),
            r => r,
        }
    }
}

impl SyncObj<'_> {
    /// The handle, for [`SyncPoint`].
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// Point `point` of this syncobj (0: binary).
    pub fn at(&self, point: u64) -> SyncPoint {
        SyncPoint {
            handle: self.handle,
            point,
        }
    }

    /// Exports the syncobj itself as a file descriptor, for another process.
    pub fn export(&self) -> Result<OwnedFd> {
        self.to_fd(0)
    }

    /// Exports the fence the syncobj holds now as a sync_file.
    pub fn export_sync_file(&self) -> Result<OwnedFd> {
        self.to_fd(uapi::DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE)
    }

    fn to_fd(&self, flags: u32) -> Result<OwnedFd> {
        let mut a = uapi::drm_syncobj_handle {
            handle: self.handle,
            flags,
            ..Default::default()
        };
        ioctl(
            self.dev.fd(),
            "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD",
            uapi::DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
            &mut a,
        )?;
        crate::ioctl::owned_fd(a.fd)
    }

    /// Replaces the fence of this (binary) syncobj by that of a sync_file.
    pub fn import_sync_file(&self, fd: &OwnedFd) -> Result<()> {
        let mut a = uapi::drm_syncobj_handle {
            handle: self.handle,
            fd: fd.as_raw_fd(),
            flags: uapi::DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
            ..Default::default()
        };
        ioctl(
            self.dev.fd(),
            "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE",
            uapi::DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
            &mut a,
        )
    }

    /// The last signalled point of a timeline (for a binary syncobj: 1 once signalled).
    pub fn query(&self) -> Result<u64> {
        let mut point = 0u64;
        let mut a = uapi::drm_syncobj_timeline_array {
            handles: &self.handle as *const u32 as u64,
            points: &mut point as *mut u64 as u64,
            count_handles: 1,
            ..Default::default()
        };
        ioctl(
            self.dev.fd(),
            "DRM_IOCTL_SYNCOBJ_QUERY",
            uapi::DRM_IOCTL_SYNCOBJ_QUERY,
            &mut a,
        )?;
        Ok(point)
    }

    /// Signals `point` of a timeline from the CPU (0: signals a binary syncobj).
    pub fn signal(&self, point: u64) -> Result<()> {
        let mut a = uapi::drm_syncobj_timeline_array {
            handles: &self.handle as *const u32 as u64,
            points: &point as *const u64 as u64,
            count_handles: 1,
            ..Default::default()
        };
        ioctl(
            self.dev.fd(),
            "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL",
            uapi::DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
            &mut a,
        )
    }
}

impl Drop for SyncObj<'_> {
    fn drop(&mut self) {
        let mut a = uapi::drm_syncobj_destroy {
            handle: self.handle,
            ..Default::default()
        };
        let _ = ioctl(
            self.dev.fd(),
            "DRM_IOCTL_SYNCOBJ_DESTROY",
            uapi::DRM_IOCTL_SYNCOBJ_DESTROY,
            &mut a,
        );
    }
}

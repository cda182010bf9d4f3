// SPDX-License-Identifier: MIT OR Apache-2.0
//! Jobs: submitting command buffers to hardware queues and waiting for them.

use std::time::Duration;

use tern_uapi as uapi;

use crate::buffer::Buffer;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::ioctl::ioctl;

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Completed.
    Done,
    /// Touched memory not mapped for it.
    MmuFault {
        /// Faulting device VA.
        va: u64,
    },
    /// Illegal instruction.
    Illegal {
        /// Instruction index.
        index: u32,
    },
    /// Ran out of its instruction budget.
    Watchdog,
    /// Stopped by a reset; may be submitted again.
    Aborted,
}

impl JobStatus {
    /// True for [`JobStatus::Done`].
    pub fn is_done(&self) -> bool {
        *self == JobStatus::Done
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobStatus::Done => write!(f, "done"),
            JobStatus::MmuFault { va } => write!(f, "MMU fault at device VA {va:#x}"),
            JobStatus::Illegal { index } => write!(f, "illegal instruction at index {index}"),
            JobStatus::Watchdog => write!(f, "instruction budget exhausted (endless loop?)"),
            JobStatus::Aborted => write!(f, "aborted by a device reset"),
        }
    }
}

/// The result of a finished job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// How it ended.
    pub status: JobStatus,
    /// Execution time measured by the device.
    pub duration: Duration,
}

/// A submitted job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Hardware queue.
    pub queue: u32,
    /// Sequence number on that queue.
    pub seqno: u64,
}

/// What to run.
#[derive(Debug, Default)]
pub struct Submit<'a, 'd> {
    /// Hardware queue.
    pub queue: u32,
    /// Buffer holding the program (None: a no-op job).
    pub program: Option<&'a Buffer<'d>>,
    /// Offset of the program in its buffer.
    pub offset: u64,
    /// Program length in bytes.
    pub len: u32,
    /// Buffers the job uses.
    pub buffers: &'a [&'a Buffer<'d>],
    /// Instruction budget (0: device default).
    pub budget: u32,
}

impl Device {
    /// Submits a job; returns at once.
    pub fn submit(&self, s: &Submit<'_, '_>) -> Result<Job> {
        let handles: Vec<u32> = s.buffers.iter().map(|b| b.handle()).collect();
        let mut a = uapi::drm_tern_submit {
            queue: s.queue,
            cmd_handle: s.program.map_or(0, |b| b.handle()),
            cmd_len: s.len,
            cmd_offset: s.offset,
            bo_handles: handles.as_ptr() as u64,
            bo_count: handles.len() as u32,
            budget: s.budget,
            ..Default::default()
        };
        ioctl(
            self.fd(),
            "DRM_IOCTL_TERN_SUBMIT",
            uapi::DRM_IOCTL_TERN_SUBMIT,
            &mut a,
        )?;
        Ok(Job {
            queue: s.queue,
            seqno: a.seqno,
        })
    }

    /// Waits up to `timeout` for `job`.
    pub fn wait(&self, job: Job, timeout: Duration) -> Result<Completion> {
        let mut a = uapi::drm_tern_wait {
            queue: job.queue,
            seqno: job.seqno,
            timeout_ns: timeout.as_nanos().min(i64::MAX as u128) as i64,
            ..Default::default()
        };
        match ioctl(
            self.fd(),
            "DRM_IOCTL_TERN_WAIT",
            uapi::DRM_IOCTL_TERN_WAIT,
            &mut a,
        ) {
            Err(e) if e.errno() == Some(libc::ETIME) => {
                return Err(Error::Timeout {
                    queue: job.queue,
                    seqno: job.seqno,
                });
            }
            r => r?,
        }
        let status = match a.status {
            uapi::DRM_TERN_JOB_DONE => JobStatus::Done,
            uapi::DRM_TERN_JOB_MMU_FAULT => JobStatus::MmuFault { va: a.fault_va },
            uapi::DRM_TERN_JOB_ILLEGAL => JobStatus::Illegal { index: a.info },
            uapi::DRM_TERN_JOB_WATCHDOG => JobStatus::Watchdog,
            uapi::DRM_TERN_JOB_ABORTED => JobStatus::Aborted,
            _ => return Err(Error::Invalid("the driver reported an unknown job status")),
        };
        Ok(Completion {
            status,
            duration: Duration::from_nanos(a.duration_ns),
        })
    }

    /// Submits and waits.
    pub fn run(&self, s: &Submit<'_, '_>, timeout: Duration) -> Result<Completion> {
        let job = self.submit(s)?;
        self.wait(job, timeout)
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Jobs: submitting command buffers to hardware queues and waiting for them.

use std::os::fd::OwnedFd;
use std::time::Duration;

use tern_uapi as uapi;

use crate::buffer::Buffer;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::ioctl::{ioctl, ioctl_ret};
use crate::sync::{SyncPoint, deadline_after};

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
    /// Stopped by a reset, or cancelled before it ran; may be submitted again.
    Aborted {
        /// Why (an errno): ETIMEDOUT it made no progress and its queue was reset, EIO it ran
        /// when the firmware crashed, ECANCELED cancelled, ENODEV the device went away.
        errno: u32,
    },
    /// Not run: a job or fence it depended on failed.
    Skipped {
        /// The dependency's error (a positive errno).
        errno: u32,
    },
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
            JobStatus::Aborted { errno } => write!(f, "aborted (errno {errno})"),
            JobStatus::Skipped { errno } => {
                write!(f, "skipped: a dependency failed (errno {errno})")
            }
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
    /// Buffers the job reads and writes.
    pub buffers: &'a [&'a Buffer<'d>],
    /// Buffers the job only reads: it waits for their writers only.
    pub reads: &'a [&'a Buffer<'d>],
    /// Instruction budget (0: device default).
    pub budget: u32,
    /// Syncobj points the job waits for.
    pub waits: &'a [SyncPoint],
    /// Syncobj points the job signals.
    pub signals: &'a [SyncPoint],
}

/// Most jobs in one [`Device::submit_batch`].
pub const MAX_BATCH: usize = uapi::DRM_TERN_MAX_BATCH as usize;

/// A [`Device::submit_batch`] that stopped at an error.
#[derive(Debug, thiserror::Error)]
#[error("{error} (after {} of the batch's jobs were queued)", queued.len())]
pub struct BatchError {
    /// The jobs queued before the error, in order.
    pub queued: Vec<Job>,
    /// What stopped the batch.
    #[source]
    pub error: Error,
}

/// A SUBMIT's arguments with the arrays they point to.
struct Encoded {
    arg: uapi::drm_tern_submit,
    _bos: Vec<uapi::drm_tern_bo_ref>,
    _waits: Vec<uapi::drm_tern_sync>,
    _signals: Vec<uapi::drm_tern_sync>,
}

impl Encoded {
    fn new(s: &Submit<'_, '_>, out_fence: bool) -> Encoded {
        let rw = uapi::DRM_TERN_BO_READ | uapi::DRM_TERN_BO_WRITE;
        let bos: Vec<uapi::drm_tern_bo_ref> = s
            .buffers
            .iter()
            .map(|b| (b, rw))
            .chain(s.reads.iter().map(|b| (b, uapi::DRM_TERN_BO_READ)))
            .map(|(b, usage)| uapi::drm_tern_bo_ref {
                handle: b.handle(),
                usage,
            })
            .collect();
        let sync = |p: &SyncPoint| uapi::drm_tern_sync {
            handle: p.handle,
            flags: 0,
            point: p.point,
        };
        let waits: Vec<uapi::drm_tern_sync> = s.waits.iter().map(sync).collect();
        let signals: Vec<uapi::drm_tern_sync> = s.signals.iter().map(sync).collect();
        // The vectors' heap buffers do not move when `Encoded` does.
        let arg = uapi::drm_tern_submit {
            queue: s.queue,
            flags: if out_fence {
                uapi::DRM_TERN_SUBMIT_OUT_FENCE_FD
            } else {
                0
            },
            cmd_handle: s.program.map_or(0, |b| b.handle()),
            cmd_len: s.len,
            cmd_offset: s.offset,
            bos: bos.as_ptr() as u64,
            bo_count: bos.len() as u32,
            budget: s.budget,
            waits: waits.as_ptr() as u64,
            wait_count: waits.len() as u32,
            signals: signals.as_ptr() as u64,
            signal_count: signals.len() as u32,
            ..Default::default()
        };
        Encoded {
            arg,
            _bos: bos,
            _waits: waits,
            _signals: signals,
        }
    }
}

impl Device {
    /// Submits a job; returns at once.
    pub fn submit(&self, s: &Submit<'_, '_>) -> Result<Job> {
        self.do_submit(s, false).map(|(job, _)| job)
    }

    /// Submits a job and returns its fence as a sync_file too.
    pub fn submit_with_fence(&self, s: &Submit<'_, '_>) -> Result<(Job, OwnedFd)> {
        let (job, fd) = self.do_submit(s, true)?;
        Ok((job, crate::ioctl::owned_fd(fd)?))
    }

    fn do_submit(&self, s: &Submit<'_, '_>, out_fence: bool) -> Result<(Job, i32)> {
        let mut e = Encoded::new(s, out_fence);
        ioctl(
            self.fd(),
            "DRM_IOCTL_TERN_SUBMIT",
            uapi::DRM_IOCTL_TERN_SUBMIT,
            &mut e.arg,
        )?;
        let job = Job {
            queue: s.queue,
            seqno: e.arg.seqno,
        };
        Ok((job, e.arg.out_fence_fd))
    }

    /// Submits up to [`MAX_BATCH`] jobs with one call (`DRM_IOCTL_TERN_SUBMIT_BATCH`), in
    /// order, as many [`Device::submit`]s would; each queue they use gets one doorbell.
    ///
    /// On an error the jobs before the failing one are queued: [`BatchError::queued`].
    pub fn submit_batch(
        &self,
        jobs: &[Submit<'_, '_>],
    ) -> std::result::Result<Vec<Job>, BatchError> {
        let encoded: Vec<Encoded> = jobs.iter().map(|s| Encoded::new(s, false)).collect();
        let mut args: Vec<uapi::drm_tern_submit> = encoded.iter().map(|e| e.arg).collect();
        let mut queued = Vec::with_capacity(jobs.len());
        while queued.len() < jobs.len() {
            let rest = &mut args[queued.len()..];
            let mut b = uapi::drm_tern_submit_batch {
                submits: rest.as_mut_ptr() as u64,
                count: rest.len() as u32,
                stride: size_of::<uapi::drm_tern_submit>() as u32,
                ..Default::default()
            };
            let r = ioctl_ret(
                self.fd(),
                "DRM_IOCTL_TERN_SUBMIT_BATCH",
                uapi::DRM_IOCTL_TERN_SUBMIT_BATCH,
                &mut b,
            );
            let done = (b.submitted as usize).min(rest.len());
            queued.extend(rest[..done].iter().map(|a| Job {
                queue: a.queue,
                seqno: a.seqno,
            }));
            match r {
                Ok(_) => {}
                // Interrupted: go on with the entries not yet queued.
                Err(e) if matches!(e.errno(), Some(libc::EINTR | libc::EAGAIN)) => {}
                Err(error) => return Err(BatchError { queued, error }),
            }
        }
        drop(encoded);
        Ok(queued)
    }

    /// Waits up to `timeout` for `job`.
    pub fn wait(&self, job: Job, timeout: Duration) -> Result<Completion> {
        self.wait_until(job, deadline_after(timeout))
    }

    /// Waits for `job` until `deadline_ns` (CLOCK_MONOTONIC, see [`crate::monotonic_ns`]).
    pub fn wait_until(&self, job: Job, deadline_ns: i64) -> Result<Completion> {
        let mut a = uapi::drm_tern_wait {
            queue: job.queue,
            seqno: job.seqno,
            deadline_ns,
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
            uapi::DRM_TERN_JOB_ABORTED => JobStatus::Aborted { errno: a.info },
            uapi::DRM_TERN_JOB_SKIPPED => JobStatus::Skipped { errno: a.info },
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

// SPDX-License-Identifier: GPL-2.0

//! Jobs: what the driver keeps of a submitted job, and the per-file record of job results.

use kernel::{
    prelude::*,
    sync::{
        aref::ARef,
        new_mutex,
        Arc,
        Mutex, //
    },
};

use crate::{
    gem::TernBo,
    regs::{
        status,
        NUM_QUEUES, //
    },
    uapi,
    vm::Context,
};

/// Results kept per file and queue; the oldest finished ones are forgotten beyond this.
const MAX_RESULTS: usize = 4096;

/// The outcome of a job, in uAPI terms.
#[derive(Clone, Copy, Default)]
pub(crate) struct JobResult {
    /// `DRM_TERN_JOB_*`.
    pub(crate) status: u32,
    /// Status detail.
    pub(crate) info: u32,
    /// Faulting device VA.
    pub(crate) fault_va: u64,
    /// Execution time in ns.
    pub(crate) duration_ns: u64,
}

impl JobResult {
    /// The result of a completion record.
    pub(crate) fn from_record(code: u32, info: u32, fault_va: u64, duration_ns: u64) -> Self {
        let status = match code {
            status::OK => uapi::DRM_TERN_JOB_DONE,
            status::MMU_FAULT => uapi::DRM_TERN_JOB_MMU_FAULT,
            status::WATCHDOG => uapi::DRM_TERN_JOB_WATCHDOG,
            status::ABORTED => uapi::DRM_TERN_JOB_ABORTED,
            // The driver validates descriptors, so BAD_DESCRIPTOR means the job could not run as
            // submitted, like an illegal instruction; so does a device without firmware.
            status::ILLEGAL | status::BAD_DESCRIPTOR | status::NO_FIRMWARE => {
                uapi::DRM_TERN_JOB_ILLEGAL
            }
            // A code this driver does not know: the job did not complete normally.
            _ => uapi::DRM_TERN_JOB_ILLEGAL,
        };
        Self {
            status,
            info,
            fault_va,
            duration_ns,
        }
    }

    /// The result of a job that the driver stopped.
    pub(crate) fn aborted() -> Self {
        Self {
            status: uapi::DRM_TERN_JOB_ABORTED,
            ..Self::default()
        }
    }
}

/// A job of a file: its sequence number and, once finished, its result.
struct Entry {
    seqno: u64,
    result: Option<JobResult>,
}

/// The jobs a file submitted, per queue, in submission order.
#[pin_data]
pub(crate) struct FileJobs {
    #[pin]
    queues: Mutex<[KVec<Entry>; NUM_QUEUES]>,
}

/// What [`FileJobs::lookup`] found.
pub(crate) enum Lookup {
    /// Not a job of this file.
    Unknown,
    /// Not finished.
    Pending,
    /// Finished.
    Done(JobResult),
}

impl FileJobs {
    /// Creates an empty record.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                queues <- new_mutex!([const { KVec::new() }; NUM_QUEUES]),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Makes room for one more entry on `queue`, so that [`Self::add`] cannot fail.
    pub(crate) fn reserve(&self, queue: usize) -> Result {
        let mut queues = self.queues.lock();
        let list = queues.get_mut(queue).ok_or(EINVAL)?;
        if list.len() >= MAX_RESULTS {
            if let Some(i) = list.iter().position(|e| e.result.is_some()) {
                list.remove(i)?;
            }
        }
        list.reserve(1, GFP_KERNEL)?;
        Ok(())
    }

    /// Records a new pending job; call [`Self::reserve`] first.
    pub(crate) fn add(&self, queue: usize, seqno: u64) {
        let mut queues = self.queues.lock();
        if let Some(list) = queues.get_mut(queue) {
            // Cannot fail after `reserve()`.
            let _ = list.push_within_capacity(Entry {
                seqno,
                result: None,
            });
        }
    }

    /// Stores the result of job `seqno` of `queue`.
    pub(crate) fn complete(&self, queue: usize, seqno: u64, result: JobResult) {
        let mut queues = self.queues.lock();
        if let Some(list) = queues.get_mut(queue) {
            if let Ok(i) = list.binary_search_by_key(&seqno, |e| e.seqno) {
                if let Some(e) = list.get_mut(i) {
                    e.result = Some(result);
                }
            }
        }
    }

    /// Looks up job `seqno` of `queue`.
    pub(crate) fn lookup(&self, queue: usize, seqno: u64) -> Lookup {
        let queues = self.queues.lock();
        let Some(list) = queues.get(queue) else {
            return Lookup::Unknown;
        };
        match list.binary_search_by_key(&seqno, |e| e.seqno) {
            Ok(i) => match list.get(i).and_then(|e| e.result) {
                Some(r) => Lookup::Done(r),
                None => Lookup::Pending,
            },
            Err(_) => Lookup::Unknown,
        }
    }
}

/// A job on a hardware queue: what must stay alive until it completes.
pub(crate) struct Job {
    /// Sequence number on its queue.
    pub(crate) seqno: u64,
    /// Where its result goes.
    pub(crate) owner: Arc<FileJobs>,
    /// The address space it runs in.
    pub(crate) _ctx: Arc<Context>,
    /// The buffers it uses.
    pub(crate) _bos: KVec<ARef<TernBo>>,
}

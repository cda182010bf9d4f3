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
#[derive(Clone, Copy, Default)]
struct Entry {
    seqno: u64,
    result: Option<JobResult>,
}

/// The jobs of a file on one queue, oldest first, in a ring that grows by doubling.
///
/// Forgetting the oldest entry, which is what happens on every submission once the ring holds
/// [`MAX_RESULTS`] entries, is O(1): it must not move the other entries.
struct Ring {
    /// The storage; its length, the ring's capacity, is 0 or a power of two.
    buf: KVec<Entry>,
    /// Index in `buf` of the oldest entry.
    head: usize,
    /// Number of entries.
    len: usize,
}

impl Ring {
    /// Smallest non-zero capacity.
    const MIN_CAPACITY: usize = 16;

    /// An empty ring.
    const fn new() -> Self {
        Self {
            buf: KVec::new(),
            head: 0,
            len: 0,
        }
    }

    /// Index in `buf` of entry `i` (0 is the oldest).
    fn index(&self, i: usize) -> usize {
        // The capacity is a power of two when there are entries.
        self.head.wrapping_add(i) & self.buf.len().wrapping_sub(1)
    }

    /// Entry `i`.
    fn get(&self, i: usize) -> Option<&Entry> {
        if i < self.len {
            self.buf.get(self.index(i))
        } else {
            None
        }
    }

    /// Entry `i`, mutably.
    fn get_mut(&mut self, i: usize) -> Option<&mut Entry> {
        if i < self.len {
            let at = self.index(i);
            self.buf.get_mut(at)
        } else {
            None
        }
    }

    /// Makes room for one more entry.
    fn reserve(&mut self) -> Result {
        if self.len < self.buf.len() {
            return Ok(());
        }
        let cap = self
            .buf
            .len()
            .checked_mul(2)
            .ok_or(ENOMEM)?
            .max(Self::MIN_CAPACITY);
        let mut buf = KVec::from_elem(Entry::default(), cap, GFP_KERNEL)?;
        for (i, slot) in buf.iter_mut().take(self.len).enumerate() {
            if let Some(e) = self.get(i) {
                *slot = *e;
            }
        }
        self.buf = buf;
        self.head = 0;
        Ok(())
    }

    /// Appends `e`; returns `false` if there is no room (see [`Self::reserve`]).
    fn push(&mut self, e: Entry) -> bool {
        if self.len >= self.buf.len() {
            return false;
        }
        let at = self.index(self.len);
        let Some(slot) = self.buf.get_mut(at) else {
            return false;
        };
        *slot = e;
        self.len += 1;
        true
    }

    /// Removes entry `i`.
    fn remove(&mut self, i: usize) {
        if i >= self.len {
            return;
        }
        if i == 0 {
            // The usual case: the oldest entry goes.
            self.head = self.index(1);
        } else {
            for j in i..self.len - 1 {
                if let Some(next) = self.get(j + 1).copied() {
                    if let Some(e) = self.get_mut(j) {
                        *e = next;
                    }
                }
            }
        }
        self.len -= 1;
    }

    /// The index of job `seqno`; entries are sorted by sequence number.
    fn search(&self, seqno: u64) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid)?.seqno.cmp(&seqno) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Makes room for one more entry, forgetting the oldest finished job beyond
    /// [`MAX_RESULTS`].
    fn make_room(&mut self) -> Result {
        if self.len >= MAX_RESULTS {
            let finished = (0..self.len).find(|&i| self.get(i).is_some_and(|e| e.result.is_some()));
            if let Some(i) = finished {
                self.remove(i);
            }
        }
        self.reserve()
    }
}

/// The jobs a file submitted, per queue, in submission order.
#[pin_data]
pub(crate) struct FileJobs {
    #[pin]
    queues: Mutex<[Ring; NUM_QUEUES]>,
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
                queues <- new_mutex!([const { Ring::new() }; NUM_QUEUES]),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Makes room for one more entry on `queue`, so that [`Self::add`] normally does not
    /// allocate.
    pub(crate) fn reserve(&self, queue: usize) -> Result {
        self.queues.lock().get_mut(queue).ok_or(EINVAL)?.make_room()
    }

    /// Records a new pending job.
    ///
    /// Fails only if the room that [`Self::reserve`] made was taken by another submission of
    /// the file and no memory could be allocated.
    pub(crate) fn add(&self, queue: usize, seqno: u64) -> Result {
        let mut queues = self.queues.lock();
        let ring = queues.get_mut(queue).ok_or(EINVAL)?;
        ring.make_room()?;
        if ring.push(Entry {
            seqno,
            result: None,
        }) {
            Ok(())
        } else {
            Err(ENOMEM)
        }
    }

    /// Stores the result of job `seqno` of `queue`.
    pub(crate) fn complete(&self, queue: usize, seqno: u64, result: JobResult) {
        let mut queues = self.queues.lock();
        if let Some(ring) = queues.get_mut(queue) {
            if let Some(e) = ring.search(seqno).and_then(|i| ring.get_mut(i)) {
                e.result = Some(result);
            }
        }
    }

    /// Looks up job `seqno` of `queue`.
    pub(crate) fn lookup(&self, queue: usize, seqno: u64) -> Lookup {
        let queues = self.queues.lock();
        let Some(ring) = queues.get(queue) else {
            return Lookup::Unknown;
        };
        match ring.search(seqno).and_then(|i| ring.get(i)) {
            Some(Entry {
                result: Some(r), ..
            }) => Lookup::Done(*r),
            Some(_) => Lookup::Pending,
            None => Lookup::Unknown,
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

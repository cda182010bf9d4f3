// SPDX-License-Identifier: GPL-2.0

//! Jobs: what the driver keeps of a submitted job, and the per-file record of job results.

use kernel::{
    dma_fence::{
        DriverFence,
        Fence,
        FenceContext, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        //@ step recovery {
        atomic::{
            Atomic,
            Relaxed, //
        },
        //@ }
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
    shared::QueueMarks,
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
            status::ABORTED => return Self::ended(uapi::DRM_TERN_JOB_ABORTED, ECANCELED),
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

    /// A job that ended with `status` for the reason `err`, which `info` reports.
    fn ended(status: u32, err: Error) -> Self {
        Self {
            status,
            // CAST: Error codes are small negative numbers.
            info: err.to_errno().unsigned_abs(),
            ..Self::default()
        }
    }

    /// The result of a job that the driver stopped or cancelled before it ran, for `err`.
    pub(crate) fn aborted(err: Error) -> Self {
        Self::ended(uapi::DRM_TERN_JOB_ABORTED, err)
    }

    /// The result of a job that did not run because a dependency failed with `err`.
    pub(crate) fn skipped(err: Error) -> Self {
        Self::ended(uapi::DRM_TERN_JOB_SKIPPED, err)
    }

    /// The error the job's fence signals with; `None` for a job that completed.
    pub(crate) fn error(&self) -> Option<Error> {
        // CAST: `info` holds a positive errno for these statuses.
        let info = || Error::from_errno(-(self.info.min(4095) as i32));
        match self.status {
            uapi::DRM_TERN_JOB_DONE => None,
            uapi::DRM_TERN_JOB_MMU_FAULT => Some(EFAULT),
            uapi::DRM_TERN_JOB_WATCHDOG => Some(ETIME),
            uapi::DRM_TERN_JOB_ABORTED | uapi::DRM_TERN_JOB_SKIPPED => Some(info()),
            _ => Some(EILSEQ),
        }
    }
}

/// A job of a file: its sequence number, its fence until it finishes, then its result.
#[derive(Default)]
struct Entry {
    seqno: u64,
    result: Option<JobResult>,
    fence: Option<ARef<Fence>>,
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
        let mut buf = KVec::with_capacity(cap, GFP_KERNEL)?;
        for i in 0..self.len {
            let at = self.index(i);
            let e = self
                .buf
                .get_mut(at)
                .map(core::mem::take)
                .unwrap_or_default();
            // Cannot fail: the capacity is larger.
            let _ = buf.push_within_capacity(e);
        }
        while buf.len() < cap {
            let _ = buf.push_within_capacity(Entry::default());
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
                let (a, b) = (self.index(j), self.index(j + 1));
                self.buf.swap(a, b);
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

/// The jobs of a file on one queue: their fence context and their record.
struct QueueJobs {
    ring: Ring,
    fences: FenceContext,
    /// Sequence number of the last job.
    last: u64,
    /// Busy time of the finished jobs, in ns.
    busy_ns: u64,
}

/// The jobs a file submitted, per queue, in submission order.
///
/// Each queue of a file is a fence context of its own: its jobs run, and their fences signal,
/// in submission order, and a job's sequence number is its fence's.
#[pin_data]
pub(crate) struct FileJobs {
    #[pin]
    queues: Mutex<[QueueJobs; NUM_QUEUES]>,
    //@ step recovery {
    /// Jobs of the file that hung and were stopped by a queue reset.
    hangs: Atomic<u32>,
    /// Jobs of the file that ended with an MMU fault since its last job that completed.
    fault_run: Atomic<u32>,
    /// Set once the file is banned: SUBMIT fails with `EIO`.
    banned: Atomic<i32>,
    //@ }
}

//@ step recovery {
/// Hung jobs after which a file is banned.
pub(crate) const BAN_HANGS: u32 = 3;
/// Jobs ending with an MMU fault in a row (no job completing in between) after which a file is
/// banned.
pub(crate) const BAN_FAULTS: u32 = 64;
//@ }

/// What [`FileJobs::lookup`] found.
pub(crate) enum Lookup {
    /// Not a job of this file.
    Unknown,
    /// Not finished; its fence.
    Pending(ARef<Fence>),
    /// Finished.
    Done(JobResult),
}

impl FileJobs {
    /// Creates an empty record.
    pub(crate) fn new() -> Result<Arc<Self>> {
        let queue = || QueueJobs {
            ring: Ring::new(),
            fences: FenceContext::new(c"tern", c"tern-queue"),
            last: 0,
            busy_ns: 0,
        };
        Arc::pin_init(
            try_pin_init!(Self {
                queues <- new_mutex!([queue(), queue(), queue(), queue()]),
                hangs: Atomic::new(0), //@ step recovery
                fault_run: Atomic::new(0), //@ step recovery
                banned: Atomic::new(0), //@ step recovery
            }? Error),
            GFP_KERNEL,
        )
    }

    /// The fence context of `queue`: it names the file's scheduling entity on the queue.
    pub(crate) fn entity(&self, queue: usize) -> u64 {
        self.queues.lock().get(queue).map_or(0, |q| q.fences.id())
    }

    /// Records a new pending job on `queue` and returns its fence, unsignalled.
    pub(crate) fn add(&self, queue: usize) -> Result<DriverFence> {
        let mut queues = self.queues.lock();
        let q = queues.get_mut(queue).ok_or(EINVAL)?;
        q.ring.make_room()?;
        let fence = q.fences.new_fence(GFP_KERNEL)?;
        let seqno = fence.seqno();
        // Cannot fail: room was made under the same lock.
        if !q.ring.push(Entry {
            seqno,
            result: None,
            fence: Some(fence.fence()),
        }) {
            // Not reached; the unpublished fence goes with the error.
            fence.signal_error(ENOMEM);
            return Err(ENOMEM);
        }
        q.last = seqno;
        Ok(fence)
    }

    /// Forgets job `seqno` of `queue`, which was never queued; its fence was not published.
    pub(crate) fn forget(&self, queue: usize, fence: DriverFence) {
        let seqno = fence.seqno();
        {
            let mut queues = self.queues.lock();
            if let Some(q) = queues.get_mut(queue) {
                if let Some(i) = q.ring.search(seqno) {
                    q.ring.remove(i);
                }
            }
        }
        fence.signal_error(ECANCELED);
    }

    /// Stores the result of job `seqno` of `queue`; its fence is signalled next.
    pub(crate) fn complete(&self, queue: usize, seqno: u64, result: JobResult) {
        //@ step recovery {
        match result.status {
            uapi::DRM_TERN_JOB_DONE => self.fault_run.store(0, Relaxed),
            uapi::DRM_TERN_JOB_MMU_FAULT => {
                if self.fault_run.fetch_add(1, Relaxed) + 1 >= BAN_FAULTS {
                    self.banned.store(1, Relaxed);
                }
            }
            _ => {}
        }
        //@ }
        let mut queues = self.queues.lock();
        if let Some(q) = queues.get_mut(queue) {
            q.busy_ns = q.busy_ns.saturating_add(result.duration_ns);
            if let Some(e) = q.ring.search(seqno).and_then(|i| q.ring.get_mut(i)) {
                e.result = Some(result);
                e.fence = None;
            }
        }
    }

    //@ step recovery {
    /// Counts a hung job of the file; returns whether the file is banned now.
    pub(crate) fn note_hang(&self) -> bool {
        if self.hangs.fetch_add(1, Relaxed) + 1 >= BAN_HANGS {
            self.banned.store(1, Relaxed);
        }
        self.banned()
    }

    /// Whether the file is banned (`BAN_HANGS`, `BAN_FAULTS`).
    pub(crate) fn banned(&self) -> bool {
        self.banned.load(Relaxed) != 0
    }

    /// Hung jobs so far.
    pub(crate) fn hangs(&self) -> u32 {
        self.hangs.load(Relaxed)
    }
    //@ }

    /// Looks up job `seqno` of `queue`.
    pub(crate) fn lookup(&self, queue: usize, seqno: u64) -> Lookup {
        let queues = self.queues.lock();
        let Some(q) = queues.get(queue) else {
            return Lookup::Unknown;
        };
        match q.ring.search(seqno).and_then(|i| q.ring.get(i)) {
            Some(Entry {
                result: Some(r), ..
            }) => Lookup::Done(*r),
            Some(Entry { fence: Some(f), .. }) => Lookup::Pending(f.clone()),
            _ => Lookup::Unknown,
        }
    }

    /// The last job of each queue, as of now.
    pub(crate) fn marks(&self) -> QueueMarks {
        let queues = self.queues.lock();
        let mut marks = [0; NUM_QUEUES];
        for (m, q) in marks.iter_mut().zip(queues.iter()) {
            *m = q.last;
        }
        marks
    }

    /// Whether every job up to `marks` has finished.
    pub(crate) fn finished_past(&self, marks: &QueueMarks) -> bool {
        let queues = self.queues.lock();
        queues.iter().zip(marks.iter()).all(|(q, &mark)| {
            (0..q.ring.len)
                .filter_map(|i| q.ring.get(i))
                .find(|e| e.result.is_none())
                .is_none_or(|e| e.seqno > mark)
        })
    }

    /// Busy time of the finished jobs of each queue, in ns.
    pub(crate) fn busy_ns(&self) -> [u64; NUM_QUEUES] {
        let queues = self.queues.lock();
        let mut busy = [0; NUM_QUEUES];
        for (b, q) in busy.iter_mut().zip(queues.iter()) {
            *b = q.busy_ns;
        }
        busy
    }
}

/// A job: its fence, and what must stay alive until it has finished.
pub(crate) struct Job {
    /// Sequence number on its queue, in its file.
    pub(crate) seqno: u64,
    /// Its fence, signalled when it has finished.
    pub(crate) fence: DriverFence,
    /// Where its result goes.
    pub(crate) owner: Arc<FileJobs>,
    /// The address space it runs in.
    pub(crate) _ctx: Arc<Context>,
    /// The buffers it uses, with their `DRM_TERN_BO_*` usage.
    pub(crate) _bos: KVec<(ARef<TernBo>, u32)>,
    //@ step recovery {
    /// The buffer holding its program and the program's offset in it, for coredumps.
    pub(crate) program: Option<(ARef<TernBo>, u64)>,
    //@ }
}

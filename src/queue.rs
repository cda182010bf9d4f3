// SPDX-License-Identifier: GPL-2.0

//! Hardware queues: the job queue in front of each, the descriptor ring, the completion area
//! and retirement (`docs/hardware.md` 5).
//!
//! SUBMIT hands a job to its queue, which keeps it with the other jobs of its file (its
//! entity) until the fences it depends on have signalled and the ring has room; then the
//! descriptor is written and the doorbell rung. The scheduler runs in SUBMIT, after every
//! retirement (room on the ring) and, through a work item, when a fence a job waits for
//! signals. Retirement signals each job's fence with its result.
//!
//! The job path never reads a register: completion is read from the fence value and the
//! records in the completion area (host memory), and the doorbell is a posted write.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma_fence::{
        Fence,
        FenceCallback,
        FenceCallbackRegistration, //
    },
    io::Io,
    irq::{
        IrqReturn,
        ThreadedHandler, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        barrier::{
            dma_mb,
            Read,
            Write, //
        },
        new_mutex,
        Arc,
        Mutex, //
    },
    //@ step recovery {
    time::{
        Delta,
        Instant,
        Monotonic, //
    },
    //@ }
};

use crate::{
    gem::TernBo, //@ step recovery
    job::{
        FileJobs, //@ step recovery
        Job,
        JobResult, //
    },
    mem::DmaWords,
    regs::{
        self,
        status, //
    },
    shared::Shared,
    uapi,
};

/// Descriptors per ring.
pub(crate) const RING_SIZE: u32 = 256;
/// Words per descriptor.
const DESC_WORDS: usize = regs::DESC_SIZE / 8;
/// Words per completion record.
const RECORD_WORDS: usize = regs::RECORD_SIZE / 8;
/// Word index of the first completion record.
const RECORDS: usize = regs::COMPL_HEADER / 8;

/// Jobs of one file that may wait to run on one queue (`-EBUSY` beyond).
pub(crate) const MAX_PENDING: usize = 1024;

/// What a submission writes into a descriptor.
#[derive(Clone, Copy)]
pub(crate) struct Descriptor {
    /// MMU context.
    pub(crate) context: u32,
    /// Device VA of the program; 0 with `cmd_len` 0 for a no-op job.
    pub(crate) cmd_va: u64,
    /// Program length in bytes; 0 submits a NOP descriptor.
    pub(crate) cmd_len: u32,
    /// Instruction budget.
    pub(crate) budget: u32,
    /// `DRM_TERN_PRIORITY_*` of the job (the device's `PRIORITY` values are the same).
    pub(crate) priority: u32,
}

/// Kicks the scheduler when a fence a job waits for signals.
pub(crate) struct Kick(Arc<Shared>);

impl FenceCallback for Kick {
    fn signaled(&self, _fence: &Fence) {
        Shared::kick(&self.0);
    }
}

/// A job waiting to run.
pub(crate) struct PendingJob {
    /// The fences it still waits for.
    deps: KVec<ARef<Fence>>,
    /// The callback on the last of `deps`, once the scheduler found it unsignalled.
    waiting: Option<Pin<KBox<FenceCallbackRegistration<Kick>>>>,
    /// The first error a dependency signalled: the job is skipped.
    error: Option<Error>,
    /// Set when the job is cancelled before it runs.
    cancel: Option<Error>,
    desc: Descriptor,
    job: Job,
}

impl PendingJob {
    /// A job that waits for `deps`.
    pub(crate) fn new(deps: KVec<ARef<Fence>>, desc: Descriptor, job: Job) -> Self {
        Self {
            deps,
            waiting: None,
            error: None,
            cancel: None,
            desc,
            job,
        }
    }

    /// Whether every dependency has signalled; otherwise a callback is armed on one of them.
    fn ready(&mut self, shared: &Arc<Shared>) -> bool {
        if self.cancel.is_some() {
            return true;
        }
        while let Some(dep) = self.deps.last() {
            match dep.status() {
                Some(Err(e)) => {
                    self.error.get_or_insert(e);
                    self.deps.pop();
                }
                Some(Ok(())) => {
                    self.deps.pop();
                }
                None => {
                    let armed_here = self
                        .waiting
                        .as_ref()
                        .is_some_and(|w| core::ptr::eq(w.fence(), &**dep));
                    if armed_here {
                        return false;
                    }
                    match FenceCallbackRegistration::new(
                        dep.clone(),
                        Kick(shared.clone()),
                        GFP_KERNEL,
                    ) {
                        Ok(reg) => {
                            let armed = reg.is_armed();
                            self.waiting = Some(reg);
                            if armed {
                                return false;
                            }
                            // It signalled in the meantime: look again.
                        }
                        Err(e) => {
                            // Nothing would wake the job: it fails rather than hang.
                            self.error.get_or_insert(e);
                            self.deps.clear();
                        }
                    }
                }
            }
        }
        self.waiting = None;
        true
    }

    /// The result the job gets without running, if it is not to run.
    fn verdict(&self) -> Option<JobResult> {
        match (self.cancel, self.error) {
            (Some(e), _) => Some(JobResult::aborted(e)),
            (None, Some(e)) => Some(JobResult::skipped(e)),
            (None, None) => None,
        }
    }
}

/// The jobs of one file waiting to run on a queue, oldest first.
struct Entity {
    /// The file's fence context on the queue.
    id: u64,
    jobs: KVec<PendingJob>,
    /// Places reserved by submissions under way.
    reserved: usize,
}

/// A job on the ring.
struct RingJob {
    job: Job,
    /// The result of a job that was not run (a NOP descriptor took its place).
    verdict: Option<JobResult>,
    /// What was written to the ring, to write it again after a reset.
    desc: Descriptor,
}

//@ step recovery {
/// What the watchdog saw of a queue with work when it last saw it move.
struct Watch {
    /// Whether the queue had jobs on its ring then.
    busy: bool,
    fence: u64,
    progress: u64,
    since: Instant<Monotonic>,
}

/// How a queue was stopped, for [`Queue::restart`].
#[derive(Clone, Copy)]
pub(crate) enum Stop {
    /// A queue reset because ring job `guilty` made no progress: it ends with `ETIMEDOUT`; a
    /// different job the reset aborted was innocent and runs again.
    Hung { guilty: u64 },
    /// A device reset: the jobs it aborted end with `EIO`.
    Device,
}
//@ }

/// Mutable state of a queue.
struct State {
    /// Ring sequence number of the descriptor in slot 0 since the queue was last enabled.
    base: u64,
    /// Jobs on the ring per priority.
    on_ring: [u32; 3],
    /// The queue's `PRIORITY` register as last written.
    hw_priority: u32,
    //@ step recovery {
    /// Set while a device reset is under way: nothing is written to the ring or retired.
    paused: bool,
    /// Progress last seen, for the watchdog.
    watch: Watch,
    //@ }
    /// Ring slot the next descriptor goes to.
    tail: u32,
    /// Ring sequence number of the next descriptor.
    next_seqno: u64,
    /// Highest ring sequence number retired.
    retired: u64,
    /// The job in each ring slot, until it is retired.
    ring: KVec<Option<RingJob>>,
    //@ step recovery {
    /// Ring jobs a reset stopped before they ran, in ring order, to run again.
    held: KVec<RingJob>,
    //@ }
    /// The jobs waiting to run, per file.
    entities: KVec<Entity>,
    /// The entity the scheduler looks at first, for fairness.
    next_entity: usize,
}

impl State {
    fn ring_full(&self) -> bool {
        self.next_seqno - 1 - self.retired >= u64::from(RING_SIZE - 1)
    }

    /// Counts a job of `priority` going onto the ring (`add`) or leaving it.
    fn count_priority(&mut self, priority: u32, add: bool) {
        // CAST: Priorities are checked by SET_PRIORITY: 0..=2.
        if let Some(n) = self.on_ring.get_mut(priority as usize) {
            *n = if add { *n + 1 } else { n.saturating_sub(1) };
        }
    }

    /// The priority the queue should have: that of its most urgent job on the ring.
    fn wanted_priority(&self) -> u32 {
        match self.on_ring {
            [_, _, h] if h != 0 => uapi::DRM_TERN_PRIORITY_HIGH,
            [l, 0, 0] if l != 0 => uapi::DRM_TERN_PRIORITY_LOW,
            _ => uapi::DRM_TERN_PRIORITY_NORMAL,
        }
    }

    /// The ring slot of ring sequence number `seqno`.
    fn slot(&self, seqno: u64) -> usize {
        // CAST: The remainder is below `RING_SIZE`.
        (seqno.wrapping_sub(self.base) % u64::from(RING_SIZE)) as usize
    }
}

/// A hardware queue.
#[pin_data]
pub(crate) struct Queue {
    index: usize,
    ring: DmaWords,
    compl: DmaWords,
    /// Set when the device goes away: nothing is written to the ring any more.
    dead: Atomic<i32>,
    #[pin]
    state: Mutex<State>,
}

//@ step recovery {
/// What a coredump shows of a queue.
pub(crate) struct QueueDump {
    /// Completion area: `head`, `error`, `fence`, `progress`.
    pub(crate) head: u32,
    pub(crate) error: u32,
    pub(crate) fence: u64,
    pub(crate) progress: u64,
    /// Ring jobs held for a restart.
    pub(crate) held: u32,
    //@ step debugfs {
    /// The `PRIORITY` register as last written.
    pub(crate) priority: u32,
    //@ }
    /// Driver ring state: last ring sequence number retired and submitted.
    pub(crate) retired: u64,
    pub(crate) submitted: u64,
}

/// The job a queue runs: its oldest ring job.
pub(crate) struct RunningJob {
    pub(crate) ring_seqno: u64,
    pub(crate) desc: Descriptor,
    /// The buffer holding its program and the program's offset in it.
    pub(crate) program: Option<(ARef<TernBo>, u64)>,
}
//@ }

/// A place for one job in its file's entity, taken by [`Queue::reserve`].
pub(crate) struct Reservation<'a> {
    queue: &'a Queue,
    entity: u64,
}

impl Reservation<'_> {
    /// Queues `job`; it cannot fail.
    pub(crate) fn commit(self, job: PendingJob) {
        let queue = self.queue;
        let entity = self.entity;
        core::mem::forget(self);
        let mut job = Some(job);
        {
            let mut st = queue.state.lock();
            if let Some(e) = st.entities.iter_mut().find(|e| e.id == entity) {
                e.reserved -= 1;
                if let Some(j) = job.take() {
                    // Cannot fail: the capacity was reserved.
                    if let Err(err) = e.jobs.push_within_capacity(j) {
                        job = Some(err.0);
                    }
                }
            }
        }
        // Not reached: without a reserved place the job ends at once.
        if let Some(j) = job {
            queue.finish(j.job, JobResult::aborted(ENOMEM));
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut st = self.queue.state.lock();
        if let Some(e) = st.entities.iter_mut().find(|e| e.id == self.entity) {
            e.reserved -= 1;
        }
        st.entities
            .retain(|e| !e.jobs.is_empty() || e.reserved != 0);
    }
}

impl Queue {
    /// Allocates the ring and completion area of queue `index`.
    pub(crate) fn new(dev: &Device<Bound>, index: usize) -> Result<Arc<Self>> {
        // CAST: `RING_SIZE` is small.
        let size = RING_SIZE as usize;
        let ring = DmaWords::zeroed(dev, size * DESC_WORDS)?;
        let compl = DmaWords::zeroed(dev, RECORDS + size * RECORD_WORDS)?;
        let mut jobs = KVec::with_capacity(size, GFP_KERNEL)?;
        for _ in 0..size {
            jobs.push(None, GFP_KERNEL)?;
        }
        let held = KVec::with_capacity(size, GFP_KERNEL)?; //@ step recovery
        Arc::pin_init(
            try_pin_init!(Self {
                index,
                ring,
                compl,
                dead: Atomic::new(0),
                state <- new_mutex!(State {
                    base: 1,
                    on_ring: [0; 3],
                    hw_priority: uapi::DRM_TERN_PRIORITY_NORMAL,
                    //@ step recovery {
                    paused: false,
                    watch: Watch {
                        busy: false,
                        fence: 0,
                        progress: 0,
                        since: Instant::now(),
                    },
                    //@ }
                    tail: 0,
                    next_seqno: 1,
                    retired: 0,
                    ring: jobs,
                    held, //@ step recovery
                    entities: KVec::new(),
                    next_entity: 0,
                }),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Programs and enables the queue; the device must be ready.
    pub(crate) fn enable(&self, bar: &crate::driver::Bar0<'_>) -> Result {
        let q = self.index;
        let ring = self.ring.dma_address();
        let compl = self.compl.dma_address();
        // CAST: Register halves of 64-bit addresses.
        bar.try_write32(ring as u32, regs::queue_reg(q, regs::Q_RING_LO))?;
        bar.try_write32((ring >> 32) as u32, regs::queue_reg(q, regs::Q_RING_HI))?;
        bar.try_write32(RING_SIZE, regs::queue_reg(q, regs::Q_RING_SIZE))?;
        bar.try_write32(compl as u32, regs::queue_reg(q, regs::Q_COMPL_LO))?;
        bar.try_write32((compl >> 32) as u32, regs::queue_reg(q, regs::Q_COMPL_HI))?;
        // The device clears fence, head, error and progress only before its first
        // descriptor: until then the words must not show a previous run's values.
        for i in 0..3 {
            self.compl.write(i, 0)?;
        }
        bar.try_write32(regs::Q_CTRL_ENABLE, regs::queue_reg(q, regs::Q_CTRL))?;
        // Probe only: make sure the device accepted the configuration.
        let status = bar.try_read32(regs::queue_reg(q, regs::Q_STATUS))?;
        if status != regs::Q_STATUS_ENABLED {
            return Err(EIO);
        }
        Ok(())
    }

    /// Reserves a place for one more job of entity `entity` (a file's fence context on this
    /// queue).
    ///
    /// Fails with `EBUSY` when [`MAX_PENDING`] jobs of the entity already wait, and with
    /// `ENODEV` once the device is gone.
    pub(crate) fn reserve(&self, entity: u64) -> Result<Reservation<'_>> {
        let mut st = self.state.lock();
        if self.dead.load(Relaxed) != 0 {
            return Err(ENODEV);
        }
        let at = match st.entities.iter().position(|e| e.id == entity) {
            Some(at) => at,
            None => {
                st.entities.push(
                    Entity {
                        id: entity,
                        jobs: KVec::new(),
                        reserved: 0,
                    },
                    GFP_KERNEL,
                )?;
                st.entities.len() - 1
            }
        };
        let e = st.entities.get_mut(at).ok_or(EINVAL)?;
        let wanted = e.jobs.len() + e.reserved + 1;
        let res = if wanted > MAX_PENDING {
            Err(EBUSY)
        } else {
            e.jobs
                .reserve(e.reserved + 1, GFP_KERNEL)
                .map_err(Error::from)
        };
        if let Err(err) = res {
            st.entities
                .retain(|e| !e.jobs.is_empty() || e.reserved != 0);
            return Err(err);
        }
        e.reserved += 1;
        Ok(Reservation {
            queue: self,
            entity,
        })
    }

    /// The first word of a descriptor: opcode, flags and context.
    fn first_word(desc: &Descriptor, nop: bool, irq: bool) -> u64 {
        let opcode = if nop || desc.cmd_len == 0 {
            regs::OP_NOP
        } else {
            regs::OP_EXEC
        };
        let flags = if irq { regs::DESC_FLAG_IRQ } else { 0 };
        opcode | (flags << 8) | (u64::from(desc.context) << 32)
    }

    /// Writes the descriptor of ring job `seqno`, in the slot of `st`'s ring that it takes,
    /// without the IRQ flag (see [`Queue::schedule`]).
    fn write_descriptor(&self, st: &State, seqno: u64, desc: &Descriptor, nop: bool) -> Result {
        let words = [
            Self::first_word(desc, nop, false),
            seqno,
            if nop { 0 } else { desc.cmd_va },
            if nop {
                0
            } else {
                u64::from(desc.cmd_len) | (u64::from(desc.budget) << 32)
            },
            0,
            0,
            0,
            0,
        ];
        let base = st.slot(seqno) * DESC_WORDS;
        for (i, w) in words.iter().enumerate() {
            self.ring.write(base + i, *w)?;
        }
        Ok(())
    }

    /// Sets the IRQ flag of ring job `seqno`'s descriptor, before the doorbell that publishes it.
    ///
    /// Interrupts are coalesced: of the descriptors one doorbell publishes, only the last asks
    /// for an interrupt, and each one followed by an EXEC (which may run long, so the jobs
    /// before it are not kept waiting for it). The device completes in order and the handler
    /// retires everything up to the fence, so a run of quick jobs costs one interrupt; a lone
    /// job is its own batch and is not delayed. The device reads none of these descriptors
    /// before the doorbell.
    fn flag_irq(&self, st: &State, seqno: u64) {
        if let Some(rj) = st.ring.get(st.slot(seqno)).and_then(Option::as_ref) {
            let word = Self::first_word(&rj.desc, rj.verdict.is_some(), true);
            // Not reached: the slot is in range.
            let _ = self.ring.write(st.slot(seqno) * DESC_WORDS, word);
        }
    }

    /// Moves every job that can run onto the ring, oldest first within a file, files in turn,
    /// and rings the doorbell once.
    pub(crate) fn schedule(&self, shared: &Arc<Shared>) {
        let mut ended = KVec::new();
        {
            let mut st = self.state.lock();
            //@ before recovery: if self.dead.load(Relaxed) != 0 {
            //@ step recovery {
            if self.dead.load(Relaxed) != 0 || st.paused {
                //@ }
                return;
            }
            let st = &mut *st;
            let mut queued = false;
            while !st.ring_full() {
                // The ready entity whose head job has the highest priority; among equals the
                // first from `next_entity` on, so that files take turns.
                let n = st.entities.len();
                let mut best: Option<(usize, u32)> = None;
                for k in 0..n {
                    let at = (st.next_entity + k) % n;
                    let Some(head) = st.entities.get_mut(at).and_then(|e| e.jobs.first_mut())
                    else {
                        continue;
                    };
                    if head.ready(shared) && best.is_none_or(|(_, p)| head.desc.priority > p) {
                        best = Some((at, head.desc.priority));
                    }
                }
                let Some((at, _)) = best else {
                    break;
                };
                st.next_entity = (at + 1) % n;
                let Some(Ok(pending)) = st.entities.get_mut(at).map(|e| e.jobs.remove(0)) else {
                    break;
                };
                let seqno = st.next_seqno;
                let verdict = pending.verdict();
                if queued && verdict.is_none() && pending.desc.cmd_len != 0 {
                    self.flag_irq(st, seqno - 1);
                }
                if self
                    .write_descriptor(st, seqno, &pending.desc, verdict.is_some())
                    .is_err()
                {
                    // Not reached: the slot is in range.
                    let _ = ended.push((pending.job, JobResult::aborted(EIO)), GFP_KERNEL);
                    continue;
                }
                let slot = st.slot(seqno);
                st.count_priority(pending.desc.priority, true);
                if let Some(slot) = st.ring.get_mut(slot) {
                    *slot = Some(RingJob {
                        job: pending.job,
                        verdict,
                        desc: pending.desc,
                    });
                }
                st.next_seqno = seqno + 1;
                st.tail = (st.tail + 1) % RING_SIZE;
                queued = true;
            }
            st.entities
                .retain(|e| !e.jobs.is_empty() || e.reserved != 0);
            if queued {
                self.flag_irq(st, st.next_seqno - 1);
                // The descriptors must be visible before the doorbell.
                dma_mb(Write);
                // CAST: `index` is below `NUM_QUEUES`.
                let doorbell = regs::DOORBELL_BASE + 4 * self.index;
                // The doorbell is a posted write; without the BAR the device is going away
                // and its jobs are aborted.
                if let Some(bar) = shared.bar.try_access() {
                    self.program_priority(st, &bar);
                    let _ = bar.try_write32(st.tail, doorbell);
                }
            } else if st.wanted_priority() != st.hw_priority {
                // Jobs retired: the queue may go back to a lower priority.
                if let Some(bar) = shared.bar.try_access() {
                    self.program_priority(st, &bar);
                }
            }
        }
        for (job, result) in ended {
            self.finish(job, result);
        }
    }

    /// Writes the queue's `PRIORITY` register if the jobs on its ring want another one
    /// (`docs/hardware.md` 5.7); a posted write, only when it changes.
    fn program_priority(&self, st: &mut State, bar: &crate::driver::Bar0<'_>) {
        let wanted = st.wanted_priority();
        if wanted != st.hw_priority {
            st.hw_priority = wanted;
            let _ = bar.try_write32(wanted, regs::queue_reg(self.index, regs::Q_PRIORITY));
        }
    }

    /// Cancels the jobs of entity `entity` that have not run: they go through the ring as
    /// no-ops, in order, and end as aborted with `ECANCELED`.
    pub(crate) fn cancel(&self, entity: u64, shared: &Arc<Shared>) {
        {
            let mut st = self.state.lock();
            if let Some(e) = st.entities.iter_mut().find(|e| e.id == entity) {
                for j in e.jobs.iter_mut() {
                    j.cancel = Some(ECANCELED);
                    j.waiting = None;
                    j.deps.clear();
                }
            }
        }
        self.schedule(shared);
    }

    /// Stores the result of `job` and signals its fence.
    fn finish(&self, job: Job, result: JobResult) {
        job.owner.complete(self.index, job.seqno, result);
        match result.error() {
            None => job.fence.signal(),
            Some(e) => job.fence.signal_error(e),
        }
    }

    /// Reads the fence value: the ring sequence number of the last completed descriptor.
    fn fence_value(&self) -> u64 {
        let fence = self.compl.read(0).unwrap_or(0);
        // The records of all jobs up to the fence are visible after it.
        dma_mb(Read);
        fence
    }

    /// Retires the oldest descriptor the device has completed.
    ///
    /// Returns `false` when there is none. The job and its result are handed to `done`, to be
    /// finished by the caller once it has released the lock.
    fn retire_one(&self, st: &mut State, done: &mut Option<(Job, JobResult)>) -> bool {
        //@ step recovery {
        if st.paused {
            return false;
        }
        //@ }
        let fence = self.fence_value().min(st.next_seqno - 1);
        if st.retired >= fence {
            return false;
        }
        let seqno = st.retired + 1;
        // A job the device aborted was stopped by a reset or a crash: recovery (or unbind)
        // retires it with the error that says why, so it waits here.
        if self.record_status(st, seqno) == status::ABORTED {
            return false;
        }
        st.retired = seqno;
        if let Some((rj, _code, result)) = self.take_completed(st, seqno) {
            *done = Some((rj.job, result));
        }
        true
    }

    /// The status code in the completion record of ring job `seqno`.
    fn record_status(&self, st: &State, seqno: u64) -> u32 {
        let base = RECORDS + st.slot(seqno) * RECORD_WORDS;
        // CAST: The status is the low half of the word.
        self.compl.read(base + 1).unwrap_or(0) as u32
    }

    /// Takes completed ring job `seqno` with its record's status code and its result.
    fn take_completed(&self, st: &mut State, seqno: u64) -> Option<(RingJob, u32, JobResult)> {
        let slot = st.slot(seqno);
        let rj = st.ring.get_mut(slot).and_then(Option::take)?;
        st.count_priority(rj.desc.priority, false);
        let base = RECORDS + slot * RECORD_WORDS;
        let word = |i| self.compl.read(base + i).unwrap_or(0);
        let (code_info, fault_va, duration) = (word(1), word(2), word(3));
        // CAST: The two 32-bit halves of the status word.
        let (code, info) = (code_info as u32, (code_info >> 32) as u32);
        let result = rj
            .verdict
            .unwrap_or_else(|| JobResult::from_record(code, info, fault_va, duration));
        Some((rj, code, result))
    }

    /// Retires completed jobs, signalling their fences, then lets waiting jobs onto the freed
    /// ring slots; called by the interrupt handler.
    pub(crate) fn process(&self, shared: &Arc<Shared>) {
        if self.retire_completed() {
            self.schedule(shared);
        }
    }

    /// Retires every job the device has completed; returns whether there was one.
    fn retire_completed(&self) -> bool {
        let mut retired = false;
        loop {
            let mut done = None;
            let more = self.retire_one(&mut self.state.lock(), &mut done);
            // Signalling runs callbacks and dropping a job may release an address space:
            // both happen outside the lock.
            if let Some((job, result)) = done {
                self.finish(job, result);
            }
            if !more {
                return retired;
            }
            retired = true;
        }
    }

    //@ step recovery {
    /// Whether the queue has jobs on its ring and neither its fence nor its progress count
    /// (`docs/hardware.md` 5.5) moved for `timeout`: then the job it runs is stuck.
    pub(crate) fn stalled(&self, timeout: Delta) -> bool {
        let mut st = self.state.lock();
        let fence = self.compl.read(0).unwrap_or(0);
        let progress = self.compl.read(regs::COMPL_PROGRESS_WORD).unwrap_or(0);
        let busy = st.retired < st.next_seqno - 1 && !st.paused && self.dead.load(Relaxed) == 0;
        let w = &mut st.watch;
        // The clock starts when the queue is first seen busy without moving: a job gets the
        // whole timeout from (at most a watchdog period after) its start.
        if !busy || !w.busy || fence != w.fence || progress != w.progress {
            *w = Watch {
                busy,
                fence,
                progress,
                since: Instant::now(),
            };
            return false;
        }
        w.since.elapsed() >= timeout
    }

    /// Resets the queue, whose oldest ring job (the one it runs) made no progress, and starts it
    /// again with the jobs behind that one (`docs/hardware.md` 10.2). The stuck job ends as
    /// aborted with `ETIMEDOUT`; its file's jobs record is returned, to be blamed. Fails if the
    /// device did not stop or restart the queue: then only a device reset helps, and the jobs
    /// that did not run are kept for it.
    pub(crate) fn reset_hung(&self, shared: &Arc<Shared>) -> Result<Option<Arc<FileJobs>>> {
        let mut ended = KVec::with_capacity(RING_SIZE as usize, GFP_KERNEL)?;
        let guilty = {
            let mut st = self.state.lock();
            if self.dead.load(Relaxed) != 0 || st.paused {
                return Ok(None);
            }
            let head = st.retired + 1;
            if head > st.next_seqno - 1 {
                return Ok(None);
            }
            let stopped = {
                let bar = shared.bar.try_access().ok_or(ENODEV)?;
                let q = self.index;
                bar.try_write32(regs::Q_CTRL_RESET, regs::queue_reg(q, regs::Q_CTRL))?;
                // The read returns once the queue has stopped and written its record.
                bar.try_read32(regs::queue_reg(q, regs::Q_STATUS))? & regs::Q_STATUS_ENABLED == 0
            };
            if !stopped {
                return Err(EIO);
            }
            let guilty = self.collect(&mut st, Stop::Hung { guilty: head }, &mut ended);
            let restarted = self.restart_locked(&mut st, shared);
            if restarted.is_err() {
                st.paused = true;
            }
            drop(st);
            for (job, result) in ended.drain_all() {
                self.finish(job, result);
            }
            restarted?;
            guilty
        };
        self.schedule(shared);
        Ok(guilty)
    }

    /// Stops writing to the ring and retiring, for a device reset.
    pub(crate) fn pause(&self) {
        self.state.lock().paused = true;
    }

    /// After a device reset: ends the jobs it aborted with `EIO` and keeps those that did not
    /// run for [`Queue::restart`].
    pub(crate) fn collect_after_device_reset(&self) -> Result {
        let mut ended = KVec::with_capacity(RING_SIZE as usize, GFP_KERNEL)?;
        {
            let mut st = self.state.lock();
            // The reset set the register back to normal.
            st.hw_priority = uapi::DRM_TERN_PRIORITY_NORMAL;
            self.collect(&mut st, Stop::Device, &mut ended);
        }
        for (job, result) in ended.drain_all() {
            self.finish(job, result);
        }
        Ok(())
    }

    /// Enables the queue again after a device reset, runs the jobs a reset kept, then the
    /// waiting ones.
    pub(crate) fn restart(&self, shared: &Arc<Shared>) -> Result {
        {
            let mut st = self.state.lock();
            self.restart_locked(&mut st, shared)?;
        }
        self.schedule(shared);
        Ok(())
    }

    /// Retires what the device completed after it stopped the queue (`stop` says how), and
    /// moves the ring jobs that did not run to `held`. `ended` must have room for a ring's jobs.
    /// Returns the file of the guilty job.
    fn collect(
        &self,
        st: &mut State,
        stop: Stop,
        ended: &mut KVec<(Job, JobResult)>,
    ) -> Option<Arc<FileJobs>> {
        let fence = self.fence_value().min(st.next_seqno - 1);
        let mut guilty_file = None;
        while st.retired < st.next_seqno - 1 {
            let seqno = st.retired + 1;
            st.retired = seqno;
            let taken = if seqno <= fence {
                self.take_completed(st, seqno)
                    .map(|(rj, code, result)| (rj, Some((code, result))))
            } else {
                let at = st.slot(seqno);
                let rj = st.ring.get_mut(at).and_then(Option::take);
                if let Some(rj) = &rj {
                    st.count_priority(rj.desc.priority, false);
                }
                rj.map(|rj| (rj, None))
            };
            let Some((rj, record)) = taken else {
                continue;
            };
            let end = match (record, stop) {
                // Not run: it runs after the restart.
                (None, _) => None,
                (Some((code, _)), Stop::Hung { guilty }) if code == status::ABORTED => {
                    if seqno == guilty && rj.verdict.is_none() {
                        guilty_file = Some(rj.job.owner.clone());
                        Some(JobResult::aborted(ETIMEDOUT))
                    } else {
                        // Started just before the reset and aborted by it: innocent.
                        None
                    }
                }
                (Some((code, _)), Stop::Device) if code == status::ABORTED => {
                    Some(rj.verdict.unwrap_or(JobResult::aborted(EIO)))
                }
                (Some((_, result)), _) => Some(result),
            };
            let pushed = match end {
                Some(result) => ended
                    .push_within_capacity((rj.job, result))
                    .map_err(|e| e.0 .0),
                None => st.held.push_within_capacity(rj).map_err(|e| e.0.job),
            };
            // Not reached: both have room for a ring.
            if let Err(job) = pushed {
                drop(job);
            }
        }
        guilty_file
    }

    /// Enables the queue and writes the held jobs to the ring from slot 0.
    fn restart_locked(&self, st: &mut State, shared: &Arc<Shared>) -> Result {
        if self.dead.load(Relaxed) != 0 {
            return Err(ENODEV);
        }
        {
            let bar = shared.bar.try_access().ok_or(ENODEV)?;
            self.enable(&bar)?;
        }
        let held = core::mem::replace(
            &mut st.held,
            KVec::with_capacity(RING_SIZE as usize, GFP_KERNEL)?,
        );
        // The device starts at slot 0 with fence 0, below every ring sequence number retired.
        st.base = st.next_seqno;
        st.tail = 0;
        st.paused = false;
        for rj in held {
            let seqno = st.next_seqno;
            if st.tail != 0 && rj.verdict.is_none() && rj.desc.cmd_len != 0 {
                self.flag_irq(st, seqno - 1);
            }
            // Not reached: the slot is in range.
            let _ = self.write_descriptor(st, seqno, &rj.desc, rj.verdict.is_some());
            let at = st.slot(seqno);
            st.count_priority(rj.desc.priority, true);
            if let Some(slot) = st.ring.get_mut(at) {
                *slot = Some(rj);
            }
            st.next_seqno = seqno + 1;
            st.tail = (st.tail + 1) % RING_SIZE;
        }
        st.watch.busy = false;
        st.watch.since = Instant::now();
        if let Some(bar) = shared.bar.try_access() {
            self.program_priority(st, &bar);
            if st.tail != 0 {
                self.flag_irq(st, st.next_seqno - 1);
                dma_mb(Write);
                let _ = bar.try_write32(st.tail, regs::DOORBELL_BASE + 4 * self.index);
            }
        }
        Ok(())
    }

    /// The queue's state, for a coredump.
    pub(crate) fn dump(&self) -> QueueDump {
        let st = self.state.lock();
        let word = |i| self.compl.read(i).unwrap_or(0);
        let head_error = word(1);
        QueueDump {
            // CAST: The two 32-bit halves of the word.
            head: head_error as u32,
            error: (head_error >> 32) as u32,
            fence: word(0),
            progress: word(regs::COMPL_PROGRESS_WORD),
            // CAST: At most a ring of jobs.
            held: st.held.len() as u32,
            priority: st.hw_priority, //@ step debugfs
            retired: st.retired,
            submitted: st.next_seqno - 1,
        }
    }

    /// The job the queue runs, if it has one on its ring.
    pub(crate) fn running_job(&self) -> Option<RunningJob> {
        let st = self.state.lock();
        let seqno = st.retired + 1;
        if seqno > st.next_seqno - 1 {
            return None;
        }
        let rj = st.ring.get(st.slot(seqno))?.as_ref()?;
        Some(RunningJob {
            ring_seqno: seqno,
            desc: rj.desc,
            program: rj.job.program.clone(),
        })
    }
    //@ }

    /// Marks the queue dead: nothing is written to the ring any more.
    pub(crate) fn kill(&self) {
        let _guard = self.state.lock();
        self.dead.store(1, Relaxed);
    }

    /// Retires what completed and ends every other job with `err`, ring jobs first, then the
    /// waiting ones of each file in order; the device must be stopped. A job the device
    /// aborted when it was stopped ends with `err` too.
    pub(crate) fn abort_all(&self, err: Error) {
        loop {
            let done = {
                let mut st = self.state.lock();
                let fence = self.fence_value().min(st.next_seqno - 1);
                if st.retired >= fence {
                    break;
                }
                let seqno = st.retired + 1;
                st.retired = seqno;
                self.take_completed(&mut st, seqno)
                    .map(|(rj, code, result)| {
                        let stopped = code == status::ABORTED && rj.verdict.is_none();
                        (
                            rj.job,
                            if stopped {
                                JobResult::aborted(err)
                            } else {
                                result
                            },
                        )
                    })
            };
            if let Some((job, result)) = done {
                self.finish(job, result);
            }
        }
        loop {
            let job = {
                let mut st = self.state.lock();
                if st.retired < st.next_seqno - 1 {
                    let seqno = st.retired + 1;
                    st.retired = seqno;
                    let at = st.slot(seqno);
                    match st.ring.get_mut(at).and_then(Option::take) {
                        Some(rj) => {
                            st.count_priority(rj.desc.priority, false);
                            rj.job
                        }
                        None => continue,
                    }
                //@ step recovery {
                } else if !st.held.is_empty() {
                    match st.held.remove(0) {
                        Ok(rj) => rj.job,
                        Err(_) => continue,
                    }
                //@ }
                } else {
                    let next = st
                        .entities
                        .iter_mut()
                        .find(|e| !e.jobs.is_empty())
                        .and_then(|e| e.jobs.remove(0).ok());
                    match next {
                        Some(p) => p.job,
                        None => break,
                    }
                }
            };
            self.finish(job, JobResult::aborted(err));
        }
    }
}

/// Handler of a queue interrupt (MSI-X vector `1 + q`).
pub(crate) struct QueueIrq {
    queue: Arc<Queue>,
    shared: Arc<Shared>,
}

impl QueueIrq {
    /// A handler for `queue`.
    pub(crate) fn new(queue: Arc<Queue>, shared: Arc<Shared>) -> Self {
        Self { queue, shared }
    }
}

impl ThreadedHandler for QueueIrq {
    fn handle_threaded(&self) -> IrqReturn {
        self.queue.process(&self.shared);
        IrqReturn::Handled
    }
}

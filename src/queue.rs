// SPDX-License-Identifier: GPL-2.0

//! Hardware queues: descriptor ring, completion area, submission, retirement and waiting
//! (`docs/hardware.md` 5).
//!
//! The job path never reads a register: completion is read from the fence and the records in
//! the completion area (host memory), and the doorbell is a posted write.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    io::Io,
    irq::{
        IrqReturn,
        ThreadedHandler, //
    },
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        barrier::{
            dma_mb,
            Read,
            Write, //
        },
        new_condvar,
        new_mutex,
        Arc,
        CondVar,
        CondVarTimeoutResult,
        Mutex, //
    },
    time::{
        msecs_to_jiffies,
        Jiffies, //
    },
};

use crate::{
    driver::Bar0,
    job::{
        Job,
        JobResult, //
    },
    mem::DmaWords,
    regs,
};

/// Descriptors per ring.
pub(crate) const RING_SIZE: u32 = 256;
/// Words per descriptor.
const DESC_WORDS: usize = regs::DESC_SIZE / 8;
/// Words per completion record.
const RECORD_WORDS: usize = regs::RECORD_SIZE / 8;
/// Word index of the first completion record.
const RECORDS: usize = regs::COMPL_HEADER / 8;

/// What a submission writes into a descriptor.
pub(crate) struct Descriptor {
    /// MMU context.
    pub(crate) context: u32,
    /// Device VA of the program; 0 with `cmd_len` 0 for a no-op job.
    pub(crate) cmd_va: u64,
    /// Program length in bytes; 0 submits a NOP descriptor.
    pub(crate) cmd_len: u32,
    /// Instruction budget.
    pub(crate) budget: u32,
}

/// Mutable state of a queue.
struct State {
    /// Ring slot the next descriptor goes to.
    tail: u32,
    /// Sequence number of the next job.
    next_seqno: u64,
    /// Highest sequence number retired.
    retired: u64,
    /// The job in each ring slot, until it is retired.
    jobs: KVec<Option<Job>>,
}

/// A hardware queue.
#[pin_data]
pub(crate) struct Queue {
    index: usize,
    ring: DmaWords,
    compl: DmaWords,
    /// Set when the device goes away: no more submissions, waiters return `ENODEV`.
    dead: Atomic<i32>,
    #[pin]
    state: Mutex<State>,
    /// Signalled whenever jobs were retired or the device went away.
    #[pin]
    retired: CondVar,
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
        Arc::pin_init(
            try_pin_init!(Self {
                index,
                ring,
                compl,
                dead: Atomic::new(0),
                state <- new_mutex!(State {
                    tail: 0,
                    next_seqno: 1,
                    retired: 0,
                    jobs,
                }),
                retired <- new_condvar!(),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Programs and enables the queue; the device must be ready.
    pub(crate) fn enable(&self, bar: &Bar0<'_>) -> Result {
        let q = self.index;
        let ring = self.ring.dma_address();
        let compl = self.compl.dma_address();
        // CAST: Register halves of 64-bit addresses.
        bar.try_write32(ring as u32, regs::queue_reg(q, regs::Q_RING_LO))?;
        bar.try_write32((ring >> 32) as u32, regs::queue_reg(q, regs::Q_RING_HI))?;
        bar.try_write32(RING_SIZE, regs::queue_reg(q, regs::Q_RING_SIZE))?;
        bar.try_write32(compl as u32, regs::queue_reg(q, regs::Q_COMPL_LO))?;
        bar.try_write32((compl >> 32) as u32, regs::queue_reg(q, regs::Q_COMPL_HI))?;
        bar.try_write32(regs::Q_CTRL_ENABLE, regs::queue_reg(q, regs::Q_CTRL))?;
        // Probe only: make sure the device accepted the configuration.
        let status = bar.try_read32(regs::queue_reg(q, regs::Q_STATUS))?;
        if status != regs::Q_STATUS_ENABLED {
            return Err(EIO);
        }
        Ok(())
    }

    /// The sequence number of the last job submitted.
    pub(crate) fn last_submitted(&self) -> u64 {
        self.state.lock().next_seqno - 1
    }

    /// The sequence number up to which every job has been retired: its completion handled and
    /// everything it held released, or aborted with the device stopped.
    pub(crate) fn retired_up_to(&self) -> u64 {
        self.state.lock().retired
    }

    /// Reads the fence: the sequence number of the last completed job.
    fn fence(&self) -> u64 {
        let fence = self.compl.read(0).unwrap_or(0);
        // The records of all jobs up to the fence are visible after it.
        dma_mb(Read);
        fence
    }

    /// Retires the oldest job the device has completed, storing its result.
    ///
    /// Returns `false` when there is none. The job is handed to `done`, to be dropped by the
    /// caller once it has released the lock.
    fn retire_one(&self, st: &mut State, done: &mut Option<Job>) -> bool {
        let fence = self.fence().min(st.next_seqno - 1);
        if st.retired >= fence {
            return false;
        }
        let seqno = st.retired + 1;
        st.retired = seqno;
        let slot = Self::slot(seqno);
        if let Some(job) = st.jobs.get_mut(slot).and_then(Option::take) {
            let base = RECORDS + slot * RECORD_WORDS;
            let word = |i| self.compl.read(base + i).unwrap_or(0);
            let (code_info, fault_va, duration) = (word(1), word(2), word(3));
            // CAST: The two 32-bit halves of the status word.
            let (code, info) = (code_info as u32, (code_info >> 32) as u32);
            let result = JobResult::from_record(code, info, fault_va, duration);
            job.owner.complete(self.index, job.seqno, result);
            *done = Some(job);
        }
        true
    }

    /// The ring slot of job `seqno`.
    fn slot(seqno: u64) -> usize {
        // CAST: The remainder is below `RING_SIZE`.
        ((seqno - 1) % u64::from(RING_SIZE)) as usize
    }

    /// Retires completed jobs and wakes up waiters; called by the interrupt handler and waiters.
    pub(crate) fn process(&self) {
        loop {
            let mut done = None;
            let more = self.retire_one(&mut self.state.lock(), &mut done);
            // Dropping a job may release an address space: it happens outside the lock.
            drop(done);
            if !more {
                break;
            }
        }
        self.retired.notify_all();
    }

    /// Puts a job on the ring and rings the doorbell; returns its sequence number.
    ///
    /// `job` runs under the queue lock with the job's sequence number, after the last step that
    /// can fail; if it fails, nothing changes.
    pub(crate) fn submit(
        &self,
        bar: &Bar0<'_>,
        desc: &Descriptor,
        job: impl FnOnce(u64) -> Result<Job>,
    ) -> Result<u64> {
        let full = |st: &State| st.next_seqno - 1 - st.retired >= u64::from(RING_SIZE - 1);
        if full(&self.state.lock()) {
            // The device may have completed jobs whose interrupt has not been handled yet.
            self.process();
        }
        let mut st = self.state.lock();
        // Checked under the lock: once `kill()` returned, no job can be added.
        if self.dead.load(Relaxed) != 0 {
            return Err(ENODEV);
        }
        if full(&st) {
            return Err(EBUSY);
        }

        let seqno = st.next_seqno;
        let slot = Self::slot(seqno);

        let opcode = if desc.cmd_len == 0 {
            regs::OP_NOP
        } else {
            regs::OP_EXEC
        };
        let words = [
            opcode | (regs::DESC_FLAG_IRQ << 8) | (u64::from(desc.context) << 32),
            seqno,
            desc.cmd_va,
            u64::from(desc.cmd_len) | (u64::from(desc.budget) << 32),
            0,
            0,
            0,
            0,
        ];
        // The slot is free and the device does not read it before the doorbell: writing it
        // first means nothing is left behind if a step below fails.
        let base = slot * DESC_WORDS;
        for (i, w) in words.iter().enumerate() {
            self.ring.write(base + i, *w)?;
        }
        // The last step that can fail.
        let job = job(seqno)?;
        if let Some(s) = st.jobs.get_mut(slot) {
            *s = Some(job);
        }
        st.next_seqno = seqno + 1;
        st.tail = (st.tail + 1) % RING_SIZE;

        // The descriptor must be visible before the doorbell.
        dma_mb(Write);
        // CAST: `index` is below `NUM_QUEUES`.
        let doorbell = regs::DOORBELL_BASE + 4 * self.index;
        // The offset is in range; a failure would only mean the job never runs.
        let _ = bar.try_write32(st.tail, doorbell);
        Ok(seqno)
    }

    /// Waits until job `seqno` is retired or `timeout` jiffies have passed.
    ///
    /// Returns `ETIME` on timeout, `EINTR` on a signal and `ENODEV` if the device went away.
    pub(crate) fn wait(&self, seqno: u64, timeout: Jiffies) -> Result {
        let mut remaining = timeout;
        loop {
            self.process();
            let mut st = self.state.lock();
            if st.retired >= seqno {
                return Ok(());
            }
            if self.dead.load(Relaxed) != 0 {
                return Err(ENODEV);
            }
            if remaining == 0 {
                return Err(ETIME);
            }
            // The fence may have moved since `process()`: retire again under the lock, so that
            // the interrupt that announced it cannot be missed.
            if self.fence() >= seqno {
                continue;
            }
            match self.retired.wait_interruptible_timeout(&mut st, remaining) {
                CondVarTimeoutResult::Timeout => remaining = 0,
                CondVarTimeoutResult::Signal { .. } => return Err(EINTR),
                CondVarTimeoutResult::Woken { jiffies } => remaining = jiffies,
            }
        }
    }

    /// Marks the queue dead and wakes up every waiter.
    pub(crate) fn kill(&self) {
        let _guard = self.state.lock();
        self.dead.store(1, Relaxed);
        self.retired.notify_all();
    }

    /// Retires what completed and ends every other job as aborted; the device must be stopped.
    pub(crate) fn abort_all(&self) {
        self.process();
        loop {
            let job = {
                let mut st = self.state.lock();
                st.retired = st.next_seqno - 1;
                st.jobs.iter_mut().find_map(Option::take)
            };
            let Some(job) = job else {
                break;
            };
            job.owner
                .complete(self.index, job.seqno, JobResult::aborted());
        }
        self.retired.notify_all();
    }
}

/// Converts a relative timeout in nanoseconds into jiffies, rounding up.
pub(crate) fn ns_to_jiffies(ns: u64) -> Jiffies {
    if ns == 0 {
        return 0;
    }
    let ms = ns.div_ceil(1_000_000);
    msecs_to_jiffies(u32::try_from(ms).unwrap_or(u32::MAX))
}

/// Handler of a queue interrupt (MSI-X vector `1 + q`).
pub(crate) struct QueueIrq {
    queue: Arc<Queue>,
}

impl QueueIrq {
    /// A handler for `queue`.
    pub(crate) fn new(queue: Arc<Queue>) -> Self {
        Self { queue }
    }
}

impl ThreadedHandler for QueueIrq {
    fn handle_threaded(&self) -> IrqReturn {
        self.queue.process();
        IrqReturn::Handled
    }
}

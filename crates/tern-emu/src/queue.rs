// SPDX-License-Identifier: MIT OR Apache-2.0
//! Hardware queues (`docs/hardware.md` 5): registers, doorbells, and the worker thread that
//! runs descriptors and writes completions. A worker sleeps on a condition variable until a
//! doorbell, so an idle device burns no CPU.
//!
//! Every change to what a worker waits for (work, `abort`, the device's `stop`) is made or
//! announced while holding the queue lock, and every wait re-checks under it, so no wake-up
//! is lost.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use tern_hw::queue::{self as hq, Descriptor, Record, qerr, status};
use tern_hw::regs::q as r;
use tern_hw::{dev_status, vectors};

use crate::device::Inner;
use crate::engine::{self, Env, Outcome};
use crate::mmu::AddressSpace;

/// Queue registers and progress.
#[derive(Default)]
pub(crate) struct QState {
    ring: u64,
    size: u32,
    compl: u64,
    enabled: bool,
    error: u32,
    head: u32,
    tail: u32,
    /// A job was taken and has not completed.
    running: bool,
    /// Seqno of the descriptor taken last.
    running_seqno: u64,
    /// Enabled, the completion area's first 24 bytes not yet cleared (5.2).
    clear_compl: bool,
}

/// One hardware queue.
pub struct Queue {
    st: Mutex<QState>,
    cv: Condvar,
    abort: AtomicBool,
    /// Set by a reset: the worker's message-path DMA stops waiting for the client.
    cancel: Arc<AtomicBool>,
    /// `PRIORITY` register (5.7).
    prio: AtomicU32,
    /// Progress count since the queue was enabled (5.5).
    progress: AtomicU64,
}

impl Default for Queue {
    fn default() -> Self {
        Self {
            st: Mutex::default(),
            cv: Condvar::new(),
            abort: AtomicBool::new(false),
            cancel: Arc::default(),
            prio: AtomicU32::new(r::PRIO_NORMAL),
            progress: AtomicU64::new(0),
        }
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the running job with ABORTED (reset, crash, drop), keeps the queue's registers, and
    /// wakes the worker (also after a change of the device's `stop` flag, made before the
    /// call: the lock orders it before the worker's next check).
    pub(crate) fn abort(&self) {
        let _st = self.lock();
        self.abort.store(true, Ordering::SeqCst);
        self.cv.notify_all();
    }

    /// Makes the worker's message-path DMA stop waiting (reset, drop).
    pub(crate) fn cancel_dma(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// First half of a reset: abort the running job, cancel its DMA, disable the queue.
    pub(crate) fn begin_reset(&self) {
        let mut st = self.lock();
        self.abort.store(true, Ordering::SeqCst);
        self.cancel.store(true, Ordering::SeqCst);
        st.enabled = false;
        self.cv.notify_all();
    }

    /// Second half: wait until the running job's record is written and the worker is idle.
    pub(crate) fn finish_reset(&self) {
        let mut st = self.lock();
        while st.running {
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        self.abort.store(false, Ordering::SeqCst);
        self.cancel.store(false, Ordering::SeqCst);
    }

    /// Queue reset: abort the running job, wait for its record, disable the queue.
    pub(crate) fn reset_and_wait(&self) {
        self.begin_reset();
        self.finish_reset();
    }

    /// Back to reset values (device reset).
    pub(crate) fn clear(&self) {
        *self.lock() = QState::default();
        self.prio.store(r::PRIO_NORMAL, Ordering::SeqCst);
        self.progress.store(0, Ordering::SeqCst);
    }

    pub(crate) fn read32(&self, off: u64) -> u32 {
        let st = self.lock();
        match off {
            r::RING_LO => st.ring as u32,
            r::RING_HI => (st.ring >> 32) as u32,
            r::RING_SIZE => st.size,
            r::COMPL_LO => st.compl as u32,
            r::COMPL_HI => (st.compl >> 32) as u32,
            r::CTRL => u32::from(st.enabled),
            r::STATUS => {
                (if st.enabled { r::STATUS_ENABLED } else { 0 })
                    | (if st.error != 0 { r::STATUS_ERROR } else { 0 })
            }
            r::PRIORITY => self.prio.load(Ordering::SeqCst),
            _ => 0,
        }
    }

    pub(crate) fn write32(&self, dev: &Inner, q: usize, off: u64, val: u32) {
        if off == r::CTRL && val & r::CTRL_RESET != 0 {
            let (busy, seqno) = {
                let st = self.lock();
                (st.running, st.running_seqno)
            };
            self.reset_and_wait();
            self.lock().error = 0;
            log::info!("queue {q}: reset");
            let line = if busy {
                format!("queue {q}: reset, job seqno {seqno} aborted")
            } else {
                format!("queue {q}: reset, no job running")
            };
            let (page, len) = dev.event_page();
            dev.after_write(page, len, move |d| d.fw_log(&line));
            return;
        }
        if off == r::PRIORITY {
            self.prio.store(val.min(r::PRIO_HIGH), Ordering::SeqCst);
            return;
        }
        let mut st = self.lock();
        let lo = |v: u64| (v & !0xffff_ffff) | u64::from(val);
        let hi = |v: u64| (v & 0xffff_ffff) | u64::from(val) << 32;
        if st.enabled && off != r::CTRL {
            log::debug!("queue {q}: register {off:#x} written while enabled, ignored");
            return;
        }
        match off {
            r::RING_LO => st.ring = lo(st.ring),
            r::RING_HI => st.ring = hi(st.ring),
            r::RING_SIZE => st.size = val,
            r::COMPL_LO => st.compl = lo(st.compl),
            r::COMPL_HI => st.compl = hi(st.compl),
            r::CTRL if val & r::CTRL_ENABLE == 0 => st.enabled = false,
            r::CTRL if !st.enabled => {
                let ready = dev.st().dev_status & dev_status::READY != 0;
                let ok = ready
                    && st.size.is_power_of_two()
                    && (r::MIN_ENTRIES..=r::MAX_ENTRIES).contains(&st.size)
                    && st.ring.is_multiple_of(64)
                    && st.compl.is_multiple_of(64)
                    && st.ring != 0
                    && st.compl != 0;
                if !ok {
                    st.error = qerr::BAD_CONFIG;
                    log::warn!(
                        "queue {q}: enable refused (ready={ready}, size={}, ring={:#x}, compl={:#x})",
                        st.size,
                        st.ring,
                        st.compl
                    );
                    return;
                }
                if !dev.bus_master() {
                    log::warn!("queue {q}: enable refused, bus mastering is off");
                    st.error = qerr::COMPL_DMA;
                    return;
                }
                st.head = 0;
                st.tail = 0;
                st.error = 0;
                self.progress.store(0, Ordering::SeqCst);
                // The worker clears the completion area before its first descriptor: a
                // register write does not wait for DMA (9).
                st.clear_compl = true;
                st.enabled = true;
                self.cv.notify_all();
                log::debug!("queue {q}: enabled, {} entries", st.size);
            }
            _ => {}
        }
    }

    pub(crate) fn doorbell(&self, tail: u32, ready: bool) {
        let mut st = self.lock();
        if !st.enabled || !ready || tail >= st.size {
            log::debug!(
                "doorbell {tail} ignored (enabled={}, ready={ready}, size={})",
                st.enabled,
                st.size
            );
            return;
        }
        st.tail = tail;
        self.cv.notify_all();
    }
}

/// The worker of queue `q`: waits for work, runs descriptors in ring order, completes them.
pub(crate) fn worker(dev: &Inner, q: usize) {
    let queue = &dev.queues[q];
    crate::dma::set_cancel(Some(queue.cancel.clone()));
    loop {
        let mut st = queue.lock();
        // A crashed firmware runs nothing more (10.1) until a device reset.
        let has_work = |st: &QState| {
            st.enabled
                && st.error == 0
                && (st.clear_compl || st.head != st.tail)
                && !dev.halted.load(Ordering::SeqCst)
        };
        while !dev.stop.load(Ordering::SeqCst) && !has_work(&st) {
            st = queue.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if dev.stop.load(Ordering::SeqCst) {
            return;
        }
        if st.clear_compl {
            st.clear_compl = false;
            st.running = true;
            let compl = st.compl;
            drop(st);
            if dev.dma_write(compl, &[0u8; 24]).is_err() {
                log::warn!("queue {q}: completion area unwritable at enable");
                fail_queue(dev, q, qerr::COMPL_DMA);
            } else {
                let mut st = queue.lock();
                st.running = false;
                queue.cv.notify_all();
            }
            continue;
        }
        let (ring, compl, head, size) = (st.ring, st.compl, st.head, st.size);
        st.running = true;
        st.running_seqno = 0;
        drop(st);

        let desc_at = ring.checked_add(u64::from(head) * hq::DESC_SIZE as u64);
        let mut raw = [0u8; hq::DESC_SIZE];
        let desc = match desc_at.map(|a| dev.dma_read(a, &mut raw)) {
            Some(Ok(())) => Descriptor::from_bytes(&raw),
            Some(Err(e)) => {
                log::warn!("queue {q}: descriptor ring unreadable: {e}");
                fail_queue(dev, q, qerr::RING_DMA);
                continue;
            }
            None => {
                log::warn!("queue {q}: descriptor address overflows");
                fail_queue(dev, q, qerr::RING_DMA);
                continue;
            }
        };
        queue.lock().running_seqno = desc.seqno;
        let hang = dev.faults.hang_mask.load(Ordering::SeqCst) & (1 << q) != 0;
        let t0 = dev.now();
        let (status, info, fault_va) = if hang {
            log::warn!(
                "queue {q}: hanging on seqno {} (fault injection)",
                desc.seqno
            );
            let mut st = queue.lock();
            while !queue.abort.load(Ordering::SeqCst) && !dev.stop.load(Ordering::SeqCst) {
                st = queue.cv.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            (status::ABORTED, 0, 0)
        } else {
            execute(dev, q, compl, &desc)
        };
        if status != status::OK && status != status::ABORTED {
            dev.fw_log(&format!(
                "queue {q}: job seqno {} ended with {} (info {info:#x}, va {fault_va:#x})",
                desc.seqno,
                status::name(status)
            ));
        }
        let rec = Record {
            seqno: desc.seqno,
            status,
            info,
            fault_va,
            duration: dev.now().saturating_sub(t0),
        };
        let next = (head + 1) % size;
        let rec_at =
            compl.checked_add(hq::COMPL_HEADER as u64 + u64::from(head) * hq::RECORD_SIZE as u64);
        let ok = rec_at.is_some_and(|a| dev.dma_write(a, &rec.to_bytes()).is_ok())
            && compl
                .checked_add(8)
                .is_some_and(|a| dev.dma_write(a, &next.to_le_bytes()).is_ok())
            && dev.dma_write(compl, &desc.seqno.to_le_bytes()).is_ok();
        let mut st = queue.lock();
        st.running = false;
        st.head = next;
        if !ok {
            st.error = qerr::COMPL_DMA;
            st.enabled = false;
        }
        queue.cv.notify_all();
        drop(st);
        if !ok {
            log::warn!("queue {q}: completion area unwritable");
            dev.irqs.raise(vectors::queue(q as u16));
        } else if desc.flags & hq::FLAG_IRQ != 0 {
            dev.irqs.raise(vectors::queue(q as u16));
        }
    }
}

fn fail_queue(dev: &Inner, q: usize, code: u32) {
    let queue = &dev.queues[q];
    let mut st = queue.lock();
    st.running = false;
    st.error = code;
    st.enabled = false;
    let compl = st.compl;
    queue.cv.notify_all();
    drop(st);
    if let Some(a) = compl.checked_add(12) {
        // Not written when bus mastering is off (often the reason for the error).
        let _ = dev.dma_write(a, &code.to_le_bytes());
    }
    dev.irqs.raise(vectors::queue(q as u16));
}

/// Runs one descriptor; returns (status, info, fault_va).
fn execute(dev: &Inner, q: usize, compl: u64, d: &Descriptor) -> (u32, u32, u64) {
    let seen = dev.inval_begin(q);
    let r = execute_in(dev, q, compl, seen, d);
    dev.inval_end(q);
    r
}

/// Writes the progress count of queue `q` (5.5); a failed write is the completion's problem.
fn publish_progress(dev: &Inner, compl: u64, value: u64) {
    if let Some(a) = compl.checked_add(hq::COMPL_PROGRESS) {
        let _ = dev.dma_write(a, &value.to_le_bytes());
    }
}

fn execute_in(dev: &Inner, q: usize, compl: u64, seen: u64, d: &Descriptor) -> (u32, u32, u64) {
    let queue = &dev.queues[q];
    if d.reserved_set || d.opcode > hq::OP_EXEC {
        return (status::BAD_DESCRIPTOR, 0, 0);
    }
    if d.opcode == hq::OP_NOP {
        return (status::OK, 0, 0);
    }
    if !d.cmd_len.is_multiple_of(8) || d.cmd_len > hq::MAX_CMD_LEN {
        return (status::BAD_DESCRIPTOR, 0, 0);
    }
    let decode = dev.st().fw.as_ref().map(|f| f.decode);
    let Some(decode) = decode else {
        return (status::NO_FIRMWARE, 0, 0);
    };
    let mut space = match AddressSpace::for_job(dev, q, seen, d.context) {
        Ok(s) => s,
        Err(f) => return (status::MMU_FAULT, f.kind, 0),
    };
    if dev.faults.mmu_fault_next.swap(false, Ordering::SeqCst) {
        log::warn!("injecting an MMU fault into seqno {}", d.seqno);
        return (status::MMU_FAULT, tern_hw::queue::fault::READ, d.cmd_va);
    }
    let mut prog = vec![0u8; d.cmd_len as usize];
    if let Err(f) = space.read(d.cmd_va, &mut prog) {
        return (status::MMU_FAULT, f.kind, f.va);
    }
    let now = || dev.now();
    let base = queue.progress.load(Ordering::SeqCst);
    let heartbeat = |t: u64| publish_progress(dev, compl, base + t);
    // A job runs at the priority its queue has when it starts (5.7).
    let prio = queue.prio.load(Ordering::SeqCst).min(r::PRIO_HIGH) as usize;
    let preempted = || {
        dev.running[prio + 1..]
            .iter()
            .any(|n| n.load(Ordering::Relaxed) != 0)
    };
    let env = Env {
        decode: &decode,
        budget: if d.budget == 0 {
            hq::DEFAULT_BUDGET
        } else {
            d.budget
        },
        abort: &queue.abort,
        now: &now,
        ticks: std::cell::Cell::new(0),
        heartbeat: &heartbeat,
        published_at: std::cell::Cell::new(now()),
        preempted: &preempted,
    };
    dev.running[prio].fetch_add(1, Ordering::SeqCst);
    let outcome = engine::run(&mut space, &engine::words(&prog), &env);
    dev.running[prio].fetch_sub(1, Ordering::SeqCst);
    let ticks = env.ticks.get();
    if ticks != 0 {
        queue.progress.store(base + ticks, Ordering::SeqCst);
        publish_progress(dev, compl, base + ticks);
    }
    match outcome {
        Outcome::Ok => (status::OK, 0, 0),
        Outcome::Fault(f) => (status::MMU_FAULT, f.kind, f.va),
        Outcome::Illegal(pc) => (status::ILLEGAL, pc, 0),
        Outcome::Watchdog => (status::WATCHDOG, 0, 0),
        Outcome::Aborted => (status::ABORTED, 0, 0),
    }
}

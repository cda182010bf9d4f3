// SPDX-License-Identifier: MIT OR Apache-2.0
//! State shared by every process of a run, in one anonymous shared mapping made before the
//! workers fork: the ioctl budget, counters, per-thread heartbeats, findings and notes.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

use crate::mapping::Mapping;
use crate::sys;

/// Most worker processes.
pub const MAX_PROCS: usize = 64;
/// Most threads per worker.
pub const MAX_THREADS: usize = 16;
/// Heartbeat slots per process: its threads, then one for its fork helpers.
const SLOTS: usize = MAX_THREADS + 1;
const MAX_FINDINGS: usize = 64;
const MAX_NOTES: usize = 96;
const TEXT: usize = 480;
const NOTE_TEXT: usize = 200;

/// Heartbeat value of a thread that has finished.
pub const DONE: u64 = u64::MAX;

/// Job statuses counted (DRM_TERN_JOB_* 0..=5, then "other").
pub const STATUS_SLOTS: usize = 7;

#[repr(C)]
struct Text<const N: usize> {
    ready: AtomicU32,
    len: AtomicU32,
    bytes: UnsafeCell<[u8; N]>,
}

#[repr(C)]
struct Note {
    key: AtomicU64,
    count: AtomicU64,
    text: Text<NOTE_TEXT>,
}

/// The shared state. All-zero bytes are a valid value of every field.
#[repr(C)]
pub struct Shared {
    /// The run's seed.
    pub seed: AtomicU64,
    /// Ioctl budget for the whole run.
    pub budget: AtomicU64,
    /// CLOCK_MONOTONIC deadline.
    pub deadline_ns: AtomicU64,
    /// Set to stop every worker.
    pub stop: AtomicU32,
    /// Ioctls issued.
    pub ioctls: AtomicU64,
    /// Jobs submitted successfully.
    pub jobs: AtomicU64,
    /// Device files opened.
    pub files: AtomicU64,
    /// Buffer objects created or imported.
    pub bos: AtomicU64,
    /// Queue and device resets forced through debugfs.
    pub resets: AtomicU64,
    /// Processes forked by workers (fork with inherited files).
    pub forks: AtomicU64,
    /// WAIT results by status.
    pub status: [AtomicU64; STATUS_SLOTS],
    /// Valid-program jobs waited for, and those of them that ended DONE.
    pub valid_waited: AtomicU64,
    pub valid_done: AtomicU64,
    heartbeat: [AtomicU64; MAX_PROCS * SLOTS],
    last_op: [AtomicU32; MAX_PROCS * SLOTS],
    findings_n: AtomicU32,
    findings: [Text<TEXT>; MAX_FINDINGS],
    notes: [Note; MAX_NOTES],
}

// SAFETY: every field is atomic except the text bytes, which a writer owns exclusively after
// claiming its slot (an atomic index or key) and publishes with a release store of `ready`.
unsafe impl Sync for Shared {}

impl<const N: usize> Text<N> {
    /// Writes `s` into a slot the caller claimed and publishes it.
    fn publish(&self, s: &str) {
        let b = s.as_bytes();
        let n = b.len().min(N);
        // SAFETY: the caller claimed this slot, so nobody else writes it; readers wait for
        // `ready`.
        unsafe { (&mut *self.bytes.get())[..n].copy_from_slice(&b[..n]) };
        self.len.store(n as u32, Relaxed);
        self.ready.store(1, Release);
    }

    fn read(&self) -> Option<String> {
        if self.ready.load(Acquire) == 0 {
            return None;
        }
        let n = self.len.load(Relaxed) as usize;
        // SAFETY: published (`ready`), never written again.
        let b = unsafe { &(&*self.bytes.get())[..n] };
        Some(String::from_utf8_lossy(b).into_owned())
    }
}

impl Shared {
    /// Creates the shared state (leaked: it lives until the process ends, in every child).
    pub fn create(seed: u64, budget: u64, deadline_ns: u64) -> Result<&'static Shared, i32> {
        let m = Mapping::anon(std::mem::size_of::<Shared>())?;
        // SAFETY: a fresh zeroed shared mapping, page-aligned and large enough; all-zero is a
        // valid `Shared`. It is never unmapped (forgotten below).
        let s: &'static Shared = unsafe { &*(m.addr() as *const Shared) };
        std::mem::forget(m);
        s.seed.store(seed, Relaxed);
        s.budget.store(budget, Relaxed);
        s.deadline_ns.store(deadline_ns, Relaxed);
        Ok(s)
    }

    /// Counts one ioctl. False once the budget is used up (and then stops the run).
    pub fn count_ioctl(&self) -> bool {
        let n = self.ioctls.fetch_add(1, Relaxed);
        if n + 1 >= self.budget.load(Relaxed) {
            self.stop.store(1, Relaxed);
        }
        n < self.budget.load(Relaxed)
    }

    /// Whether workers should stop: budget used, deadline passed, or told to.
    pub fn stopping(&self) -> bool {
        self.stop.load(Relaxed) != 0 || sys::now_ns() >= self.deadline_ns.load(Relaxed)
    }

    fn slot(p: usize, t: usize) -> usize {
        p.min(MAX_PROCS - 1) * SLOTS + t.min(SLOTS - 1)
    }

    /// Records progress of thread `t` of process `p` (`t` = [`MAX_THREADS`] for helpers).
    pub fn beat(&self, p: usize, t: usize) {
        self.heartbeat[Self::slot(p, t)].store(sys::now_ns(), Relaxed);
    }

    /// Marks thread `t` of process `p` finished.
    pub fn done(&self, p: usize, t: usize) {
        self.heartbeat[Self::slot(p, t)].store(DONE, Relaxed);
    }

    /// Heartbeat of a thread: 0 not started, [`DONE`], or the time of its last progress.
    pub fn heartbeat(&self, p: usize, t: usize) -> u64 {
        self.heartbeat[Self::slot(p, t)].load(Relaxed)
    }

    /// Records what thread `t` of process `p` is doing (an operation index).
    pub fn set_op(&self, p: usize, t: usize, op: u32) {
        self.last_op[Self::slot(p, t)].store(op, Relaxed);
    }

    /// What thread `t` of process `p` last did.
    pub fn op(&self, p: usize, t: usize) -> u32 {
        self.last_op[Self::slot(p, t)].load(Relaxed)
    }

    /// Records a finding (the first [`MAX_FINDINGS`] keep their text).
    pub fn finding(&self, text: &str) {
        let i = self.findings_n.fetch_add(1, Relaxed) as usize;
        if let Some(slot) = self.findings.get(i) {
            slot.publish(text);
        }
    }

    /// Number of findings so far.
    pub fn findings_count(&self) -> u32 {
        self.findings_n.load(Relaxed)
    }

    /// The findings' texts (plus a line for those beyond the table).
    pub fn findings(&self) -> Vec<String> {
        let n = self.findings_count() as usize;
        let mut v: Vec<String> = self
            .findings
            .iter()
            .take(n)
            .filter_map(Text::read)
            .collect();
        if n > MAX_FINDINGS {
            v.push(format!("{} more findings not recorded", n - MAX_FINDINGS));
        }
        v
    }

    /// Counts a note under `key` (non-zero); the first occurrence stores `text()`.
    pub fn note(&self, key: u64, text: impl FnOnce() -> String) {
        let key = key.max(1);
        let start = (crate::rng::mix(key) % MAX_NOTES as u64) as usize;
        for k in 0..MAX_NOTES {
            let n = &self.notes[(start + k) % MAX_NOTES];
            match n.key.compare_exchange(0, key, Relaxed, Relaxed) {
                Ok(_) => {
                    n.count.fetch_add(1, Relaxed);
                    n.text.publish(&text());
                    return;
                }
                Err(k) if k == key => {
                    n.count.fetch_add(1, Relaxed);
                    return;
                }
                Err(_) => {}
            }
        }
    }

    /// Notes with their counts.
    pub fn notes(&self) -> Vec<(String, u64)> {
        self.notes
            .iter()
            .filter_map(|n| n.text.read().map(|t| (t, n.count.load(Relaxed))))
            .collect()
    }
}

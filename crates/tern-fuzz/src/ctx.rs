// SPDX-License-Identifier: MIT OR Apache-2.0
//! A worker process (its files) and a thread's context in it: its PRNG and the counted,
//! checked ioctl every operation goes through.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::cli::Mode;
use crate::file::{Canary, DevFile};
use crate::rng::{Rng, mix};
use crate::shared::Shared;
use crate::{drm, errno, sys};

/// What QUERY reported (the limits the operations aim around).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query {
    pub queue_count: u32,
    pub max_cmd_len: u32,
    pub va_start: u64,
    pub va_end: u64,
    pub max_bo_size: u64,
    pub max_submit_bos: u32,
}

/// One process of the run.
pub struct Proc {
    /// Worker index (the supervisor uses the index after the last worker).
    pub idx: usize,
    pub seed: u64,
    pub shared: &'static Shared,
    pub q: Query,
    pub device: PathBuf,
    pub mode: Mode,
    pub files: Mutex<Vec<Arc<DevFile>>>,
    /// Canaries of closed files, still mapped: checked once more, then dropped.
    pub zombies: Mutex<Vec<Canary>>,
    /// Exported dma-bufs kept for later imports.
    pub dmabufs: Mutex<Vec<OwnedFd>>,
    /// Serializes canary checks so one change is reported once.
    pub checking: Mutex<()>,
    next_file: AtomicU32,
}

/// Locks a mutex, ignoring poisoning (a panicking thread is reported anyway).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Proc {
    pub fn new(
        idx: usize,
        seed: u64,
        shared: &'static Shared,
        q: Query,
        device: PathBuf,
        mode: Mode,
    ) -> Proc {
        Proc {
            idx,
            seed,
            shared,
            q,
            device,
            mode,
            files: Mutex::new(Vec::new()),
            zombies: Mutex::new(Vec::new()),
            dmabufs: Mutex::new(Vec::new()),
            checking: Mutex::new(()),
            next_file: AtomicU32::new(0),
        }
    }

    /// Number for the next file this process opens.
    pub fn next_file_no(&self) -> u32 {
        self.next_file.fetch_add(1, Relaxed)
    }
}

/// A thread's view: its own PRNG stream, derived from the seed, process and thread.
pub struct Ctx<'a> {
    pub rng: Rng,
    pub p: &'a Proc,
    pub t: usize,
}

fn ioctl_label(req: u64) -> String {
    let nr = req as u8;
    let def = drm::DRIVER.iter().chain(drm::CORE).find(|d| d.nr == nr);
    match def {
        Some(d) => format!("{} ({req:#x})", d.name),
        None => format!("nr {nr:#04x} ({req:#x})"),
    }
}

impl Ctx<'_> {
    pub fn new(p: &Proc, t: usize) -> Ctx<'_> {
        Ctx {
            rng: Rng::derive(p.seed, p.idx as u64, t as u64),
            p,
            t,
        }
    }

    pub fn shared(&self) -> &'static Shared {
        self.p.shared
    }

    /// Whether the run is over.
    pub fn stopping(&self) -> bool {
        self.p.shared.stopping()
    }

    /// Issues an ioctl with `arg` an address this process owns (or deliberately invalid),
    /// counts it, and notes an errno outside the sane set. Returns 0 or the errno.
    pub fn ioctl_raw(&self, fd: i32, req: u64, arg: usize) -> i32 {
        let sh = self.p.shared;
        sh.count_ioctl();
        sh.beat(self.p.idx, self.t);
        let e = sys::ioctl(fd, req, arg);
        sh.beat(self.p.idx, self.t);
        let job_result = req as u8 == drm::DRM_COMMAND_BASE + drm::NR_WAIT;
        // A banned file's SUBMIT fails with EIO (uAPI header, struct drm_tern_submit).
        let banned = e == libc::EIO
            && req as u8 == drm::DRM_COMMAND_BASE + drm::NR_SUBMIT
            && crate::recovery_ops::banned(fd);
        if e != 0 && !banned && !errno::sane(e, job_result) {
            self.note(mix(req ^ (e as u64) << 40), || {
                format!(
                    "unexpected {} from ioctl {}",
                    errno::name(e),
                    ioctl_label(req)
                )
            });
        }
        e
    }

    /// [`Ctx::ioctl_raw`] on a uAPI struct whose size `req` encodes (or a smaller one).
    pub fn ioctl<T>(&self, fd: i32, req: u64, arg: &mut T) -> i32 {
        debug_assert!((req >> 16 & 0x3fff) as usize <= std::mem::size_of::<T>());
        self.ioctl_raw(fd, req, arg as *mut T as usize)
    }

    /// Records a finding, with what is needed to replay it.
    pub fn finding(&self, what: String) {
        let s = self.p.shared;
        s.finding(&format!(
            "seed={:#x} proc={} thread={} {what}",
            s.seed.load(Relaxed),
            self.p.idx,
            self.t
        ));
    }

    /// Counts a note under `key`.
    pub fn note(&self, key: u64, text: impl FnOnce() -> String) {
        self.p.shared.note(key, text);
    }

    /// A random open file of this process.
    pub fn file(&mut self) -> Option<Arc<DevFile>> {
        let files = lock(&self.p.files);
        self.rng.pick(&files).cloned()
    }
}

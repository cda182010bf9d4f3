// SPDX-License-Identifier: MIT OR Apache-2.0
//! An open device file and what the fuzzer knows about it: buffers, jobs, canaries.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::mapping::Mapping;
use crate::program::{self, Region};

/// Most buffers tracked per file.
pub const MAX_BOS: usize = 32;
/// Most unwaited jobs remembered per file.
pub const MAX_JOBS: usize = 128;
const CLOSED_KEPT: usize = 64;

/// A buffer object of a file.
#[derive(Debug, Clone)]
pub struct Bo {
    pub handle: u32,
    pub size: u64,
    pub va: u64,
    pub flags: u32,
    pub mmap_offset: u64,
    /// CPU mapping (kept while anyone uses it).
    pub map: Option<Arc<Mapping>>,
    /// Imported through PRIME (contents not ours to expect).
    pub imported: bool,
}

impl Bo {
    /// Whether the device may write it.
    pub fn writable(&self) -> bool {
        self.flags & tern_uapi::DRM_TERN_BO_DEVICE_READONLY == 0
    }
}

/// A canary: a device-read-only buffer filled with a known pattern that no job may change.
#[derive(Debug, Clone)]
pub struct Canary {
    /// `canaryN`.
    pub name: String,
    /// Label of its file.
    pub file: String,
    pub handle: u32,
    pub va: u64,
    pub map: Arc<Mapping>,
    /// Pattern key.
    pub key: u64,
}

/// A submitted job not yet waited for to completion.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub queue: u32,
    pub seqno: u64,
    /// Built by the valid-program generator and run with the default budget.
    pub valid: bool,
}

/// A syncobj of a file: binary (`timeline` false) or a timeline with its last point.
#[derive(Debug, Clone, Copy)]
pub struct Sync {
    pub handle: u32,
    pub timeline: bool,
    /// Binary: whether a job signalled it; timeline: the last point a job signals.
    pub last: u64,
}

/// Bookkeeping of one file (locked briefly, never across an ioctl).
#[derive(Debug, Default)]
pub struct FileState {
    pub bos: Vec<Bo>,
    pub jobs: VecDeque<Job>,
    pub canaries: Vec<Canary>,
    /// Syncobjs of the file that jobs signal and wait for.
    pub syncobjs: Vec<Sync>,
    /// VA ranges of buffers closed recently, that jobs still running may have used.
    closed: VecDeque<(u64, u64)>,
}

impl FileState {
    /// Forgets `handle` (before it is closed) and remembers its VA range.
    pub fn forget(&mut self, handle: u32) -> Option<Bo> {
        let i = self.bos.iter().position(|b| b.handle == handle)?;
        let b = self.bos.swap_remove(i);
        if self.closed.len() == CLOSED_KEPT {
            self.closed.pop_front();
        }
        self.closed.push_back((b.va, b.size));
        Some(b)
    }

    /// Tracks a buffer; a handle number reused by the kernel replaces the stale entry.
    pub fn add(&mut self, bo: Bo) {
        self.bos.retain(|b| b.handle != bo.handle);
        self.bos.push(bo);
    }

    /// Whether [va, va + size) overlaps a recently closed buffer of this file.
    pub fn reuses_closed_va(&self, va: u64, size: u64) -> bool {
        self.closed
            .iter()
            .any(|&(v, s)| va < v + s && v < va + size)
    }

    /// Remembers a job, forgetting the oldest beyond [`MAX_JOBS`].
    pub fn add_job(&mut self, j: Job) {
        if self.jobs.len() == MAX_JOBS {
            self.jobs.pop_front();
        }
        self.jobs.push_back(j);
    }

    /// Regions (with handles) a valid program of this file may use: its own and imported
    /// buffers, and its canaries read-only.
    pub fn regions(&self) -> Vec<(Region, u32)> {
        let bos = self.bos.iter().map(|b| {
            let r = Region {
                va: b.va,
                size: b.size,
                writable: b.writable(),
            };
            (r, b.handle)
        });
        let can = self.canaries.iter().map(|c| {
            let r = Region {
                va: c.va,
                size: c.map.len() as u64,
                writable: false,
            };
            (r, c.handle)
        });
        bos.chain(can).filter(|(r, _)| r.size >= 8).collect()
    }
}

/// An open device file.
#[derive(Debug)]
pub struct DevFile {
    /// `pXfY`: file Y opened by process X (p-1 for the file the supervisor shares).
    pub label: String,
    pub proc: usize,
    pub no: u32,
    pub fd: OwnedFd,
    state: Mutex<FileState>,
}

impl DevFile {
    pub fn new(proc: usize, no: u32, label: String, fd: OwnedFd) -> DevFile {
        DevFile {
            label,
            proc,
            no,
            fd,
            state: Mutex::new(FileState::default()),
        }
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn lock(&self) -> MutexGuard<'_, FileState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value this file's valid programs FILL with.
    pub fn tag(&self) -> u32 {
        program::tag(self.proc, self.no)
    }
}

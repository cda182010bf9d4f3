// SPDX-License-Identifier: MIT OR Apache-2.0
//! Owned memory mappings: buffer objects mapped for the CPU, and anonymous scratch memory.
//!
//! A mapping can be shared with the device, other threads and forked children, so every
//! access is volatile and goes through a raw pointer; it is unmapped on drop.

use std::os::fd::RawFd;

use crate::sys;

/// A mapping this process owns, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: usize,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of `fd` at `off`, shared; read-only unless `writable`.
    pub fn map(fd: RawFd, len: usize, off: u64, writable: bool) -> Result<Mapping, i32> {
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        Ok(Mapping {
            ptr: sys::mmap(fd, len, prot, off)?,
            len,
        })
    }

    /// Anonymous shared zeroed memory, readable and writable.
    pub fn anon(len: usize) -> Result<Mapping, i32> {
        Mapping::map(-1, len, 0, true)
    }

    /// Start address.
    pub fn addr(&self) -> usize {
        self.ptr
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Reads the u64 at byte offset `off` (8-aligned, inside).
    pub fn read_u64(&self, off: usize) -> u64 {
        assert!(
            off.is_multiple_of(8) && off + 8 <= self.len,
            "read outside the mapping"
        );
        // SAFETY: inside a live mapping this struct owns, aligned (mmap is page-aligned).
        unsafe { std::ptr::read_volatile((self.ptr + off) as *const u64) }
    }

    /// Writes the u64 at byte offset `off` (8-aligned, inside). Needs a writable mapping.
    pub fn write_u64(&self, off: usize, v: u64) {
        assert!(
            off.is_multiple_of(8) && off + 8 <= self.len,
            "write outside the mapping"
        );
        // SAFETY: inside a live writable mapping this struct owns, aligned.
        unsafe { std::ptr::write_volatile((self.ptr + off) as *mut u64, v) }
    }

    /// Writes `words` from byte offset `off` on.
    pub fn write_words(&self, off: usize, words: &[u64]) {
        for (i, &w) in words.iter().enumerate() {
            self.write_u64(off + 8 * i, w);
        }
    }

    /// The first non-zero word among the first `limit` bytes and the last page, if any.
    pub fn first_nonzero(&self, limit: usize) -> Option<(usize, u64)> {
        let head = limit.min(self.len) & !7;
        let tail = self.len.saturating_sub(4096).max(head);
        (0..head)
            .step_by(8)
            .chain((tail..self.len & !7).step_by(8))
            .map(|o| (o, self.read_u64(o)))
            .find(|&(_, v)| v != 0)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        sys::munmap(self.ptr, self.len);
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! The MMU: per-context three-level page tables in host memory (`docs/hardware.md` 7).
//!
//! A job's [`AddressSpace`] caches its context's root, the last leaf table it walked through
//! and the last page it translated. Before every translation it looks for `CTX_INVALIDATE`
//! writes it has not seen; on one it drops all of that and acknowledges the write to the
//! device. Translations are only ever used by the access that made them ([`AddressSpace::
//! pieces`] redoes a batch an acknowledgement interrupted), so at an acknowledgement no access
//! that used an older translation is still in progress.

use tern_hw::mmu::*;
use tern_hw::queue::fault;

use crate::device::Inner;

/// A translation fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmuFault {
    /// Faulting VA.
    pub va: u64,
    /// `fault::READ`, `fault::WRITE` or `fault::NO_CONTEXT`.
    pub kind: u32,
}

/// One context's address space, as a job sees it.
pub struct AddressSpace<'a> {
    dev: &'a Inner,
    /// The queue whose job this is: invalidations are acknowledged for it.
    queue: Option<usize>,
    ctx: u32,
    /// Level-0 table, or None once an invalidation found the context gone.
    root: Option<u64>,
    /// Invalidate writes seen (acknowledged).
    seen: u64,
    /// One-entry translation cache: (page VA, page DMA address, writable).
    last: Option<(u64, u64, bool)>,
    /// Last leaf table walked: (VA >> 21, DMA address of the level-2 table).
    leaf: Option<(u64, u64)>,
}

fn kind(write: bool) -> u32 {
    if write { fault::WRITE } else { fault::READ }
}

/// Reads the root of `ctx` from the device's current context table.
fn context_root(dev: &Inner, ctx: u32) -> Result<u64, MmuFault> {
    let nocx = MmuFault {
        va: 0,
        kind: fault::NO_CONTEXT,
    };
    let (table, count) = {
        let st = dev.st();
        (st.ctx_table, st.ctx_count)
    };
    if ctx >= count {
        return Err(nocx);
    }
    let at = table.checked_add(u64::from(ctx) * CTX_ENTRY).ok_or(nocx)?;
    let mut e = [0u8; 8];
    dev.dma_read(at, &mut e).map_err(|_| nocx)?;
    let root = u64::from_le_bytes(e);
    if root & PTE_V == 0 {
        return Err(nocx);
    }
    Ok(root & PTE_ADDR)
}

impl<'a> AddressSpace<'a> {
    /// The address space of context `ctx` for a job of queue `q`, which has seen `seen`
    /// invalidate writes (`Inner::inval_begin`).
    pub(crate) fn for_job(dev: &'a Inner, q: usize, seen: u64, ctx: u32) -> Result<Self, MmuFault> {
        let root = context_root(dev, ctx)?;
        Ok(AddressSpace {
            dev,
            queue: Some(q),
            ctx,
            root: Some(root),
            seen,
            last: None,
            leaf: None,
        })
    }

    /// Acknowledges `CTX_INVALIDATE` writes not seen yet: drops every cached translation
    /// (the context's root included: it is read again). Call only where no translation made
    /// earlier is still to be used.
    pub fn sync(&mut self) {
        let Some(q) = self.queue else { return };
        if self.dev.inval_requested() == self.seen {
            return;
        }
        self.last = None;
        self.leaf = None;
        self.root = context_root(self.dev, self.ctx).ok();
        self.seen = self.dev.inval_ack(q);
    }

    /// The DMA address of `va` and whether its page is writable. Acknowledges pending
    /// invalidations first.
    pub fn translate(&mut self, va: u64, write: bool) -> Result<u64, MmuFault> {
        self.sync();
        let f = MmuFault {
            va,
            kind: kind(write),
        };
        let page = va & !(PAGE_SIZE - 1);
        if let Some((p, pa, w)) = self.last
            && p == page
            && (w || !write)
        {
            return Ok(pa | (va & (PAGE_SIZE - 1)));
        }
        if va >> VA_BITS != 0 {
            return Err(f);
        }
        let root = self.root.ok_or(f)?;
        let (mut table, first) = match self.leaf {
            Some((region, t)) if region == va >> 21 => (t, 2),
            _ => (root, 0),
        };
        for level in first..3 {
            let shift = 30 - 9 * level;
            let idx = (va >> shift) & 511;
            let mut e = [0u8; 8];
            let at = table.checked_add(idx * 8).ok_or(f)?;
            self.dev.dma_read(at, &mut e).map_err(|_| f)?;
            let pte = u64::from_le_bytes(e);
            let reserved = pte & !(PTE_ADDR | PTE_V | PTE_W | PTE_L);
            if pte & PTE_V == 0 || reserved != 0 {
                return Err(f);
            }
            if pte & PTE_L != 0 || level == 2 {
                let span = 1u64 << shift;
                let base = pte & PTE_ADDR;
                if base & (span - 1) != 0 {
                    return Err(f);
                }
                let writable = pte & PTE_W != 0;
                if write && !writable {
                    return Err(f);
                }
                let pa = base | (va & (span - 1));
                self.last = Some((page, pa & !(PAGE_SIZE - 1), writable));
                return Ok(pa);
            }
            table = pte & PTE_ADDR;
            if level == 1 {
                self.leaf = Some((va >> 21, table));
            }
        }
        Err(f)
    }

    /// Translates every page of `[va, va + len)` and forgets the result: a fault check.
    pub fn check(&mut self, va: u64, len: u64, write: bool) -> Result<(), MmuFault> {
        let mut off = 0;
        while off < len {
            let cur = va.checked_add(off).ok_or(MmuFault {
                va: u64::MAX,
                kind: kind(write),
            })?;
            self.translate(cur, write)?;
            off += (PAGE_SIZE - (cur & (PAGE_SIZE - 1))).min(len - off);
        }
        Ok(())
    }

    fn pieces_once(
        &mut self,
        va: u64,
        len: u64,
        write: bool,
    ) -> Result<Vec<(u64, u64, u64)>, MmuFault> {
        let mut out: Vec<(u64, u64, u64)> = Vec::new();
        let mut off = 0;
        while off < len {
            let cur = va.checked_add(off).ok_or(MmuFault {
                va: u64::MAX,
                kind: kind(write),
            })?;
            let n = (PAGE_SIZE - (cur & (PAGE_SIZE - 1))).min(len - off);
            let pa = self.translate(cur, write)?;
            match out.last_mut() {
                Some((lpa, _, llen)) if lpa.checked_add(*llen) == Some(pa) => *llen += n,
                _ => out.push((pa, off, n)),
            }
            off += n;
        }
        Ok(out)
    }

    /// Calls `f(dma_address, offset_in_range, len)` for each page-bounded piece of
    /// `[va, va + len)`, translating every page before any piece is handed over, so a fault
    /// means nothing was touched. All pieces are translated after the last invalidation
    /// acknowledged (a batch interrupted by one is walked again).
    pub fn pieces(
        &mut self,
        va: u64,
        len: u64,
        write: bool,
    ) -> Result<Vec<(u64, u64, u64)>, MmuFault> {
        loop {
            let seen = self.seen;
            let out = self.pieces_once(va, len, write)?;
            if self.seen == seen {
                return Ok(out);
            }
        }
    }

    /// Reads `buf.len()` bytes at `va`.
    pub fn read(&mut self, va: u64, buf: &mut [u8]) -> Result<(), MmuFault> {
        for (pa, off, n) in self.pieces(va, buf.len() as u64, false)? {
            let dst = &mut buf[off as usize..(off + n) as usize];
            self.dev.dma_read(pa, dst).map_err(|_| MmuFault {
                va: va.wrapping_add(off),
                kind: fault::READ,
            })?;
        }
        Ok(())
    }

    /// Writes `buf` at `va`. Every page is checked before the first byte is written.
    pub fn write(&mut self, va: u64, buf: &[u8]) -> Result<(), MmuFault> {
        for (pa, off, n) in self.pieces(va, buf.len() as u64, true)? {
            let src = &buf[off as usize..(off + n) as usize];
            self.dev.dma_write(pa, src).map_err(|_| MmuFault {
                va: va.wrapping_add(off),
                kind: fault::WRITE,
            })?;
        }
        Ok(())
    }

    /// Copies `len` bytes from `src` to `dst` without an intermediate buffer.
    pub fn copy(&mut self, dst: u64, src: u64, len: u64) -> Result<(), MmuFault> {
        let (s, d) = loop {
            let seen = self.seen;
            let s = self.pieces(src, len, false)?;
            let d = self.pieces(dst, len, true)?;
            if self.seen == seen {
                break (s, d);
            }
        };
        let (mut si, mut di) = (0, 0);
        let mut done = 0;
        while done < len {
            let (spa, soff, slen) = s[si];
            let (dpa, doff, dlen) = d[di];
            let n = (soff + slen - done).min(doff + dlen - done);
            let (sa, da) = (spa + (done - soff), dpa + (done - doff));
            self.dev.dma_copy(da, sa, n).map_err(|e| {
                let at_dst = e.addr == da && e.addr != sa;
                MmuFault {
                    va: if at_dst {
                        dst.wrapping_add(done)
                    } else {
                        src.wrapping_add(done)
                    },
                    kind: if at_dst { fault::WRITE } else { fault::READ },
                }
            })?;
            done += n;
            if done == soff + slen {
                si += 1;
            }
            if done == doff + dlen {
                di += 1;
            }
        }
        Ok(())
    }
}

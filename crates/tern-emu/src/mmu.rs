// SPDX-License-Identifier: MIT OR Apache-2.0
//! The MMU: per-context three-level page tables in host memory (`docs/hardware.md` 7).

use tern_hw::mmu::*;
use tern_hw::queue::fault;

use crate::dma::GuestMemory;

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
    mem: &'a GuestMemory,
    root: u64,
    /// One-entry translation cache: (page VA, page DMA address, writable).
    last: Option<(u64, u64, bool)>,
}

impl<'a> AddressSpace<'a> {
    /// Looks up context `ctx` in the context table at `table` with `count` entries.
    pub fn for_context(
        mem: &'a GuestMemory,
        table: u64,
        count: u32,
        ctx: u32,
    ) -> Result<Self, MmuFault> {
        let nocx = MmuFault {
            va: 0,
            kind: fault::NO_CONTEXT,
        };
        if ctx >= count {
            return Err(nocx);
        }
        let mut e = [0u8; 8];
        mem.read(table + u64::from(ctx) * CTX_ENTRY, &mut e)
            .map_err(|_| nocx)?;
        let root = u64::from_le_bytes(e);
        if root & PTE_V == 0 {
            return Err(nocx);
        }
        Ok(AddressSpace {
            mem,
            root: root & PTE_ADDR,
            last: None,
        })
    }

    /// The DMA address of `va` and whether its page is writable.
    pub fn translate(&mut self, va: u64, write: bool) -> Result<u64, MmuFault> {
        let f = MmuFault {
            va,
            kind: if write { fault::WRITE } else { fault::READ },
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
        let mut table = self.root;
        for level in 0..3 {
            let shift = 30 - 9 * level;
            let idx = (va >> shift) & 511;
            let mut e = [0u8; 8];
            self.mem.read(table + idx * 8, &mut e).map_err(|_| f)?;
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
        }
        Err(f)
    }

    /// Calls `f(dma_address, offset_in_range, len)` for each page-bounded piece of
    /// `[va, va + len)`, translating every page before any piece is handed over, so a fault
    /// means nothing was touched.
    pub fn pieces(
        &mut self,
        va: u64,
        len: u64,
        write: bool,
    ) -> Result<Vec<(u64, u64, u64)>, MmuFault> {
        let mut out = Vec::new();
        let mut off = 0;
        while off < len {
            let cur = va.checked_add(off).ok_or(MmuFault {
                va: u64::MAX,
                kind: kind(write),
            })?;
            let n = (PAGE_SIZE - (cur & (PAGE_SIZE - 1))).min(len - off);
            let pa = self.translate(cur, write)?;
            match out.last_mut() {
                Some((lpa, _, llen)) if *lpa + *llen == pa => *llen += n,
                _ => out.push((pa, off, n)),
            }
            off += n;
        }
        Ok(out)
    }

    /// Reads `buf.len()` bytes at `va`.
    pub fn read(&mut self, va: u64, buf: &mut [u8]) -> Result<(), MmuFault> {
        for (pa, off, n) in self.pieces(va, buf.len() as u64, false)? {
            let dst = &mut buf[off as usize..(off + n) as usize];
            self.mem.read(pa, dst).map_err(|_| MmuFault {
                va: va + off,
                kind: fault::READ,
            })?;
        }
        Ok(())
    }

    /// Writes `buf` at `va`. Every page is checked before the first byte is written.
    pub fn write(&mut self, va: u64, buf: &[u8]) -> Result<(), MmuFault> {
        for (pa, off, n) in self.pieces(va, buf.len() as u64, true)? {
            let src = &buf[off as usize..(off + n) as usize];
            self.mem.write(pa, src).map_err(|_| MmuFault {
                va: va + off,
                kind: fault::WRITE,
            })?;
        }
        Ok(())
    }

    /// Copies `len` bytes from `src` to `dst` without an intermediate buffer.
    pub fn copy(&mut self, dst: u64, src: u64, len: u64) -> Result<(), MmuFault> {
        let s = self.pieces(src, len, false)?;
        let d = self.pieces(dst, len, true)?;
        let (mut si, mut di) = (0, 0);
        let mut done = 0;
        while done < len {
            let (spa, soff, slen) = s[si];
            let (dpa, doff, dlen) = d[di];
            let n = (soff + slen - done).min(doff + dlen - done);
            self.mem
                .copy(dpa + (done - doff), spa + (done - soff), n)
                .map_err(|e| MmuFault {
                    va: if e.addr >= dpa {
                        dst + done
                    } else {
                        src + done
                    },
                    kind: fault::READ,
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

fn kind(write: bool) -> u32 {
    if write { fault::WRITE } else { fault::READ }
}

// SPDX-License-Identifier: GPL-2.0

//! Device page tables: three levels of 512 entries, 4 KiB pages (`docs/hardware.md` 7.1).

use kernel::{
    device::{
        Bound,
        Device, //
    },
    prelude::*,
};

use crate::{
    mem::DmaWords,
    regs::{
        PTE_ADDR,
        PTE_V,
        PTE_W, //
    },
};

/// Entries per table.
const ENTRIES: usize = 512;
/// Size of a device page.
pub(crate) const PAGE: u64 = 4096;

/// Index of `va` in a table of `level` (0: root).
fn index(va: u64, level: u32) -> usize {
    // CAST: The value is masked to 9 bits.
    ((va >> (30 - 9 * level)) & 0x1ff) as usize
}

/// One table page and, for levels 0 and 1, the tables its entries point to.
struct Table {
    mem: DmaWords,
    children: KVec<Option<KBox<Table>>>,
}

impl Table {
    fn new(dev: &Device<Bound>, level: u32) -> Result<Self> {
        let mem = DmaWords::zeroed(dev, ENTRIES)?;
        let mut children = KVec::new();
        if level < 2 {
            children.reserve(ENTRIES, GFP_KERNEL)?;
            for _ in 0..ENTRIES {
                children.push(None, GFP_KERNEL)?;
            }
        }
        Ok(Self { mem, children })
    }

    /// The table for `va` one level down, created if `dev` is given.
    fn child(&mut self, dev: Option<&Device<Bound>>, va: u64, level: u32) -> Result<&mut Table> {
        let i = index(va, level);
        let slot = self.children.get_mut(i).ok_or(EINVAL)?;
        if slot.is_none() {
            let dev = dev.ok_or(ENOENT)?;
            let table = KBox::new(Table::new(dev, level + 1)?, GFP_KERNEL)?;
            self.mem
                .write(i, (table.mem.dma_address() & PTE_ADDR) | PTE_V)?;
            *slot = Some(table);
        }
        slot.as_deref_mut().ok_or(ENOENT)
    }
}

/// The page tables of one device address space.
pub(crate) struct PageTable {
    root: Table,
}

impl PageTable {
    /// Creates an empty address space.
    pub(crate) fn new(dev: &Device<Bound>) -> Result<Self> {
        Ok(Self {
            root: Table::new(dev, 0)?,
        })
    }

    /// DMA address of the root table, for the context table.
    pub(crate) fn root_dma(&self) -> u64 {
        self.root.mem.dma_address()
    }

    /// Maps the page at device VA `va` to DMA address `pa`.
    pub(crate) fn map(&mut self, dev: &Device<Bound>, va: u64, pa: u64, writable: bool) -> Result {
        let l1 = self.root.child(Some(dev), va, 0)?;
        let l2 = l1.child(Some(dev), va, 1)?;
        let pte = (pa & PTE_ADDR) | PTE_V | if writable { PTE_W } else { 0 };
        l2.mem.write(index(va, 2), pte)
    }

    /// Unmaps the page at device VA `va`, if it is mapped.
    ///
    /// The device may still use a cached translation until the context is invalidated.
    pub(crate) fn unmap(&mut self, va: u64) {
        let Ok(l1) = self.root.child(None, va, 0) else {
            return;
        };
        let Ok(l2) = l1.child(None, va, 1) else {
            return;
        };
        // The index is in range: a failure cannot happen and would leave nothing mapped anyway.
        let _ = l2.mem.write(index(va, 2), 0);
    }
}

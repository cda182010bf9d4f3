// SPDX-License-Identifier: GPL-2.0

//! Device state shared by ioctls, open files, buffer objects and interrupt handlers.
//!
//! It is the DRM device's driver data, so it lives as long as anything refers to the device,
//! possibly past unbind. Register access goes through a revocable [`DevresBar`] that ends at
//! unbind; the DMA memory stays allocated until the last reference goes, after the device has
//! been reset.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    io::Io,
    pci::DevresBar,
    prelude::*,
    sync::{
        new_mutex,
        Arc,
        Mutex, //
    },
};

use crate::{
    driver::Bar0,
    mem::DmaWords,
    queue::Queue,
    regs::{
        self,
        NUM_CONTEXTS,
        NUM_QUEUES,
        PTE_ADDR,
        PTE_V, //
    },
};

/// Words of the event page (4 KiB).
const EVENT_PAGE_WORDS: usize = 512;

/// Context ids in use; id 0 is never handed out.
struct ContextIds([u64; NUM_CONTEXTS / 64]);

/// State shared by everything that uses the device.
#[pin_data]
pub(crate) struct Shared {
    /// BAR0, until the device is unbound.
    pub(crate) bar: DevresBar<{ regs::BAR0_SIZE }>,
    /// The event page the device writes on every event.
    pub(crate) events: DmaWords,
    /// The context table: per context, the root table address and a reserved word.
    ctx_table: DmaWords,
    #[pin]
    ctx_ids: Mutex<ContextIds>,
    /// The hardware queues.
    pub(crate) queues: KVec<Arc<Queue>>,
}

impl Shared {
    /// Allocates the memory shared with the device.
    pub(crate) fn new(
        dev: &Device<Bound>,
        bar: DevresBar<{ regs::BAR0_SIZE }>,
    ) -> Result<Arc<Self>> {
        let events = DmaWords::zeroed(dev, EVENT_PAGE_WORDS)?;
        let ctx_table = DmaWords::zeroed(dev, NUM_CONTEXTS * regs::CTX_ENTRY_SIZE / 8)?;
        let mut queues = KVec::with_capacity(NUM_QUEUES, GFP_KERNEL)?;
        for q in 0..NUM_QUEUES {
            queues.push(Queue::new(dev, q)?, GFP_KERNEL)?;
        }
        Arc::pin_init(
            try_pin_init!(Self {
                bar,
                events,
                ctx_table,
                ctx_ids <- new_mutex!(ContextIds([1, 0, 0, 0])),
                queues,
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Points the device at the event page and the context table.
    pub(crate) fn program_memory(&self, bar: &Bar0<'_>) {
        let events = self.events.dma_address();
        let table = self.ctx_table.dma_address();
        // CAST: Register halves of 64-bit addresses; the context count is 256.
        bar.write32(events as u32, regs::EVENT_ADDR_LO);
        bar.write32((events >> 32) as u32, regs::EVENT_ADDR_HI);
        bar.write32(table as u32, regs::CTX_TABLE_LO);
        bar.write32((table >> 32) as u32, regs::CTX_TABLE_HI);
        bar.write32(NUM_CONTEXTS as u32, regs::CTX_COUNT);
    }

    /// Reserves a context id.
    pub(crate) fn alloc_context(&self) -> Result<u32> {
        let mut ids = self.ctx_ids.lock();
        for (w, word) in ids.0.iter_mut().enumerate() {
            if *word != u64::MAX {
                let bit = (!*word).trailing_zeros();
                *word |= 1 << bit;
                // CAST: At most 255.
                return Ok((w * 64) as u32 + bit);
            }
        }
        Err(EBUSY)
    }

    /// Makes context `id` use the page tables at `root`.
    pub(crate) fn set_context_root(&self, id: u32, root: u64) -> Result {
        // CAST: Context ids are below 256.
        let entry = id as usize * regs::CTX_ENTRY_SIZE / 8;
        self.ctx_table.write(entry, (root & PTE_ADDR) | PTE_V)
    }

    /// Invalidates the cached translations of context `id`, if the device is still there.
    pub(crate) fn invalidate(&self, id: u32) {
        if let Some(bar) = self.bar.try_access() {
            bar.write32(id, regs::CTX_INVALIDATE);
        }
    }

    /// Disables context `id` in the device and releases the id.
    pub(crate) fn free_context(&self, id: u32) {
        // CAST: Context ids are below 256.
        let entry = id as usize * regs::CTX_ENTRY_SIZE / 8;
        // The entry is in range.
        let _ = self.ctx_table.write(entry, 0);
        self.invalidate(id);
        let mut ids = self.ctx_ids.lock();
        // CAST: Context ids are below 256.
        if let Some(word) = ids.0.get_mut(id as usize / 64) {
            *word &= !(1 << (id % 64));
        }
    }

    /// The device is going away: fail new submissions and wake up every waiter.
    pub(crate) fn kill(&self) {
        for q in &self.queues {
            q.kill();
        }
    }

    /// Ends every job still on a queue as aborted; the device must be stopped.
    pub(crate) fn abort_all(&self) {
        for q in &self.queues {
            q.abort_all();
        }
    }
}

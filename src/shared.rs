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
    sync::aref::ARef,
    //@ step buffers {
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    //@ }
    sync::{
        new_mutex,
        Arc,
        Mutex, //
    },
    //@ step buffers {
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    },
    //@ }
    //@ step jobs {
    workqueue::{
        self,
        impl_has_delayed_work, //@ step recovery
        impl_has_work,
        new_delayed_work, //@ step recovery
        new_work,
        DelayedWork, //@ step recovery
        Work,
        WorkItem, //
    },
    //@ }
};

use crate::{
    driver::{
        Bar0,
        TernDevice, //
    },
    fw::FwImage, //@ step recovery
    mem::DmaWords,
    queue::Queue, //@ step jobs
    //@ before buffers: regs,
    //@ step buffers {
    regs::{
        self,
        EVENT_INVAL_WORD,
        NUM_CONTEXTS,
        NUM_QUEUES, //@ step jobs
        PTE_ADDR,
        PTE_V, //
    },
    //@ }
    selftest::SelfTest, //@ step debugfs
};

/// Words of the event page (4 KiB).
const EVENT_PAGE_WORDS: usize = 512;

//@ step buffers {
/// How long the driver waits for the device to complete an invalidation (`docs/hardware.md`
/// 7.1), in milliseconds. The device takes well under a millisecond.
const INVAL_TIMEOUT_MS: i64 = 2000;

/// Context ids in use; id 0 is never handed out.
struct ContextIds([u64; NUM_CONTEXTS / 64]);

impl ContextIds {
    /// No id in use but the reserved id 0.
    const fn new() -> Self {
        let mut ids = [0; NUM_CONTEXTS / 64];
        ids[0] = 1;
        Self(ids)
    }
}
//@ }

//@ step jobs {
/// The `seqno` of the last job submitted to each hardware queue at some point in time: a job
/// submitted before that point has retired once every queue has retired up to these.
pub(crate) type QueueMarks = [u64; NUM_QUEUES];
//@ }

/// State shared by everything that uses the device.
#[pin_data]
pub(crate) struct Shared {
    /// The device, for messages.
    pub(crate) dev: ARef<Device>,
    //@ step buffers {
    /// Set once an invalidation the device did not complete has been logged.
    stuck_logged: Atomic<i32>,
    //@ }
    /// BAR0, until the device is unbound.
    pub(crate) bar: DevresBar<{ regs::BAR0_SIZE }>,
    /// The event page the device writes on every event.
    pub(crate) events: DmaWords,
    //@ step buffers {
    /// The context table: per context, the root table address and a reserved word.
    ctx_table: DmaWords,
    #[pin]
    ctx_ids: Mutex<ContextIds>,
    /// Number of `CTX_INVALIDATE` writes issued since the device was programmed; held while one
    /// is written, so that the n-th write is the one whose completion makes `inval_done` n.
    #[pin]
    inval_issued: Mutex<u32>,
    //@ }
    //@ step jobs {
    /// The hardware queues.
    pub(crate) queues: KVec<Arc<Queue>>,
    /// Runs the schedulers when a fence that a job waits for signals.
    #[pin]
    work: Work<Shared>,
    //@ }
    //@ step recovery {
    /// Resets what [`Shared::reset_request`] asks for (`src/recovery.rs`).
    #[pin]
    pub(crate) recover: Work<Shared, 1>,
    /// Looks for queues that make no progress, every quarter of the timeout.
    #[pin]
    pub(crate) watchdog: DelayedWork<Shared, 2>,
    /// Resets asked for: bit q for queue q, [`RESET_DEVICE`] for the whole device.
    pub(crate) reset_request: Atomic<u32>,
    /// Set once the device could not be brought back: every ioctl fails with `ENODEV`.
    pub(crate) wedged: Atomic<i32>,
    /// Set at unbind: the watchdog and recovery stop.
    pub(crate) stopping: Atomic<i32>,
    /// Time without progress after which a job is stopped, in milliseconds.
    pub(crate) timeout_ms: Atomic<u32>,
    /// Queue resets and device resets done.
    pub(crate) queue_resets: Atomic<u64>,
    /// Device resets done.
    pub(crate) device_resets: Atomic<u64>,
    //@ }
    //@ step buffers {
    /// Incremented by every device reset: translations from before are gone.
    pub(crate) reset_gen: Atomic<u32>,
    /// Set once unbind has reset the device for good: it runs nothing, so every invalidation
    /// is complete at once.
    quiesced: Atomic<i32>,
    //@ }
    /// The DRM device, for uevents; taken at unbind (it owns this structure).
    #[pin]
    pub(crate) drm: Mutex<Option<ARef<TernDevice>>>,
    //@ step recovery {
    /// The firmware image, kept in DMA memory to boot it again after a device reset.
    #[pin]
    pub(crate) fw: Mutex<Option<FwImage>>,
    //@ }
    //@ step debugfs {
    /// The platform's round trip, for debugfs (`src/selftest.rs`).
    #[pin]
    pub(crate) selftest: SelfTest,
    //@ }
}

//@ step recovery {
/// [`Shared::reset_request`] bit asking for a device reset.
pub(crate) const RESET_DEVICE: u32 = 1 << 8;
//@ }

impl Shared {
    /// Allocates the memory shared with the device.
    pub(crate) fn new(
        dev: &Device<Bound>,
        bar: DevresBar<{ regs::BAR0_SIZE }>,
    ) -> Result<Arc<Self>> {
        let events = DmaWords::zeroed(dev, EVENT_PAGE_WORDS)?;
        let ctx_table = DmaWords::zeroed(dev, NUM_CONTEXTS * regs::CTX_ENTRY_SIZE / 8)?; //@ step buffers
                                                                                         //@ step jobs {
        let mut queues = KVec::with_capacity(NUM_QUEUES, GFP_KERNEL)?;
        for q in 0..NUM_QUEUES {
            queues.push(Queue::new(dev, q)?, GFP_KERNEL)?;
        }
        //@ }
        let selftest = SelfTest::new(dev)?; //@ step debugfs
        Arc::pin_init(
            try_pin_init!(Self {
                dev: dev.into(),
                stuck_logged: Atomic::new(0), //@ step buffers
                bar,
                events,
                ctx_table, //@ step buffers
                ctx_ids <- new_mutex!(ContextIds::new()), //@ step buffers
                inval_issued <- new_mutex!(0), //@ step buffers
                queues, //@ step jobs
                work <- new_work!("tern-schedule"), //@ step jobs
                recover <- new_work!("tern-recover"), //@ step recovery
                watchdog <- new_delayed_work!("tern-watchdog"), //@ step recovery
                reset_request: Atomic::new(0), //@ step recovery
                wedged: Atomic::new(0), //@ step recovery
                stopping: Atomic::new(0), //@ step recovery
                timeout_ms: Atomic::new(crate::recovery::default_timeout_ms()), //@ step recovery
                queue_resets: Atomic::new(0), //@ step recovery
                device_resets: Atomic::new(0), //@ step recovery
                reset_gen: Atomic::new(0), //@ step buffers
                quiesced: Atomic::new(0), //@ step buffers
                drm <- new_mutex!(None),
                fw <- new_mutex!(None), //@ step recovery
                selftest <- selftest, //@ step debugfs
            }? Error),
            GFP_KERNEL,
        )
    }

    //@ step firmware {
    /// Points the device at the event page and the context table.
    pub(crate) fn program_memory(&self, bar: &Bar0<'_>) {
        //@ before buffers: self.program_events(bar);
        //@ step buffers {
        let mut issued = self.inval_issued.lock();
        self.program_memory_locked(bar, &mut issued);
        //@ }
    }

    /// Points the device at the event page.
    fn program_events(&self, bar: &Bar0<'_>) {
        let events = self.events.dma_address();
        // CAST: Register halves of a 64-bit address.
        bar.write32(events as u32, regs::EVENT_ADDR_LO);
        bar.write32((events >> 32) as u32, regs::EVENT_ADDR_HI);
    }
    //@ }

    //@ step buffers {
    /// [`Shared::program_memory`] with the invalidation counter held by the caller.
    pub(crate) fn program_memory_locked(&self, bar: &Bar0<'_>, issued: &mut u32) {
        self.program_events(bar);
        let table = self.ctx_table.dma_address();
        // CAST: Register halves of a 64-bit address; the context count is 4096.
        bar.write32(table as u32, regs::CTX_TABLE_LO);
        bar.write32((table >> 32) as u32, regs::CTX_TABLE_HI);
        bar.write32(NUM_CONTEXTS as u32, regs::CTX_COUNT);
        // The device counts completed invalidations from 0 again after a reset.
        *issued = 0;
    }
    //@ }

    //@ step recovery {
    /// Holds the invalidation counter, so that no invalidation is issued meanwhile (a device
    /// reset restarts the device's count).
    pub(crate) fn lock_invalidations(&self) -> kernel::sync::MutexGuard<'_, u32> {
        self.inval_issued.lock()
    }
    //@ }

    /// Resets the device and waits until the reset has completed: when this returns, the device
    /// no longer reads or writes any memory it was told about (`docs/hardware.md` 10.2).
    pub(crate) fn reset_device(bar: &Bar0<'_>) {
        bar.write32(regs::RESET_MAGIC, regs::RESET);
        // A read after the RESET write returns once the reset is complete.
        let _ = bar.read32(regs::DEV_STATUS);
    }

    //@ step buffers {
    /// Resets the device for good at unbind: from then on it uses no translation, and waiters
    /// for invalidations are done.
    pub(crate) fn quiesce(&self, bar: &Bar0<'_>) {
        let _issued = self.inval_issued.lock();
        Self::reset_device(bar);
        self.quiesced.store(1, Relaxed);
        self.reset_gen.add(1, Relaxed);
    }
    //@ }

    //@ step recovery {
    /// [`Shared::quiesce`] without proof that the device is bound: reset if it still is.
    pub(crate) fn quiesce_now(&self) {
        // The lock is a mutex: taken before the BAR's RCU read-side section.
        let _issued = self.inval_issued.lock();
        if let Some(bar) = self.bar.try_access() {
            Self::reset_device(&bar);
        }
        self.quiesced.store(1, Relaxed);
        self.reset_gen.add(1, Relaxed);
    }
    //@ }

    //@ step buffers {
    /// Reserves a context id.
    pub(crate) fn alloc_context(&self) -> Result<u32> {
        let mut ids = self.ctx_ids.lock();
        for (w, word) in ids.0.iter_mut().enumerate() {
            if *word != u64::MAX {
                let bit = (!*word).trailing_zeros();
                *word |= 1 << bit;
                // CAST: Below `NUM_CONTEXTS`.
                return Ok((w * 64) as u32 + bit);
            }
        }
        // Documented in the uAPI header: opening the device fails with EBUSY.
        Err(EBUSY)
    }

    /// Makes context `id` use the page tables at `root`.
    pub(crate) fn set_context_root(&self, id: u32, root: u64) -> Result {
        // CAST: Context ids are below `NUM_CONTEXTS`.
        let entry = id as usize * regs::CTX_ENTRY_SIZE / 8;
        self.ctx_table.write(entry, (root & PTE_ADDR) | PTE_V)
    }

    /// Invalidates the cached translations of context `id` and waits until the device has
    /// completed it (`docs/hardware.md` 7.1): afterwards no job uses a translation from before.
    ///
    /// Returns at once if the device is unbound (it was reset then). Fails with `ETIMEDOUT` if
    /// the device does not complete it in time: then nothing the old translations reached may be
    /// freed.
    pub(crate) fn invalidate(&self, id: u32) -> Result {
        let (ticket, gen) = {
            let mut issued = self.inval_issued.lock();
            if self.quiesced.load(Relaxed) != 0 {
                return Ok(());
            }
            let Some(bar) = self.bar.try_access() else {
                return Ok(());
            };
            *issued = issued.wrapping_add(1);
            bar.write32(id, regs::CTX_INVALIDATE);
            (*issued, self.reset_gen.load(Relaxed))
        };
        let start = Instant::<Monotonic>::now();
        loop {
            // CAST: `inval_done` is the low half of the word.
            let done = self.events.read(EVENT_INVAL_WORD).unwrap_or(0) as u32;
            // CAST: A wrapping comparison of counters less than 2^31 apart.
            if done.wrapping_sub(ticket) as i32 >= 0 || self.bar.try_access().is_none() {
                return Ok(());
            }
            // A device reset dropped every translation (and restarted the count).
            if self.reset_gen.load(Relaxed) != gen {
                return Ok(());
            }
            if start.elapsed() > Delta::from_millis(INVAL_TIMEOUT_MS) {
                return Err(ETIMEDOUT);
            }
            fsleep(Delta::from_micros(20));
        }
    }

    /// Disables context `id` in the device and releases the id.
    ///
    /// Fails if the device did not complete the invalidation: then the id stays reserved and the
    /// caller must keep the context's page tables.
    pub(crate) fn free_context(&self, id: u32) -> Result {
        // CAST: Context ids are below `NUM_CONTEXTS`.
        let entry = id as usize * regs::CTX_ENTRY_SIZE / 8;
        self.ctx_table.write(entry, 0)?;
        self.invalidate(id)?;
        self.release_context_id(id);
        Ok(())
    }

    /// Releases the id of a context the device was never told about.
    pub(crate) fn release_context_id(&self, id: u32) {
        let mut ids = self.ctx_ids.lock();
        // CAST: Context ids are below `NUM_CONTEXTS`.
        if let Some(word) = ids.0.get_mut(id as usize / 64) {
            *word &= !(1 << (id % 64));
        }
    }

    /// True the first time it is called: whoever sees it logs the stuck invalidation.
    pub(crate) fn first_stuck(&self) -> bool {
        self.stuck_logged.xchg(1, Relaxed) == 0
    }
    //@ }

    //@ step jobs {
    /// The device is going away: fail new submissions and wake up every waiter.
    pub(crate) fn kill(&self) {
        for q in &self.queues {
            q.kill();
        }
    }

    /// Ends every job still on a queue or waiting for one with `ENODEV`, then waits for the
    /// scheduler work to finish; the device must be stopped.
    pub(crate) fn abort_all(&self) {
        for q in &self.queues {
            q.abort_all(ENODEV);
        }
        // No job waits for a fence any more, so nothing queues the work again.
        self.work.flush();
    }

    /// Kicks the scheduler of every queue from a context that may not sleep.
    pub(crate) fn kick(this: &Arc<Self>) {
        // Already queued: the scheduler runs anyway. Jobs wait for it: high priority.
        let _ = workqueue::system_highpri().enqueue::<_, 0>(this.clone());
    }
    //@ }
}

//@ step jobs {
impl_has_work! {
    impl HasWork<Self> for Shared { self.work }
    impl HasWork<Self, 1> for Shared { self.recover } //@ step recovery
}
//@ }

//@ step recovery {
impl_has_delayed_work! {
    impl HasDelayedWork<Self, 2> for Shared { self.watchdog }
}
//@ }

//@ step jobs {
impl WorkItem for Shared {
    type Pointer = Arc<Shared>;

    fn run(this: Arc<Shared>) {
        for q in this.queues.iter() {
            q.schedule(&this);
        }
    }
}
//@ }

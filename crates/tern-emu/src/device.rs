// SPDX-License-Identifier: MIT OR Apache-2.0
//! The TERN device: BAR0 registers and the state behind them (`docs/hardware.md` 2).

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use tern_hw::{BootStatus, caps, dev_status, pci, regs};

use crate::dma::{DmaFault, GuestMemory};
use crate::faults::Faults;
use crate::irq::Interrupts;
use crate::pci_config::PciConfig;
use crate::queue::Queue;

/// Number of hardware queues.
pub const QUEUES: usize = 4;

/// Device-wide register state.
#[derive(Default)]
pub(crate) struct State {
    pub dev_status: u32,
    pub boot_status: u32,
    pub fw: Option<tern_fw::Loaded>,
    pub abi_select: u32,
    pub boot_addr: u64,
    pub boot_size: u32,
    pub event_addr: u64,
    pub ctx_table: u64,
    pub ctx_count: u32,
    pub scratch: u32,
    pub selftest_addr: u64,
    pub crash_code: u32,
    pub event_count: u32,
    pub ts_hi: u32,
}

/// `CTX_INVALIDATE` bookkeeping (`docs/hardware.md` 7.1): writes received and completed, and
/// for each queue whether a job that may hold translations runs and which write it has
/// acknowledged (dropped its translations for).
#[derive(Default)]
pub(crate) struct Inval {
    pub requested: u64,
    pub completed: u64,
    pub active: [bool; QUEUES],
    pub acked: [u64; QUEUES],
}

impl Inval {
    /// Completes every write that all queues have acknowledged; true if one was completed.
    fn progress(&mut self) -> bool {
        let target = (0..QUEUES)
            .map(|q| {
                if self.active[q] {
                    self.acked[q]
                } else {
                    self.requested
                }
            })
            .min()
            .unwrap_or(self.requested);
        if target > self.completed {
            self.completed = target;
            true
        } else {
            false
        }
    }
}

/// Serialises event page writes: what the last invalidate completion wrote.
#[derive(Default)]
struct Events {
    inval_written: u64,
    /// Bytes appended to the firmware log since reset.
    log_bytes: u32,
}

/// DMA work a register write started, for the control thread (`docs/hardware.md` 9).
type Effect = Box<dyn FnOnce(&Inner) + Send>;

/// The control thread's queue.
#[derive(Default)]
struct Effects {
    queue: VecDeque<Effect>,
    /// An effect is running.
    busy: bool,
}

/// Everything the server thread and the queue workers share.
pub struct Inner {
    /// PCI configuration space.
    pub config: Mutex<PciConfig>,
    /// MSI-X vectors.
    pub irqs: Interrupts,
    /// Guest memory reachable by DMA.
    pub mem: GuestMemory,
    /// Fault injection knobs.
    pub faults: Faults,
    pub(crate) state: Mutex<State>,
    pub(crate) queues: [Queue; QUEUES],
    pub(crate) stop: AtomicBool,
    /// Set by a firmware crash, cleared by a device reset: the queues take no descriptor.
    pub(crate) halted: AtomicBool,
    pub(crate) inval: Mutex<Inval>,
    /// Copy of `inval.requested`, read without the lock at every translation.
    pub(crate) inval_req: AtomicU64,
    events: Mutex<Events>,
    effects: Mutex<Effects>,
    effects_cv: Condvar,
    /// Set by a reset: the running effect's message-path DMA stops waiting for the client.
    effects_cancel: Arc<AtomicBool>,
    /// EXEC jobs running at each priority, for arbitration (`docs/hardware.md` 5.7).
    pub(crate) running: [AtomicU32; 3],
    start: Instant,
}

/// One TERN device with its queue worker threads and its control thread (stopped on drop).
pub struct Device {
    inner: Arc<Inner>,
    workers: Vec<JoinHandle<()>>,
}

impl Deref for Device {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        // A running job stops at its next poll point: a program that loops for ever must not
        // keep the worker, and so the drop, from ending.
        for q in &self.inner.queues {
            q.cancel_dma();
            q.abort();
        }
        self.inner.effects_cancel.store(true, Ordering::SeqCst);
        {
            let _e = self.inner.effects_lock();
            self.inner.effects_cv.notify_all();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Device {
    /// A device in its reset state, queue workers started (they sleep until a doorbell).
    pub fn new() -> Self {
        let inner = Arc::new(Inner {
            config: Mutex::new(PciConfig::new()),
            irqs: Interrupts::new(),
            mem: GuestMemory::default(),
            faults: Faults::default(),
            state: Mutex::new(State::default()),
            queues: std::array::from_fn(|_| Queue::default()),
            stop: AtomicBool::new(false),
            halted: AtomicBool::new(false),
            inval: Mutex::default(),
            inval_req: AtomicU64::new(0),
            events: Mutex::default(),
            effects: Mutex::default(),
            effects_cv: Condvar::new(),
            effects_cancel: Arc::default(),
            running: Default::default(),
            start: Instant::now(),
        });
        let mut workers: Vec<JoinHandle<()>> = (0..QUEUES)
            .map(|q| {
                let inner = inner.clone();
                std::thread::Builder::new()
                    .name(format!("tern-q{q}"))
                    .spawn(move || crate::queue::worker(&inner, q))
                    .unwrap_or_else(|e| panic!("cannot start queue worker: {e}"))
            })
            .collect();
        let ctl = inner.clone();
        workers.push(
            std::thread::Builder::new()
                .name("tern-ctl".into())
                .spawn(move || control(&ctl))
                .unwrap_or_else(|e| panic!("cannot start the control thread: {e}")),
        );
        Device { inner, workers }
    }

    /// A shared handle to the device state (for threads such as the control socket).
    pub fn shared(&self) -> Arc<Inner> {
        self.inner.clone()
    }
}

/// The control thread: runs the DMA work of register writes, in the order of the writes.
fn control(dev: &Inner) {
    crate::dma::set_cancel(Some(dev.effects_cancel.clone()));
    loop {
        let mut e = dev.effects_lock();
        while e.queue.is_empty() && !dev.stop.load(Ordering::SeqCst) {
            e = dev.effects_cv.wait(e).unwrap_or_else(|e| e.into_inner());
        }
        let Some(f) = e
            .queue
            .pop_front()
            .filter(|_| !dev.stop.load(Ordering::SeqCst))
        else {
            return;
        };
        e.busy = true;
        drop(e);
        f(dev);
        dev.effects_lock().busy = false;
        dev.effects_cv.notify_all();
    }
}

impl Inner {
    pub(crate) fn st(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn effects_lock(&self) -> MutexGuard<'_, Effects> {
        self.effects.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f`, the DMA work of a register write on the bytes `[addr, addr + len)`
    /// (`docs/hardware.md` 9): at once when they are mapped memory (or not reachable at all),
    /// on the control thread when they are reached by messages. A message-path DMA waits for
    /// the client, and the client may be waiting for the answer to a register access (QEMU
    /// holds its big lock while a vCPU waits for a read, and serves the model's DMA requests
    /// only under that lock).
    pub(crate) fn after_write(&self, addr: u64, len: u64, f: impl FnOnce(&Inner) + Send + 'static) {
        if !self.mem.reached_by_message(addr, len) {
            return f(self);
        }
        self.effects_lock().queue.push_back(Box::new(f));
        self.effects_cv.notify_all();
    }

    /// The event page's address and size (6.1), for [`Inner::after_write`].
    pub(crate) fn event_page(&self) -> (u64, u64) {
        (self.st().event_addr, 0x1000)
    }

    /// Drops the control thread's queue and waits until it runs nothing (device reset).
    fn stop_effects(&self) {
        self.effects_cancel.store(true, Ordering::SeqCst);
        let mut e = self.effects_lock();
        e.queue.clear();
        while e.busy {
            e = self.effects_cv.wait(e).unwrap_or_else(|e| e.into_inner());
        }
        drop(e);
        self.effects_cancel.store(false, Ordering::SeqCst);
    }

    /// True while the command register lets the device master DMA.
    pub fn bus_master(&self) -> bool {
        let cmd = self
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .command();
        cmd & crate::pci_config::COMMAND_BUS_MASTER != 0
    }

    /// Device clock in ns.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// DMA read of host memory; fails while bus mastering is off.
    pub fn dma_read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaFault> {
        if !self.bus_master() {
            return Err(DmaFault {
                addr,
                len: buf.len() as u64,
            });
        }
        self.mem.read(addr, buf)
    }

    /// DMA write of host memory; fails while bus mastering is off.
    pub fn dma_write(&self, addr: u64, buf: &[u8]) -> Result<(), DmaFault> {
        if !self.bus_master() {
            return Err(DmaFault {
                addr,
                len: buf.len() as u64,
            });
        }
        self.mem.write(addr, buf)
    }

    /// DMA copy inside host memory; fails while bus mastering is off.
    pub fn dma_copy(&self, dst: u64, src: u64, len: u64) -> Result<(), DmaFault> {
        if !self.bus_master() {
            return Err(DmaFault { addr: src, len });
        }
        self.mem.copy(dst, src, len)
    }

    fn inval_lock(&self) -> MutexGuard<'_, Inval> {
        self.inval.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn events_lock(&self) -> MutexGuard<'_, Events> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `CTX_INVALIDATE` writes received since reset.
    pub(crate) fn inval_requested(&self) -> u64 {
        self.inval_req.load(Ordering::SeqCst)
    }

    /// A `CTX_INVALIDATE` write: counted, completed at once if no queue runs a job, otherwise
    /// by the last queue to acknowledge it (the server thread never waits for a worker).
    fn invalidate(&self, ctx: u32) {
        let done = {
            let mut inv = self.inval_lock();
            inv.requested += 1;
            self.inval_req.store(inv.requested, Ordering::SeqCst);
            inv.progress()
        };
        log::debug!("invalidate context {ctx:#x}");
        if done {
            let (page, len) = self.event_page();
            self.after_write(page, len, |d| d.inval_publish());
        }
    }

    /// Queue `q` starts a job that will cache translations; returns the invalidate writes
    /// it has seen (none of its translations predates them).
    pub(crate) fn inval_begin(&self, q: usize) -> u64 {
        let mut inv = self.inval_lock();
        inv.active[q] = true;
        inv.acked[q] = inv.requested;
        inv.requested
    }

    /// Queue `q` has dropped its translations and has no access in progress that used
    /// one: acknowledges every write so far; returns their number.
    pub(crate) fn inval_ack(&self, q: usize) -> u64 {
        let (seen, done) = {
            let mut inv = self.inval_lock();
            inv.acked[q] = inv.requested;
            (inv.requested, inv.progress())
        };
        if done {
            self.inval_publish();
        }
        seen
    }

    /// Queue `q`'s job ended: it holds no translations any more.
    pub(crate) fn inval_end(&self, q: usize) {
        let done = {
            let mut inv = self.inval_lock();
            inv.active[q] = false;
            inv.progress()
        };
        if done {
            self.inval_publish();
        }
    }

    /// Writes `inval_done` to the event page (if set and bus mastering is on) and raises
    /// vector 0, once per advance of the completed count; concurrent completions are written
    /// in order, the last value wins.
    fn inval_publish(&self) {
        let mut ev = self.events_lock();
        let done = self.inval_lock().completed;
        if done <= ev.inval_written {
            return;
        }
        ev.inval_written = done;
        let page = self.st().event_addr;
        if page != 0 {
            let at = page.checked_add(tern_hw::events::EVENT_INVAL_DONE);
            let v = (done as u32).to_le_bytes();
            if let Err(e) = at.map_or(Err(DmaFault { addr: page, len: 4 }), |a| {
                self.dma_write(a, &v)
            }) {
                log::warn!("event page (inval_done): {e}");
            }
        }
        self.irqs.raise(tern_hw::vectors::EVENTS);
        drop(ev);
    }

    /// Whole-device reset (`docs/hardware.md` 10.2): jobs in flight end ABORTED, registers
    /// return to reset values, the firmware is dropped. Returns when the device has stopped:
    /// no queue runs, no event page write is in progress, and none will start until the
    /// device is programmed again.
    pub fn reset(&self) {
        self.stop_effects();
        for q in &self.queues {
            q.begin_reset();
        }
        for q in &self.queues {
            q.finish_reset();
            q.clear();
        }
        let mut ev = self.events_lock();
        *self.st() = State::default();
        self.halted.store(false, Ordering::SeqCst);
        *self.inval_lock() = Inval::default();
        self.inval_req.store(0, Ordering::SeqCst);
        *ev = Events::default();
        drop(ev);
        log::info!("device reset");
    }

    /// The client went away: forget its memory and eventfds, reset.
    pub fn disconnect(&self) {
        self.reset();
        self.irqs.clear();
        self.mem.clear();
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = PciConfig::new();
    }

    /// Writes the event page (if set and bus mastering is on) and raises vector 0. The state
    /// lock is not held across the DMA (which may take long on the message path); the events
    /// lock keeps page writes in order.
    pub(crate) fn event(&self) {
        let ev = self.events_lock();
        let (addr, page) = {
            let mut st = self.st();
            st.event_count = st.event_count.wrapping_add(1);
            let mut page = [0u8; tern_hw::events::EVENT_RECORD_LEN];
            page[0..4].copy_from_slice(&st.boot_status.to_le_bytes());
            page[4..8].copy_from_slice(&st.dev_status.to_le_bytes());
            page[8..12].copy_from_slice(&st.crash_code.to_le_bytes());
            page[12..16].copy_from_slice(&st.event_count.to_le_bytes());
            page[16..24].copy_from_slice(&self.now().to_le_bytes());
            (st.event_addr, page)
        };
        if addr != 0
            && let Err(e) = self.dma_write(addr, &page)
        {
            log::warn!("event page: {e}");
        }
        self.irqs.raise(tern_hw::vectors::EVENTS);
        drop(ev);
    }

    /// Appends a line to the firmware log in the event page (`docs/hardware.md` 6.2): the
    /// bytes, then the byte count. Written only while the event page is set and bus mastering
    /// is on; the count advances regardless.
    pub(crate) fn fw_log(&self, line: &str) {
        let text = format!("[{:>12}] {line}\n", self.now());
        let mut ev = self.events_lock();
        let start = ev.log_bytes;
        ev.log_bytes = ev.log_bytes.wrapping_add(text.len() as u32);
        let page = self.st().event_addr;
        if page == 0 {
            return;
        }
        use tern_hw::events::{EVENT_LOG, EVENT_LOG_BYTES, EVENT_LOG_LEN};
        let bytes = text.as_bytes();
        let mut done = 0usize;
        let mut pos = u64::from(start) % EVENT_LOG_LEN;
        // The page is at most 4 KiB past a valid address: no overflow unless it wraps 2^64.
        let mut ok = true;
        while done < bytes.len() && ok {
            let room = (EVENT_LOG_LEN - pos) as usize;
            let n = room.min(bytes.len() - done);
            ok = page
                .checked_add(EVENT_LOG + pos)
                .is_some_and(|a| self.dma_write(a, &bytes[done..done + n]).is_ok());
            done += n;
            pos = 0;
        }
        ok = ok
            && page
                .checked_add(EVENT_LOG_BYTES)
                .is_some_and(|a| self.dma_write(a, &ev.log_bytes.to_le_bytes()).is_ok());
        if !ok {
            log::debug!("event page (firmware log) not written");
        }
    }

    /// Firmware crash (`docs/hardware.md` 10.1).
    pub fn crash(&self, code: u32) {
        {
            let mut st = self.st();
            st.dev_status = (st.dev_status | dev_status::HALTED) & !dev_status::READY;
            st.crash_code = code;
            self.halted.store(true, Ordering::SeqCst);
        }
        for q in &self.queues {
            q.abort();
        }
        log::warn!("firmware crashed (code {code:#x})");
        self.fw_log(&format!(
            "firmware crashed, code {code:#x}: jobs in flight aborted"
        ));
        self.event();
    }

    /// `BOOT_CTRL`: BOOTING at once, the boot ROM's reads after the write (9).
    fn boot(&self) {
        let (addr, size) = {
            let mut st = self.st();
            if st.dev_status & (dev_status::BOOTING | dev_status::BOOTED) != 0 {
                st.boot_status = BootStatus::Busy as u32;
                drop(st);
                let (page, len) = self.event_page();
                self.after_write(page, len, |d| d.event());
                return;
            }
            st.dev_status |= dev_status::BOOTING;
            (st.boot_addr, st.boot_size)
        };
        self.after_write(addr, u64::from(size), move |d| d.boot_rom(addr, size));
    }

    fn boot_rom(&self, addr: u64, size: u32) {
        let result = crate::boot::boot_rom(self, addr, size);
        let booted = result.as_ref().map(|_| ()).map_err(|s| *s);
        {
            let mut st = self.st();
            st.dev_status &= !dev_status::BOOTING;
            match result {
                Ok(fw) => {
                    st.boot_status = BootStatus::Ok as u32;
                    st.dev_status |= dev_status::BOOTED;
                    log::info!(
                        "firmware {:#x} booted, ABI {}..{}",
                        fw.version,
                        fw.abi.0,
                        fw.abi.1
                    );
                    st.fw = Some(fw);
                }
                Err(s) => {
                    log::warn!("boot ROM refused the image: {}", s.name());
                    st.boot_status = s as u32;
                }
            }
        }
        match booted {
            Ok(()) => {
                let v = self.st().fw.as_ref().map_or(0, |f| f.version);
                self.fw_log(&format!(
                    "boot: firmware {}.{}.{} running",
                    v >> 24,
                    (v >> 16) & 0xff,
                    v & 0xffff
                ));
            }
            Err(s) => self.fw_log(&format!("boot: image refused: {}", s.name())),
        }
        self.event();
    }

    fn select_abi(&self, v: u32) {
        let mut st = self.st();
        st.abi_select = v;
        let ok = st.fw.as_ref().is_some_and(|fw| {
            (u32::from(fw.abi.0)..=u32::from(fw.abi.1)).contains(&v)
                && (u32::from(tern_hw::fw::HW_ABI_MIN)..=u32::from(tern_hw::fw::HW_ABI_MAX))
                    .contains(&v)
        });
        if ok && st.dev_status & dev_status::HALTED == 0 {
            st.dev_status |= dev_status::READY;
        } else {
            st.dev_status &= !dev_status::READY;
        }
    }

    /// Reads a 32-bit register. Unknown offsets read as zero.
    pub fn read32(&self, off: u64) -> u32 {
        if (regs::QUEUE_BASE..regs::QUEUE_BASE + regs::QUEUE_STRIDE * QUEUES as u64).contains(&off)
        {
            let q = ((off - regs::QUEUE_BASE) / regs::QUEUE_STRIDE) as usize;
            return self.queues[q].read32((off - regs::QUEUE_BASE) % regs::QUEUE_STRIDE);
        }
        let mut st = self.st();
        match off {
            regs::ID => regs::ID_VALUE,
            regs::HW_VERSION => regs::HW_VERSION_VALUE,
            regs::CAPS => caps::ALL,
            regs::QUEUE_COUNT => QUEUES as u32,
            regs::DEV_STATUS => st.dev_status,
            regs::BOOT_STATUS => st.boot_status,
            regs::FW_VERSION => st.fw.as_ref().map_or(0, |f| f.version),
            regs::FW_ABI => st
                .fw
                .as_ref()
                .map_or(0, |f| u32::from(f.abi.0) << 16 | u32::from(f.abi.1)),
            regs::SCRATCH => st.scratch,
            regs::ABI_SELECT => st.abi_select,
            regs::BOOT_ADDR_LO => st.boot_addr as u32,
            regs::BOOT_ADDR_HI => (st.boot_addr >> 32) as u32,
            regs::BOOT_SIZE => st.boot_size,
            regs::EVENT_ADDR_LO => st.event_addr as u32,
            regs::EVENT_ADDR_HI => (st.event_addr >> 32) as u32,
            regs::CTX_TABLE_LO => st.ctx_table as u32,
            regs::CTX_TABLE_HI => (st.ctx_table >> 32) as u32,
            regs::CTX_COUNT => st.ctx_count,
            regs::TIMESTAMP_LO => {
                let t = self.now();
                st.ts_hi = (t >> 32) as u32;
                t as u32
            }
            regs::TIMESTAMP_HI => st.ts_hi,
            regs::SELFTEST_ADDR_LO => st.selftest_addr as u32,
            regs::SELFTEST_ADDR_HI => (st.selftest_addr >> 32) as u32,
            _ => 0,
        }
    }

    /// Writes a 32-bit register. Writes to read-only or unknown offsets are ignored.
    pub fn write32(&self, off: u64, val: u32) {
        if (regs::DOORBELL_BASE..regs::DOORBELL_BASE + 4 * QUEUES as u64).contains(&off) {
            let q = ((off - regs::DOORBELL_BASE) / 4) as usize;
            let ready = self.st().dev_status & dev_status::READY != 0;
            return self.queues[q].doorbell(val, ready);
        }
        if (regs::QUEUE_BASE..regs::QUEUE_BASE + regs::QUEUE_STRIDE * QUEUES as u64).contains(&off)
        {
            let q = ((off - regs::QUEUE_BASE) / regs::QUEUE_STRIDE) as usize;
            return self.queues[q].write32(
                self,
                q,
                (off - regs::QUEUE_BASE) % regs::QUEUE_STRIDE,
                val,
            );
        }
        let lo = |v: u64| (v & !0xffff_ffff) | u64::from(val);
        let hi = |v: u64| (v & 0xffff_ffff) | u64::from(val) << 32;
        match off {
            regs::SCRATCH => self.st().scratch = val,
            regs::IRQ_RAISE => {
                if val < u32::from(pci::MSIX_VECTORS) {
                    self.irqs.raise(val as u16);
                }
            }
            regs::SELFTEST_ADDR_LO => {
                let mut st = self.st();
                st.selftest_addr = lo(st.selftest_addr)
            }
            regs::SELFTEST_ADDR_HI => {
                let mut st = self.st();
                st.selftest_addr = hi(st.selftest_addr)
            }
            regs::SELFTEST => {
                let at = self.st().selftest_addr;
                self.after_write(at, 4, move |d| d.self_test(val))
            }
            regs::ABI_SELECT => self.select_abi(val),
            regs::BOOT_ADDR_LO => {
                let mut st = self.st();
                st.boot_addr = lo(st.boot_addr)
            }
            regs::BOOT_ADDR_HI => {
                let mut st = self.st();
                st.boot_addr = hi(st.boot_addr)
            }
            regs::BOOT_SIZE => self.st().boot_size = val,
            regs::BOOT_CTRL if val & 1 != 0 => self.boot(),
            regs::EVENT_ADDR_LO => {
                let mut st = self.st();
                st.event_addr = lo(st.event_addr)
            }
            regs::EVENT_ADDR_HI => {
                let mut st = self.st();
                st.event_addr = hi(st.event_addr)
            }
            regs::CTX_TABLE_LO => {
                let mut st = self.st();
                st.ctx_table = lo(st.ctx_table)
            }
            regs::CTX_TABLE_HI => {
                let mut st = self.st();
                st.ctx_table = hi(st.ctx_table)
            }
            regs::CTX_COUNT => self.st().ctx_count = val.min(regs::MAX_CONTEXTS),
            regs::CTX_INVALIDATE => self.invalidate(val),
            regs::RESET if val == regs::RESET_MAGIC => self.reset(),
            _ => log::debug!("bar0: write {val:#x} to {off:#x} ignored"),
        }
    }

    /// `SELFTEST` (`docs/hardware.md` 3.1): the word by DMA, then vector 5.
    fn self_test(&self, val: u32) {
        let addr = self.st().selftest_addr;
        if addr == 0 || !addr.is_multiple_of(4) {
            return;
        }
        if self.dma_write(addr, &val.to_le_bytes()).is_ok() {
            self.irqs.raise(tern_hw::vectors::SELFTEST);
        }
    }

    /// A BAR0 read of any size. Registers are 32-bit; other sizes or misaligned accesses
    /// read as zero, as do the MSI-X table and PBA (QEMU emulates the table).
    pub fn bar0_read(&self, off: u64, data: &mut [u8]) {
        data.fill(0);
        if data.len() == 4 && off.is_multiple_of(4) && !msix_area(off) {
            data.copy_from_slice(&self.read32(off).to_le_bytes());
        }
    }

    /// A BAR0 write of any size; see [`Inner::bar0_read`].
    pub fn bar0_write(&self, off: u64, data: &[u8]) {
        if let Ok(b) = <[u8; 4]>::try_from(data)
            && off.is_multiple_of(4)
            && !msix_area(off)
        {
            self.write32(off, u32::from_le_bytes(b));
        }
    }
}

fn msix_area(off: u64) -> bool {
    (u64::from(pci::MSIX_TABLE_OFFSET)..u64::from(pci::MSIX_PBA_OFFSET) + 8).contains(&off)
}

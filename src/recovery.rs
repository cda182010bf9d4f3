// SPDX-License-Identifier: GPL-2.0

//! Recovery from hung jobs and firmware crashes (`docs/driver.md`, "Recovery").
//!
//! A watchdog looks at every queue with work each quarter of the timeout: a queue whose fence
//! and progress count (`docs/hardware.md` 5.5) have not moved for the timeout runs a stuck job.
//! The recovery work item then resets that queue: the stuck job ends with `ETIMEDOUT` and its
//! file is blamed, the jobs behind it run. A firmware crash, a failed queue reset or a forced
//! reset resets the whole device: the jobs it aborted end with `EIO`, the firmware boots again
//! from the image kept in memory, the queues are enabled again and run the jobs that had not
//! started. If the firmware does not boot again the device is wedged: every ioctl fails with
//! `ENODEV` until the driver is rebound. Each recovery sends a `WEDGED=none` uevent and leaves a
//! device coredump; wedging sends `WEDGED=rebind`.

use kernel::{
    drm::WedgeRecovery,
    io::Io,
    prelude::*,
    sync::{
        atomic::Relaxed,
        Arc, //
    },
    time::{
        msecs_to_jiffies,
        Delta,
        Instant,
        Monotonic, //
    },
    workqueue::{
        self,
        WorkItem, //
    },
};

use crate::{
    coredump::{
        self,
        Reason, //
    },
    regs::{
        self,
        NUM_QUEUES, //
    },
    shared::{
        Shared,
        RESET_DEVICE, //
    },
};

/// Shortest timeout the watchdog uses, in milliseconds.
const MIN_TIMEOUT_MS: u32 = 50;
/// Boot attempts of a device recovery before the device is declared wedged.
const BOOT_ATTEMPTS: u32 = 3;

/// [`Shared::reset_request`] bit: the event interrupt saw a firmware crash.
pub(crate) const RESET_CRASH: u32 = 1 << 9;

/// The timeout a device starts with: the `timeout_ms` module parameter.
pub(crate) fn default_timeout_ms() -> u32 {
    crate::module_parameters::timeout_ms.value()
}

impl Shared {
    /// Asks the recovery work for the resets in `bits` (queue bits, [`RESET_DEVICE`],
    /// [`RESET_CRASH`]); callable from any context.
    pub(crate) fn request_reset(this: &Arc<Self>, bits: u32) {
        if this.stopping.load(Relaxed) != 0 {
            return;
        }
        let mut old = this.reset_request.load(Relaxed);
        while let Err(now) = this.reset_request.cmpxchg(old, old | bits, Relaxed) {
            old = now;
        }
        // Already queued: it will see the new bits. A device recovery reboots the firmware,
        // which takes long: it runs on the queue for long work items.
        let _ = workqueue::system_long().enqueue::<_, 1>(this.clone());
    }

    /// Starts the watchdog.
    pub(crate) fn start_watchdog(this: &Arc<Self>) {
        let _ =
            workqueue::system_long().enqueue_delayed::<_, 2>(this.clone(), msecs_to_jiffies(10));
    }

    /// Stops the watchdog and recovery and waits for them; nothing starts them again.
    pub(crate) fn stop_recovery(&self) {
        self.stopping.store(1, Relaxed);
        // A watchdog run that had not seen the flag may have queued itself once more.
        while self.watchdog.flush() {}
        self.recover.flush();
    }

    /// Fails with `ENODEV` once the device is wedged.
    pub(crate) fn check_alive(&self) -> Result {
        if self.wedged.load(Relaxed) != 0 {
            return Err(ENODEV);
        }
        Ok(())
    }

    /// Sends a wedged uevent announcing `method`.
    fn uevent(&self, method: WedgeRecovery) {
        if let Some(drm) = self.drm.lock().as_ref() {
            let _ = drm.wedged_event(method);
        }
    }
}

impl WorkItem<2> for Shared {
    type Pointer = Arc<Shared>;

    /// The watchdog.
    fn run(this: Arc<Shared>) {
        if this.stopping.load(Relaxed) != 0 {
            return;
        }
        let ms = this.timeout_ms.load(Relaxed).max(MIN_TIMEOUT_MS);
        let timeout = Delta::from_millis(i64::from(ms));
        if this.wedged.load(Relaxed) == 0 {
            let mut stuck = 0;
            for (q, queue) in this.queues.iter().enumerate() {
                if queue.stalled(timeout) {
                    stuck |= 1 << q;
                }
            }
            if stuck != 0 {
                Shared::request_reset(&this, stuck);
            }
        }
        let period = (ms / 4).clamp(10, 500);
        let _ = workqueue::system_long().enqueue_delayed::<_, 2>(this, msecs_to_jiffies(period));
    }
}

impl WorkItem<1> for Shared {
    type Pointer = Arc<Shared>;

    /// Recovery: does the resets asked for.
    fn run(this: Arc<Shared>) {
        if this.stopping.load(Relaxed) != 0 || this.wedged.load(Relaxed) != 0 {
            return;
        }
        let req = this.reset_request.xchg(0, Relaxed);
        let mut device = None;
        if req & RESET_CRASH != 0 {
            // The interrupt may report a crash that a recovery already dealt with.
            let halted = this.bar.try_access().map_or(0, |bar| {
                bar.try_read32(regs::DEV_STATUS).unwrap_or(0) & regs::DEV_STATUS_HALTED
            });
            if halted != 0 {
                // CAST: `crash_code` is the low half of the word.
                let code = this.events.read(regs::EVENT_CRASH_COUNT_WORD).unwrap_or(0) as u32;
                device = Some(Reason::Crash(code));
            }
        }
        if req & RESET_DEVICE != 0 {
            device = Some(Reason::Forced);
        }
        if device.is_none() {
            for q in (0..NUM_QUEUES).filter(|q| req & (1 << q) != 0) {
                if let Err(e) = reset_queue(&this, q) {
                    dev_err!(
                        this.dev,
                        "queue {q}: reset failed ({e:?}): resetting the device\n"
                    );
                    // CAST: `q` is below `NUM_QUEUES`.
                    device = Some(Reason::QueueResetFailed(q as u32));
                    break;
                }
            }
        }
        if let Some(reason) = device {
            reset_device(&this, reason);
        }
    }
}

/// Resets queue `q`, whose running job made no progress (or a reset was forced).
fn reset_queue(this: &Arc<Shared>, q: usize) -> Result {
    let queue = this.queues.get(q).ok_or(EINVAL)?;
    let start = Instant::<Monotonic>::now();
    // CAST: `q` is below `NUM_QUEUES`.
    let dump = coredump::capture(this, Reason::Hang(q as u32));
    let Some(guilty) = queue.reset_hung(this)? else {
        // Nothing on the ring any more: it finished meanwhile.
        return Ok(());
    };
    this.queue_resets.add(1, Relaxed);
    let banned = guilty.note_hang();
    dev_warn!(
        this.dev,
        "queue {q}: job made no progress for {} ms: queue reset, job ended with ETIMEDOUT{}, recovered in {} us\n",
        this.timeout_ms.load(Relaxed),
        if banned { ", its file is banned" } else { "" },
        start.elapsed().as_micros_ceil()
    );
    this.uevent(WedgeRecovery::NONE);
    coredump::emit(this, dump);
    Ok(())
}

/// Resets the whole device and boots the firmware again; wedges the device if it cannot.
fn reset_device(this: &Arc<Shared>, reason: Reason) {
    let start = Instant::<Monotonic>::now();
    for q in &this.queues {
        q.pause();
    }
    let dump = coredump::capture(this, reason);
    this.device_resets.add(1, Relaxed);
    let result = reboot(this);
    let result = result.and_then(|()| this.queues.iter().try_for_each(|q| q.restart(this)));
    match result {
        Ok(()) => {
            dev_warn!(
                this.dev,
                "{reason}: device reset, firmware rebooted, jobs that were running ended with EIO, recovered in {} us\n",
                start.elapsed().as_micros_ceil()
            );
            this.uevent(WedgeRecovery::NONE);
            coredump::emit(this, dump);
        }
        Err(e) => {
            wedge(this, e);
            coredump::emit(this, dump);
        }
    }
}

/// Resets the device, ends the jobs it aborted, boots the kept firmware image; up to
/// [`BOOT_ATTEMPTS`] times.
fn reboot(this: &Arc<Shared>) -> Result {
    let mut last = EIO;
    for attempt in 1..=BOOT_ATTEMPTS {
        {
            let mut issued = this.lock_invalidations();
            let bar = this.bar.try_access().ok_or(ENODEV)?;
            Shared::reset_device(&bar);
            // No translation survives the reset: waiters for invalidations are done.
            this.reset_gen.add(1, Relaxed);
            this.events.fill(0)?;
            this.program_memory_locked(&bar, &mut issued);
        }
        if attempt == 1 {
            for q in &this.queues {
                q.collect_after_device_reset()?;
            }
        }
        match boot(this) {
            Ok(()) => return Ok(()),
            Err(e) => {
                dev_warn!(
                    this.dev,
                    "reboot attempt {attempt} of {BOOT_ATTEMPTS} failed ({e:?})\n"
                );
                last = e;
            }
        }
    }
    Err(last)
}

/// Boots the kept firmware image and selects the ABI; the device has just been reset.
fn boot(this: &Shared) -> Result {
    let fw = this.fw.lock();
    let image = &fw.as_ref().ok_or(ENOENT)?.image;
    let addr = image.dma_address();
    // CAST: The image is at most 1 MiB (checked when it was loaded).
    let len = image.len() as u32;
    let bar = this.bar.try_access().ok_or(ENODEV)?;
    // CAST: Register halves of a 64-bit address.
    bar.try_write32(addr as u32, regs::BOOT_ADDR_LO)?;
    bar.try_write32((addr >> 32) as u32, regs::BOOT_ADDR_HI)?;
    bar.try_write32(len, regs::BOOT_SIZE)?;
    bar.try_write32(regs::BOOT_CTRL_START, regs::BOOT_CTRL)?;
    // A read after START returns once the boot ROM has finished (`docs/hardware.md` 4.3).
    let status = bar.try_read32(regs::BOOT_STATUS)?;
    if status != regs::BOOT_STATUS_OK {
        dev_warn!(
            this.dev,
            "the boot ROM refused the firmware: {} (status {status})\n",
            regs::boot_status_name(status)
        );
        return Err(EIO);
    }
    bar.try_write32(regs::DRIVER_ABI, regs::ABI_SELECT)?;
    if bar.try_read32(regs::DEV_STATUS)? & regs::DEV_STATUS_READY == 0 {
        return Err(EIO);
    }
    Ok(())
}

/// The device cannot be brought back: stop it and fail everything until rebind.
fn wedge(this: &Arc<Shared>, err: Error) {
    this.wedged.store(1, Relaxed);
    this.kill();
    this.quiesce_now();
    for q in &this.queues {
        q.abort_all(ENODEV);
    }
    dev_err!(
        this.dev,
        "the device could not be recovered ({err:?}): wedged, every ioctl fails with ENODEV until the driver is rebound\n"
    );
    this.uevent(WedgeRecovery::REBIND);
}

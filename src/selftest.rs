// SPDX-License-Identifier: GPL-2.0

//! The platform's round trip (`docs/hardware.md` 3.1): a `SELFTEST` register write, the
//! device's DMA write of a word, MSI-X vector 5, and the waiting thread woken by the hard
//! interrupt handler. Nothing of the job path (descriptors, fences, the scheduler, the
//! threaded queue handler) is in between, so its figures are the floor the job path is
//! measured against (debugfs `selftest`, `tern bench`).

use kernel::{
    device::{
        Bound,
        Device, //
    },
    io::Io,
    irq::{
        Handler,
        IrqReturn, //
    },
    new_condvar, new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{
        Arc,
        CondVar,
        CondVarTimeoutResult,
        Mutex,
        SpinLockIrq, //
    },
    time::{
        msecs_to_jiffies,
        Instant,
        Monotonic, //
    },
};

use crate::{
    mem::DmaWords,
    regs,
    shared::Shared, //
};

/// Round trips of one run.
pub(crate) const ROUNDS: usize = 2000;
/// How long one round trip may take before the run fails with `ETIMEDOUT`.
const ROUND_TIMEOUT_MS: u32 = 100;

/// What one run measured, in nanoseconds.
pub(crate) struct Figures {
    pub(crate) rounds: usize,
    pub(crate) min: u64,
    pub(crate) p50: u64,
    pub(crate) p99: u64,
    pub(crate) max: u64,
    /// The whole run, for the rate of back-to-back round trips.
    pub(crate) total: u64,
}

/// The self-test word and the waiter the interrupt wakes.
#[pin_data]
pub(crate) struct SelfTest {
    /// The word the device writes (its low half).
    word: DmaWords,
    /// The value the interrupt handler last read from the word.
    #[pin]
    seen: SpinLockIrq<u32>,
    #[pin]
    woken: CondVar,
    /// One run at a time; the value of the next round trip.
    #[pin]
    next: Mutex<u32>,
}

impl SelfTest {
    /// Allocates the word.
    pub(crate) fn new(dev: &Device<Bound>) -> Result<impl PinInit<Self, Error>> {
        let word = DmaWords::zeroed(dev, 1)?;
        Ok(try_pin_init!(Self {
            word,
            seen <- new_spinlock_irq!(0),
            woken <- new_condvar!("tern-selftest"),
            next <- new_mutex!(1),
        }? Error))
    }

    /// Runs [`ROUNDS`] round trips, one after another.
    ///
    /// Fails with `ENODEV` when the device has no self-test (`CAPS`) or is going away,
    /// `ETIMEDOUT` when a round trip takes longer than [`ROUND_TIMEOUT_MS`], and `EINTR` on a
    /// signal.
    pub(crate) fn run(shared: &Shared, caps: u32) -> Result<Figures> {
        if caps & regs::CAPS_SELFTEST == 0 {
            return Err(ENODEV);
        }
        let st = &shared.selftest;
        let mut next = st.next.lock();
        let mut samples = KVec::with_capacity(ROUNDS, GFP_KERNEL)?;
        let addr = st.word.dma_address();
        {
            let bar = shared.bar.try_access().ok_or(ENODEV)?;
            // CAST: Register halves of a 64-bit address.
            bar.try_write32(addr as u32, regs::SELFTEST_ADDR_LO)?;
            bar.try_write32((addr >> 32) as u32, regs::SELFTEST_ADDR_HI)?;
        }
        let start = Instant::<Monotonic>::now();
        for _ in 0..ROUNDS {
            // Never 0, the value the word starts with.
            let value = *next;
            *next = next.wrapping_add(1).max(1);
            let t0 = Instant::<Monotonic>::now();
            shared
                .bar
                .try_access()
                .ok_or(ENODEV)?
                .try_write32(value, regs::SELFTEST)?;
            let mut seen = st.seen.lock();
            while *seen != value {
                match st
                    .woken
                    .wait_interruptible_timeout(&mut seen, msecs_to_jiffies(ROUND_TIMEOUT_MS))
                {
                    CondVarTimeoutResult::Timeout => return Err(ETIMEDOUT),
                    CondVarTimeoutResult::Signal { .. } => return Err(EINTR),
                    CondVarTimeoutResult::Woken { .. } => {}
                }
            }
            drop(seen);
            // CAST: A round trip is far shorter than 2^63 ns.
            samples.push(t0.elapsed().as_nanos() as u64, GFP_KERNEL)?;
        }
        // CAST: As above.
        let total = start.elapsed().as_nanos() as u64;
        samples.sort_unstable();
        let at = |p: usize| samples.get((ROUNDS - 1) * p / 100).copied().unwrap_or(0);
        Ok(Figures {
            rounds: ROUNDS,
            min: at(0),
            p50: at(50),
            p99: at(99),
            max: at(100),
            total,
        })
    }
}

/// Hard interrupt handler of vector 5: reads the word and wakes the waiter.
pub(crate) struct SelfTestIrq(pub(crate) Arc<Shared>);

impl Handler for SelfTestIrq {
    fn handle(&self) -> IrqReturn {
        let st = &self.0.selftest;
        // CAST: The device writes the low half of the word.
        let value = st.word.read(0).unwrap_or(0) as u32;
        *st.seen.lock() = value;
        st.woken.notify_all();
        IrqReturn::Handled
    }
}

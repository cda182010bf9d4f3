// SPDX-License-Identifier: GPL-2.0

//! The device event interrupt (MSI-X vector 0).

use kernel::{
    device,
    irq::{
        IrqReturn,
        ThreadedHandler, //
    },
    prelude::*,
    sync::aref::ARef,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic,
        Msecs, //
    },
};

use crate::{
    recovery::RESET_CRASH, //@ step recovery
    shared::Shared,        //
};

/// Word of the event page holding `crash_code` (bits 31:0 of the second word).
const EVENT_CRASH_WORD: usize = 1;

/// Handler of the device event interrupt.
///
/// It counts interrupts, which the probe waits for, and reacts to a firmware crash: the device
/// then aborts the jobs in flight and ignores doorbells until it is reset, which the recovery
/// work does (`src/recovery.rs`).
#[pin_data]
pub(crate) struct EventIrq {
    /// The device, for messages.
    dev: ARef<device::Device>,
    /// The device state, for the event page and the queues.
    shared: Arc<Shared>,
    /// Set once a crash has been reported.
    crashed: Atomic<i32>,
    /// Number of interrupts handled since probe.
    count: Atomic<u64>,
}

impl EventIrq {
    /// Creates the handler state.
    pub(crate) fn new(dev: &device::Device, shared: Arc<Shared>) -> impl PinInit<Self, Error> {
        let dev: ARef<device::Device> = dev.into();
        try_pin_init!(Self {
            dev,
            shared,
            crashed: Atomic::new(0),
            count: Atomic::new(0),
        }? Error)
    }

    /// Returns the number of interrupts handled so far.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Waits until more than `seen` interrupts have been handled, for at most `timeout_ms`.
    ///
    /// Returns [`ETIMEDOUT`] on timeout. Signals do not end the wait: the probe that waits must
    /// not give up on a device that is still reading memory it was given (a signal to insmod).
    pub(crate) fn wait_for_more_than(&self, seen: u64, timeout_ms: Msecs) -> Result {
        let start = Instant::<Monotonic>::now();
        let timeout = Delta::from_millis(i64::from(timeout_ms));
        while self.count() <= seen {
            if start.elapsed() > timeout {
                return Err(ETIMEDOUT);
            }
            fsleep(Delta::from_micros(100));
        }
        Ok(())
    }
}

impl ThreadedHandler for EventIrq {
    fn handle_threaded(&self) -> IrqReturn {
        // CAST: `crash_code` is the low half of the word.
        let crash = self.shared.events.read(EVENT_CRASH_WORD).unwrap_or(0) as u32;
        if crash != 0 {
            // Logged once per crash: recovery zeroes the event page.
            if self.crashed.xchg(1, Relaxed) == 0 {
                dev_err!(
                    self.dev,
                    //@ before recovery: "firmware crashed (code {crash:#x})\n"
                    "firmware crashed (code {crash:#x}): resetting the device\n" //@ step recovery
                );
            }
            Shared::request_reset(&self.shared, RESET_CRASH); //@ step recovery
        } else {
            self.crashed.store(0, Relaxed);
        }
        self.count.add(1, Relaxed);

        IrqReturn::Handled
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The device event interrupt (MSI-X vector 0).

use kernel::{
    irq::{
        IrqReturn,
        ThreadedHandler, //
    },
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        new_condvar,
        new_mutex,
        CondVar,
        CondVarTimeoutResult,
        Mutex, //
    },
    time::{
        msecs_to_jiffies,
        Msecs, //
    },
};

/// Handler of the device event interrupt.
///
/// For now it only counts interrupts and wakes up whoever waits for one.
#[pin_data]
pub(crate) struct EventIrq {
    /// Number of interrupts handled since probe.
    count: Atomic<u64>,
    /// Serialises waiters with [`Self::notify`], so that no wake-up is lost.
    #[pin]
    lock: Mutex<()>,
    /// Signalled after every interrupt.
    #[pin]
    raised: CondVar,
}

impl EventIrq {
    /// Creates the handler state.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            count: Atomic::new(0),
            lock <- new_mutex!(()),
            raised <- new_condvar!(),
        }? Error)
    }

    /// Returns the number of interrupts handled so far.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Waits until more than `seen` interrupts have been handled, for at most `timeout_ms`.
    ///
    /// Returns [`ETIMEDOUT`] on timeout and [`EINTR`] if a signal is pending.
    pub(crate) fn wait_for_more_than(&self, seen: u64, timeout_ms: Msecs) -> Result {
        let mut remaining = msecs_to_jiffies(timeout_ms);
        let mut guard = self.lock.lock();

        while self.count() <= seen {
            match self
                .raised
                .wait_interruptible_timeout(&mut guard, remaining)
            {
                CondVarTimeoutResult::Timeout => return Err(ETIMEDOUT),
                CondVarTimeoutResult::Signal { .. } => return Err(EINTR),
                CondVarTimeoutResult::Woken { jiffies } => remaining = jiffies,
            }
        }

        Ok(())
    }

    /// Wakes up all waiters.
    fn notify(&self) {
        // A waiter checks the count and goes to sleep under `lock`: taking it here means the
        // waiter has either seen the new count or is already on the wait queue.
        let _guard = self.lock.lock();
        self.raised.notify_all();
    }
}

impl ThreadedHandler for EventIrq {
    fn handle_threaded(&self) -> IrqReturn {
        self.count.add(1, Relaxed);
        self.notify();

        IrqReturn::Handled
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fault injection knobs (`docs/hardware.md` 11), set from the command line or the control
//! socket.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tern_hw::BootStatus;

/// The knobs. Each is consumed or cleared as its description says.
#[derive(Default)]
pub struct Faults {
    /// Next boot fails with this status (0: none). Sticky until cleared.
    pub boot_fail: AtomicU32,
    /// The next boot only fails with this status (0: none); cleared by that boot.
    pub boot_fail_once: AtomicU32,
    /// Bit q set: queue q hangs: the job it takes never completes until a reset.
    pub hang_mask: AtomicU32,
    /// The next job (any queue) faults on its first memory access.
    pub mmu_fault_next: AtomicBool,
    /// Crash the firmware now (handled by the device, then cleared).
    pub crash: AtomicBool,
    /// Log of what was injected, for the control socket's `status` command.
    pub log: Mutex<Vec<String>>,
}

/// A knob setting parsed from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Knob {
    /// `boot-fail=STATUS` (a boot status code or name).
    BootFail(u32),
    /// `boot-fail-once=STATUS`: only the next boot fails.
    BootFailOnce(u32),
    /// `hang=QUEUE`.
    Hang(u32),
    /// `mmu-fault`.
    MmuFault,
    /// `crash`.
    Crash,
    /// `remove`: surprise removal: the server goes away.
    Remove,
    /// `clear`: all knobs off.
    Clear,
}

impl Knob {
    /// Parses `name[=value]`.
    pub fn parse(s: &str) -> Result<Knob, String> {
        let (name, val) = s.split_once('=').map_or((s, None), |(a, b)| (a, Some(b)));
        let num = |v: Option<&str>| -> Result<u32, String> {
            let v = v.ok_or_else(|| format!("'{name}' needs a value"))?;
            v.parse().map_err(|_| format!("'{v}' is not a number"))
        };
        match name {
            "boot-fail" | "boot-fail-once" => {
                let v = val.ok_or_else(|| format!("'{name}' needs a status"))?;
                let code = (2..=10)
                    .find(|&c| status_name(c).is_some_and(|n| n.eq_ignore_ascii_case(v)))
                    .map_or_else(|| num(Some(v)), Ok)?;
                if !(2..=10).contains(&code) {
                    return Err(format!("boot status {code} is not a failure (2..=10)"));
                }
                Ok(if name == "boot-fail" {
                    Knob::BootFail(code)
                } else {
                    Knob::BootFailOnce(code)
                })
            }
            "hang" => {
                let q = num(val)?;
                if q >= 4 {
                    return Err(format!("queue {q} does not exist (0..=3)"));
                }
                Ok(Knob::Hang(q))
            }
            "mmu-fault" => Ok(Knob::MmuFault),
            "crash" => Ok(Knob::Crash),
            "remove" => Ok(Knob::Remove),
            "clear" => Ok(Knob::Clear),
            _ => Err(format!(
                "unknown fault '{name}' (boot-fail=S, boot-fail-once=S, hang=Q, mmu-fault, crash, remove, clear)"
            )),
        }
    }
}

fn status_name(code: u32) -> Option<&'static str> {
    BootStatus::from_code(code)
        .filter(|s| s.is_failure())
        .map(BootStatus::name)
}

impl Faults {
    /// Applies a knob (except `Remove`, which the server handles).
    pub fn apply(&self, k: &Knob) {
        match k {
            Knob::BootFail(c) => self.boot_fail.store(*c, Ordering::SeqCst),
            Knob::BootFailOnce(c) => self.boot_fail_once.store(*c, Ordering::SeqCst),
            Knob::Hang(q) => {
                self.hang_mask.fetch_or(1 << q, Ordering::SeqCst);
            }
            Knob::MmuFault => self.mmu_fault_next.store(true, Ordering::SeqCst),
            Knob::Crash => self.crash.store(true, Ordering::SeqCst),
            Knob::Remove => {}
            Knob::Clear => {
                self.boot_fail.store(0, Ordering::SeqCst);
                self.boot_fail_once.store(0, Ordering::SeqCst);
                self.hang_mask.store(0, Ordering::SeqCst);
                self.mmu_fault_next.store(false, Ordering::SeqCst);
            }
        }
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("{k:?}"));
        log::warn!("fault injection: {k:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_knobs() {
        assert_eq!(Knob::parse("boot-fail=5"), Ok(Knob::BootFail(5)));
        assert_eq!(Knob::parse("boot-fail=bad_digest"), Ok(Knob::BootFail(5)));
        assert_eq!(Knob::parse("boot-fail-once=5"), Ok(Knob::BootFailOnce(5)));
        assert!(Knob::parse("boot-fail-once").is_err());
        assert!(Knob::parse("boot-fail=1").is_err());
        assert!(Knob::parse("boot-fail").is_err());
        assert_eq!(Knob::parse("hang=3"), Ok(Knob::Hang(3)));
        assert!(Knob::parse("hang=4").is_err());
        assert_eq!(Knob::parse("crash"), Ok(Knob::Crash));
        assert!(Knob::parse("explode").is_err());
    }
}

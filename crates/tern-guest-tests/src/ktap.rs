// SPDX-License-Identifier: MIT OR Apache-2.0
//! A minimal KTAP producer: one line per test, diagnostics as `#` lines.

use std::io::Write;

/// A test's outcome: `Ok` passes, `Err(reason)` fails with the reason printed.
pub type Outcome = Result<(), String>;

/// A test body.
pub type TestFn = fn() -> Outcome;

/// A named test.
pub struct Test {
    /// Name printed in the result line.
    pub name: &'static str,
    /// The test body.
    pub run: fn() -> Outcome,
}

/// Runs `tests` (those whose name contains `filter`), prints KTAP, returns the failure count.
pub fn run(tests: &[Test], filters: &[String]) -> usize {
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|t| filters.is_empty() || filters.iter().any(|f| t.name.contains(f.as_str())))
        .collect();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "KTAP version 1\n1..{}", selected.len());
    let _ = out.flush();
    let mut failed = 0;
    for (i, t) in selected.iter().enumerate() {
        let r = std::panic::catch_unwind(t.run)
            .unwrap_or_else(|p| Err(format!("panicked: {}", panic_text(&p))));
        match r {
            Ok(()) => {
                let _ = writeln!(out, "ok {} {}", i + 1, t.name);
            }
            Err(why) => {
                failed += 1;
                for line in why.lines() {
                    let _ = writeln!(out, "# {}: {line}", t.name);
                }
                let _ = writeln!(out, "not ok {} {}", i + 1, t.name);
            }
        }
        let _ = out.flush();
    }
    failed
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Fails with `msg` unless `cond` holds.
pub fn check(cond: bool, msg: impl FnOnce() -> String) -> Outcome {
    if cond { Ok(()) } else { Err(msg()) }
}

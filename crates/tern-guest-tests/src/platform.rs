// SPDX-License-Identifier: MIT OR Apache-2.0
//! The platform floor and interrupt coalescing: the driver's self-test (debugfs `selftest`)
//! measures a round trip, and jobs the scheduler puts on the ring together share one
//! interrupt.

use std::time::Duration;

use tern::{Device, JobStatus, Submit};

use crate::fence::Timeline;
use crate::ktap::{Outcome, check};
use crate::recovery::debugfs;

const T: Duration = Duration::from_secs(60);

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// `name value` lines of the self-test's output.
fn field(text: &str, name: &str) -> Result<u64, String> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| format!("no {name} in the self-test output: {text:?}"))
}

pub fn selftest_measures_the_floor() -> Outcome {
    let file = debugfs()?.join("selftest");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let rounds = field(&text, "rounds")?;
    let (min, p50, p99, max, total) = (
        field(&text, "min_ns")?,
        field(&text, "p50_ns")?,
        field(&text, "p99_ns")?,
        field(&text, "max_ns")?,
        field(&text, "total_ns")?,
    );
    check(rounds == 2000, || format!("rounds {rounds}"))?;
    check(0 < min && min <= p50 && p50 <= p99 && p99 <= max, || {
        format!("figures out of order: {text:?}")
    })?;
    check(total >= rounds * min, || {
        format!("the run took less than its round trips: {text:?}")
    })?;
    // Twice: the second run starts from where the first left the device.
    let again = std::fs::read_to_string(&file).map_err(s)?;
    check(field(&again, "rounds")? == 2000, || {
        format!("second run: {again:?}")
    })
}

/// Interrupts so far on MSI-X vector `vector` of the PCI function behind `dev`.
fn interrupts(dev: &Device, vector: usize) -> Result<u64, String> {
    let node = dev.path().file_name().ok_or("no node name")?;
    let pci = std::path::Path::new("/sys/class/accel")
        .join(node)
        .join("device");
    let mut irqs: Vec<u32> = std::fs::read_dir(pci.join("msi_irqs"))
        .map_err(|e| format!("msi_irqs: {e}"))?
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
        .collect();
    irqs.sort();
    let irq = *irqs
        .get(vector)
        .ok_or("fewer MSI-X vectors than expected")?;
    let table = std::fs::read_to_string("/proc/interrupts").map_err(s)?;
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{irq}:")))
        .ok_or_else(|| format!("irq {irq} not in /proc/interrupts"))?;
    let cpus = table
        .lines()
        .next()
        .map_or(0, |h| h.split_whitespace().count());
    Ok(line
        .split_whitespace()
        .skip(1)
        .take(cpus)
        .filter_map(|c| c.parse::<u64>().ok())
        .sum())
}

pub fn jobs_queued_together_share_an_interrupt() -> Outcome {
    const JOBS: usize = 32;
    let d = Device::open_first().map_err(s)?;
    // Queue 3, vector 4: no other test's jobs run there meanwhile.
    let vector = 4;
    let lone_before = interrupts(&d, vector)?;
    let c = d
        .run(
            &Submit {
                queue: 3,
                ..Default::default()
            },
            T,
        )
        .map_err(s)?;
    check(c.status == JobStatus::Done, || {
        format!("lone NOP: {}", c.status)
    })?;
    let lone = interrupts(&d, vector)? - lone_before;
    check(lone == 1, || format!("a lone job raised {lone} interrupts"))?;

    // JOBS jobs held by one fence reach the ring in one scheduler pass when it signals.
    let tl = Timeline::open()?;
    let gate = d.create_syncobj(false).map_err(s)?;
    gate.import_sync_file(&tl.fence(1)?).map_err(s)?;
    let jobs: Vec<_> = (0..JOBS)
        .map(|_| {
            d.submit(&Submit {
                queue: 3,
                waits: &[gate.at(0)],
                ..Default::default()
            })
        })
        .collect::<Result<_, _>>()
        .map_err(s)?;
    let before = interrupts(&d, vector)?;
    tl.inc(1)?;
    for j in jobs {
        let st = d.wait(j, T).map_err(s)?.status;
        check(st == JobStatus::Done, || format!("a gated NOP: {st}"))?;
    }
    let n = interrupts(&d, vector)? - before;
    check(n >= 1 && n < JOBS as u64 / 4, || {
        format!("{JOBS} jobs released together raised {n} interrupts")
    })
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern bench`: job round-trip latency and sustained job rate through the driver.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tern::{Device, Submit, deadline_after};

const TIMEOUT: Duration = Duration::from_secs(10);

fn progress(label: &str, done: usize, total: usize) {
    let mut e = std::io::stderr();
    if e.is_terminal() {
        let _ = write!(e, "\r{label}: {done}/{total}");
        if done == total {
            let _ = writeln!(e);
        }
    } else if done == total {
        let _ = writeln!(e, "{label}: {total} jobs");
    }
}

fn nop(queue: u32) -> Submit<'static, 'static> {
    Submit {
        queue,
        ..Default::default()
    }
}

/// Percentile of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sustained rate with `depth` jobs in flight.
fn rate(dev: &Device, depth: usize, jobs: usize) -> Result<f64> {
    let mut inflight = VecDeque::new();
    let t0 = Instant::now();
    for i in 0..jobs {
        if inflight.len() == depth
            && let Some(j) = inflight.pop_front()
        {
            let c = dev.wait(j, TIMEOUT)?;
            if !c.status.is_done() {
                bail!("a NOP job ended with: {}", c.status);
            }
        }
        inflight.push_back(dev.submit(&nop(0))?);
        if i % 64 == 0 {
            progress(&format!("rate, {depth} in flight"), i, jobs);
        }
    }
    for j in inflight {
        dev.wait(j, TIMEOUT)?;
    }
    progress(&format!("rate, {depth} in flight"), jobs, jobs);
    Ok(jobs as f64 / t0.elapsed().as_secs_f64())
}

/// Submit-to-signal latency through a syncobj: a NOP job signals a binary syncobj, and the
/// core's syncobj wait returns once the job's fence has signalled.
fn syncobj_latency(dev: &Device, jobs: usize) -> Result<Vec<Duration>> {
    let sync = dev.create_syncobj(false)?;
    let mut lat = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let t0 = Instant::now();
        dev.submit(&Submit {
            signals: &[sync.at(0)],
            ..Default::default()
        })?;
        dev.wait_syncobjs(&[sync.at(0)], deadline_after(TIMEOUT), false, false)?;
        lat.push(t0.elapsed());
        if i % 64 == 0 {
            progress("syncobj latency", i, jobs);
        }
    }
    progress("syncobj latency", jobs, jobs);
    lat.sort();
    Ok(lat)
}

/// Rate of `rounds` batches of 64 NOP jobs: a chain (each job waits for the previous one's
/// timeline point, queues taken in turn) or 64 independent jobs; the batch's last job is
/// waited for.
fn batch_rate(dev: &Device, rounds: usize, chained: bool) -> Result<f64> {
    let label = if chained {
        "64-deep chains"
    } else {
        "64 independent jobs"
    };
    let t0 = Instant::now();
    for r in 0..rounds {
        let line = dev.create_syncobj(false)?;
        let mut last = None;
        for i in 0..64u64 {
            let wait = [line.at(i)];
            let signal = [line.at(i + 1)];
            let s = Submit {
                queue: if chained { (i % 4) as u32 } else { 0 },
                waits: if chained && i > 0 { &wait } else { &[] },
                signals: if chained { &signal } else { &[] },
                ..Default::default()
            };
            last = Some(dev.submit(&s)?);
        }
        if let Some(j) = last {
            let c = dev.wait(j, TIMEOUT)?;
            if !c.status.is_done() {
                bail!("a NOP job ended with: {}", c.status);
            }
        }
        if chained {
            dev.wait_syncobjs(&[line.at(64)], deadline_after(TIMEOUT), false, false)?;
        }
        progress(label, r * 64, rounds * 64);
    }
    progress(label, rounds * 64, rounds * 64);
    Ok((rounds * 64) as f64 / t0.elapsed().as_secs_f64())
}

/// Runs the benchmarks and prints a table.
pub fn bench(dev: &Device, jobs: usize) -> Result<()> {
    let mut lat = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let t0 = Instant::now();
        let c = dev.run(&nop(0), TIMEOUT)?;
        lat.push(t0.elapsed());
        if !c.status.is_done() {
            bail!("a NOP job ended with: {}", c.status);
        }
        if i % 64 == 0 {
            progress("latency", i, jobs);
        }
    }
    progress("latency", jobs, jobs);
    lat.sort();
    let r1 = rate(dev, 1, jobs)?;
    let r64 = rate(dev, 64, jobs)?;
    let slat = syncobj_latency(dev, jobs)?;
    let rounds = (jobs / 64).max(4);
    let chain = batch_rate(dev, rounds, true)?;
    let indep = batch_rate(dev, rounds, false)?;
    let p50 = percentile(&lat, 0.50).as_secs_f64();
    let sp50 = percentile(&slat, 0.50).as_secs_f64();
    println!("{:<38} {:>12}", "benchmark (NOP jobs, queue 0)", "result");
    println!(
        "{:<38} {:>9.1} us",
        "submit->wait round trip p50",
        percentile(&lat, 0.50).as_secs_f64() * 1e6
    );
    println!(
        "{:<38} {:>9.1} us",
        "submit->wait round trip p99",
        percentile(&lat, 0.99).as_secs_f64() * 1e6
    );
    println!("{:<38} {:>9.0} /s", "sustained jobs, 1 in flight", r1);
    println!("{:<38} {:>9.0} /s", "sustained jobs, 64 in flight", r64);
    println!("{:<38} {:>11.2}x", "64 in flight vs 1 in flight", r64 / r1);
    println!(
        "{:<38} {:>9.1} us",
        "submit->syncobj signal p50",
        sp50 * 1e6
    );
    println!(
        "{:<38} {:>9.1} us",
        "submit->syncobj signal p99",
        percentile(&slat, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "{:<38} {:>11.2}x",
        "syncobj vs WAIT round trip (p50)",
        sp50 / p50
    );
    println!("{:<38} {:>9.0} /s", "64-deep dependency chains", chain);
    println!("{:<38} {:>9.0} /s", "64 independent jobs", indep);
    println!("{:<38} {:>11.2}x", "chain vs independent", chain / indep);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_micros(51));
        assert_eq!(percentile(&v, 0.99), Duration::from_micros(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}

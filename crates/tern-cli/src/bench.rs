// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern bench`: job round-trip latency and sustained job rate through the driver.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tern::{Device, Submit, SyncPoint, deadline_after};

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
/// waited for. `batched`: each batch is one SUBMIT_BATCH call, else 64 SUBMITs.
fn batch_rate(dev: &Device, rounds: usize, chained: bool, batched: bool) -> Result<f64> {
    let label = match (chained, batched) {
        (true, false) => "64-deep chains",
        (false, false) => "64 independent jobs",
        (true, true) => "64-deep chains, batched",
        (false, true) => "64 independent jobs, batched",
    };
    let t0 = Instant::now();
    for r in 0..rounds {
        let line = dev.create_syncobj(false)?;
        let waits: Vec<[SyncPoint; 1]> = (0..64u64).map(|i| [line.at(i)]).collect();
        let signals: Vec<[SyncPoint; 1]> = (0..64u64).map(|i| [line.at(i + 1)]).collect();
        let submits: Vec<Submit> = (0..64usize)
            .map(|i| Submit {
                queue: if chained { (i % 4) as u32 } else { 0 },
                waits: if chained && i > 0 { &waits[i] } else { &[] },
                signals: if chained { &signals[i] } else { &[] },
                ..Default::default()
            })
            .collect();
        let last = if batched {
            dev.submit_batch(&submits)?.last().copied()
        } else {
            let mut last = None;
            for s in &submits {
                last = Some(dev.submit(s)?);
            }
            last
        };
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

/// A figure against the floor: `ratio` times it, or a dash without a floor.
fn vs(floor: Option<f64>, value: f64) -> String {
    match floor {
        Some(f) if f > 0.0 => format!("{:>8.2}x floor", value / f),
        _ => "         -".to_string(),
    }
}

/// Runs the benchmarks and prints a table: each figure, and its ratio to the platform floor
/// measured in the same run (the driver's self-test, [`crate::floor`]).
pub fn bench(dev: &Device, jobs: usize, copy_mib: u64) -> Result<()> {
    let floor = match crate::floor::measure(dev) {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("tern bench: no floor ({e:#}); ratios are left out");
            None
        }
    };
    let mut lat = Vec::with_capacity(jobs);
    let mut sub = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let t0 = Instant::now();
        let job = dev.submit(&nop(0))?;
        sub.push(t0.elapsed());
        let c = dev.wait(job, TIMEOUT)?;
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
    sub.sort();
    let r1 = rate(dev, 1, jobs)?;
    let r64 = rate(dev, 64, jobs)?;
    let slat = syncobj_latency(dev, jobs)?;
    let rounds = (jobs / 64).max(4);
    let chain = batch_rate(dev, rounds, true, false)?;
    let indep = batch_rate(dev, rounds, false, false)?;
    // A driver older than SUBMIT_BATCH (uAPI 5) has no batched figures.
    let batching = dev.query()?.uapi_version >= 5;
    let (chain_b, indep_b) = if batching {
        (
            batch_rate(dev, rounds, true, true)?,
            batch_rate(dev, rounds, false, true)?,
        )
    } else {
        (f64::NAN, f64::NAN)
    };
    let copy = if copy_mib > 0 {
        Some(crate::bench_copy::copy_bandwidth(dev, copy_mib << 20)?)
    } else {
        None
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let p50 = percentile(&lat, 0.50).as_secs_f64();
    let sp50 = percentile(&slat, 0.50).as_secs_f64();
    let f_p50 = floor.map(|f| us(f.p50));
    let f_p99 = floor.map(|f| us(f.p99));
    let f_rate = floor.map(|f| f.rate());
    println!("{:<38} {:>12}", "benchmark (NOP jobs, queue 0)", "result");
    if let Some(f) = floor {
        println!(
            "{:<38} {:>9.1} us",
            "floor: self-test round trip p50",
            us(f.p50)
        );
        println!(
            "{:<38} {:>9.1} us",
            "floor: self-test round trip p99",
            us(f.p99)
        );
        println!(
            "{:<38} {:>9.1} us",
            "floor: self-test round trip min",
            us(f.min)
        );
        println!(
            "{:<38} {:>9.0} /s",
            "floor: back-to-back round trips",
            f.rate()
        );
    }
    let lp50 = us(percentile(&lat, 0.50));
    let lp99 = us(percentile(&lat, 0.99));
    println!(
        "{:<38} {:>9.1} us {}",
        "submit->wait round trip p50",
        lp50,
        vs(f_p50, lp50)
    );
    println!(
        "{:<38} {:>9.1} us {}",
        "submit->wait round trip p99",
        lp99,
        vs(f_p99, lp99)
    );
    let sp = us(percentile(&sub, 0.50));
    println!(
        "{:<38} {:>9.1} us {}",
        "  of which the SUBMIT call, p50",
        sp,
        vs(f_p50, sp)
    );
    println!(
        "{:<38} {:>9.0} /s {}",
        "sustained jobs, 1 in flight",
        r1,
        vs(f_rate, r1)
    );
    println!(
        "{:<38} {:>9.0} /s {}",
        "sustained jobs, 64 in flight",
        r64,
        vs(f_rate, r64)
    );
    println!("{:<38} {:>11.2}x", "64 in flight vs 1 in flight", r64 / r1);
    let sl50 = sp50 * 1e6;
    println!(
        "{:<38} {:>9.1} us {}",
        "submit->syncobj signal p50",
        sl50,
        vs(f_p50, sl50)
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
    println!(
        "{:<38} {:>9.0} /s {}",
        "64-deep dependency chains",
        chain,
        vs(f_rate, chain)
    );
    println!(
        "{:<38} {:>9.0} /s {}",
        "64 independent jobs",
        indep,
        vs(f_rate, indep)
    );
    println!("{:<38} {:>11.2}x", "chain vs independent", chain / indep);
    println!(
        "{:<38} {:>11.2}x",
        "64 independent vs 1 in flight",
        indep / r1
    );
    if batching {
        println!(
            "{:<38} {:>9.0} /s {}",
            "64 independent jobs, one SUBMIT_BATCH",
            indep_b,
            vs(f_rate, indep_b)
        );
        println!(
            "{:<38} {:>9.0} /s {}",
            "64-deep chains, one SUBMIT_BATCH",
            chain_b,
            vs(f_rate, chain_b)
        );
        println!(
            "{:<38} {:>11.2}x",
            "batched independent vs 1 in flight",
            indep_b / r1
        );
    } else {
        println!("{:<38} {:>12}", "SUBMIT_BATCH", "(not in this driver)");
    }
    if let Some((device, cpu)) = copy {
        let label = format!("COPY job, {copy_mib} MiB");
        println!("{:<38} {:>9.0} MB/s", label, device / 1e6);
        let label = format!("guest memcpy, {copy_mib} MiB");
        println!("{:<38} {:>9.0} MB/s", label, cpu / 1e6);
        println!("{:<38} {:>11.2}x", "COPY job vs guest memcpy", device / cpu);
    }
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

// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern bench`: job round-trip latency and sustained job rate through the driver.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tern::{Device, Submit};

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

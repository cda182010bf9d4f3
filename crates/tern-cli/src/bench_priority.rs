// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern bench` priority figures: the latency of a short job on an idle device, and under a
//! flood of long low-priority jobs on the other queues, submitted at normal and at high
//! priority (`docs/hardware.md` 5.7).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tern::{Buffer, BufferFlags, Device, Job, Priority, Submit};

use crate::bench::percentile;

const TIMEOUT: Duration = Duration::from_secs(60);
/// Instructions of the probe job (a counted loop: about a millisecond in the model).
const PROBE_LOOP: u32 = 20_000;
/// Instruction budget of each flood job (a spin: tens of milliseconds).
const FLOOD_BUDGET: u32 = 2_000_000;
/// Flood jobs kept in flight per queue.
const FLOOD_DEPTH: usize = 4;

fn program<'d>(dev: &'d Device, src: &str) -> Result<(Buffer<'d>, u32)> {
    let code = tern_asm::assemble_bytes(src)?;
    let mut b = dev.create_buffer(4096, BufferFlags::default())?;
    b.bytes()?[..code.len()].copy_from_slice(&code);
    Ok((b, code.len() as u32))
}

/// Round trips of `n` probe jobs on queue 0 of `probe`, while `flood` (if any) keeps queues
/// 1 to 3 busy.
fn probe_latency(probe: &Device, flood: Option<&Device>, n: usize) -> Result<Vec<Duration>> {
    let (pprog, plen) = program(
        probe,
        &format!("li r1, {PROBE_LOOP}\nloop: addi r1, r1, -1\nbnz r1, loop\nhalt\n"),
    )?;
    let spin = match flood {
        Some(f) => Some((f, program(f, "top:\njmp top\n")?)),
        None => None,
    };
    let mut pending: VecDeque<Job> = VecDeque::new();
    let keep_full = |pending: &mut VecDeque<Job>| -> Result<()> {
        if let Some((f, (prog, len))) = &spin {
            while pending.len() < 3 * FLOOD_DEPTH {
                let q = 1 + (pending.len() % 3) as u32;
                pending.push_back(f.submit(&Submit {
                    queue: q,
                    program: Some(prog),
                    len: *len,
                    budget: FLOOD_BUDGET,
                    ..Default::default()
                })?);
            }
        }
        Ok(())
    };
    keep_full(&mut pending)?;
    std::thread::sleep(Duration::from_millis(50));
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        // Retire finished flood jobs and top the flood up, so it never runs dry.
        if let Some((f, _)) = &spin {
            while let Some(&j) = pending.front() {
                match f.wait(j, Duration::ZERO) {
                    Ok(_) => {
                        pending.pop_front();
                    }
                    Err(tern::Error::Timeout { .. }) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        keep_full(&mut pending)?;
        let t0 = Instant::now();
        let c = probe.run(
            &Submit {
                queue: 0,
                program: Some(&pprog),
                len: plen,
                ..Default::default()
            },
            TIMEOUT,
        )?;
        lat.push(t0.elapsed());
        if !c.status.is_done() {
            bail!("a probe job ended with: {}", c.status);
        }
    }
    if let Some((f, _)) = &spin {
        for j in pending {
            f.wait(j, TIMEOUT)?;
        }
    }
    lat.sort();
    Ok(lat)
}

/// Prints the priority figures; `n` probe jobs per measurement.
pub fn bench_priority(n: usize) -> Result<()> {
    let probe = Device::open_first()?;
    let flood = Device::open_first()?;
    flood.set_priority(Priority::Low)?;
    let idle = probe_latency(&probe, None, n)?;
    let normal = probe_latency(&probe, Some(&flood), n)?;
    let high = match probe.set_priority(Priority::High) {
        Ok(()) => Some(probe_latency(&probe, Some(&flood), n)?),
        Err(e) => {
            println!("high priority: {e} (needs CAP_SYS_NICE): not measured");
            None
        }
    };
    let p = |v: &[Duration], q| percentile(v, q).as_secs_f64() * 1e6;
    let base = p(&idle, 0.5);
    println!(
        "{:<38} {:>10} {:>10} {:>8}",
        "priority (probe job, queue 0)", "p50 us", "p99 us", "p50/idle"
    );
    let row = |name: &str, v: &[Duration]| {
        println!(
            "{name:<38} {:>10.1} {:>10.1} {:>7.2}x",
            p(v, 0.5),
            p(v, 0.99),
            p(v, 0.5) / base
        );
    };
    row("idle device", &idle);
    row("normal, low-priority flood on 1-3", &normal);
    if let Some(h) = &high {
        row("high, low-priority flood on 1-3", h);
    }
    Ok(())
}

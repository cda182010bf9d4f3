// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern bench`: a COPY job's bandwidth against the guest CPU's memcpy of the same buffers.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tern::{BufferFlags, Device, Submit};

use crate::pipeline::copy_program;

const TIMEOUT: Duration = Duration::from_secs(120);
/// Timed runs of each; the best counts (the first touches and maps the pages).
const RUNS: usize = 3;

/// Bytes per second of a COPY job and of `copy_from_slice` between the CPU mappings of the
/// same two buffers of `size` bytes; the destination is checked after each.
pub fn copy_bandwidth(dev: &Device, size: u64) -> Result<(f64, f64)> {
    let mut src = dev.create_buffer(size, BufferFlags::default())?;
    let mut dst = dev.create_buffer(size, BufferFlags::default())?;
    for (i, chunk) in src.bytes()?.chunks_mut(8).enumerate() {
        let v = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    let prog = copy_program(dev, dst.va(), src.va(), size)?;
    let mut cpu = Duration::MAX;
    let mut device = Duration::MAX;
    for _ in 0..RUNS {
        dst.bytes()?.fill(0);
        let t0 = Instant::now();
        let s = src.bytes()?;
        dst.bytes()?.copy_from_slice(s);
        cpu = cpu.min(t0.elapsed());
        check(src.bytes()?, dst.bytes()?, "memcpy")?;

        dst.bytes()?.fill(0);
        let t0 = Instant::now();
        let c = dev.run(
            &Submit {
                program: Some(&prog.0),
                len: prog.1,
                buffers: &[&dst],
                reads: &[&src],
                ..Default::default()
            },
            TIMEOUT,
        )?;
        device = device.min(t0.elapsed());
        if !c.status.is_done() {
            bail!("the COPY job ended with: {}", c.status);
        }
        check(src.bytes()?, dst.bytes()?, "COPY job")?;
    }
    let bw = |d: Duration| size as f64 / d.as_secs_f64();
    Ok((bw(device), bw(cpu)))
}

fn check(src: &[u8], dst: &[u8], what: &str) -> Result<()> {
    if src != dst {
        bail!("{what}: the destination differs from the source");
    }
    Ok(())
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern pipeline`: throughput of a two-stage copy pipeline, on one device and across two.
//!
//! Each round moves `size` bytes from a source buffer through an intermediate buffer into a
//! destination: stage 1 copies source to intermediate, stage 2 intermediate to destination.
//! Two intermediates alternate (double buffering), so round i+1's stage 1 may run while round
//! i's stage 2 does. Every ordering comes from implicit sync through the intermediates'
//! reservation objects: stage 2 waits for stage 1's write, the next stage 1 on the same
//! intermediate waits for stage 2's read.
//!
//! - one device: stage 1 on queue 0 and stage 2 on queue 1 of the first device;
//! - two devices: stage 1 on the first device, stage 2 on the second, the intermediates being
//!   buffers of the second device imported into the first as dma-bufs.
//!
//! The figure is bytes through the pipeline per second of wall time, from the first submit to
//! the last completion; the destination is checked against the source at the end.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tern::{Buffer, BufferFlags, Device, Job, JobStatus, Submit};

const TIMEOUT: Duration = Duration::from_secs(120);

/// A copy program `dst <- src` of `n` bytes, with the VAs in the instruction stream.
pub(crate) fn copy_program<'d>(
    dev: &'d Device,
    dst: u64,
    src: u64,
    n: u64,
) -> Result<(Buffer<'d>, u32)> {
    let li = |r: &str, v: u64| format!("li {r}, {}\nlih {r}, {}\n", v & 0xffff_ffff, v >> 32);
    let text = format!(
        "{}{}li r3, {n}\ncopy r1, r2, r3\nhalt\n",
        li("r1", dst),
        li("r2", src)
    );
    let code = tern_asm::assemble_bytes(&text)?;
    let mut b = dev.create_buffer(4096, BufferFlags::default())?;
    b.bytes()?[..code.len()].copy_from_slice(&code);
    Ok((b, code.len() as u32))
}

/// One stage: where it runs and what it reads and writes.
struct Stage<'a, 'd> {
    dev: &'d Device,
    queue: u32,
    prog: (Buffer<'d>, u32),
    write: &'a Buffer<'d>,
    read: &'a Buffer<'d>,
}

impl Stage<'_, '_> {
    fn submit(&self) -> Result<Job> {
        Ok(self.dev.submit(&Submit {
            queue: self.queue,
            program: Some(&self.prog.0),
            len: self.prog.1,
            buffers: &[self.write],
            reads: &[self.read],
            ..Default::default()
        })?)
    }
}

/// Runs `rounds` rounds of the pipeline `stages[round % 2]` (each a stage 1 and a stage 2) and
/// returns the elapsed time.
fn run(stages: &[[Stage<'_, '_>; 2]; 2], rounds: usize) -> Result<Duration> {
    let t0 = Instant::now();
    let mut last = Vec::new();
    for r in 0..rounds {
        let [s1, s2] = &stages[r % 2];
        let j1 = s1.submit()?;
        let j2 = s2.submit()?;
        last.push((s1.dev, j1));
        last.push((s2.dev, j2));
        // Keep the fence chains short: wait for the jobs of two rounds back.
        while last.len() > 4 {
            let (d, j) = last.remove(0);
            check(d.wait(j, TIMEOUT)?.status)?;
        }
    }
    for (d, j) in last {
        check(d.wait(j, TIMEOUT)?.status)?;
    }
    Ok(t0.elapsed())
}

fn check(s: JobStatus) -> Result<()> {
    if s != JobStatus::Done {
        bail!("a pipeline job failed: {s}");
    }
    Ok(())
}

fn mb_s(size: u64, rounds: usize, t: Duration) -> f64 {
    (size as f64 * rounds as f64) / t.as_secs_f64() / 1e6
}

/// Checks that `dst` holds what `src` holds.
fn verify(src: &mut Buffer<'_>, dst: &mut Buffer<'_>) -> Result<()> {
    if src.bytes()? != dst.bytes()? {
        bail!("the pipeline's output differs from its input");
    }
    Ok(())
}

fn pattern(b: &mut Buffer<'_>) -> Result<()> {
    for (i, x) in b.bytes()?.iter_mut().enumerate() {
        *x = (i as u8).wrapping_mul(13) ^ (i >> 12) as u8;
    }
    Ok(())
}

/// The one-device figure, on `a`.
fn one_device(a: &Device, size: u64, rounds: usize) -> Result<f64> {
    let f = BufferFlags::default();
    let mut src = a.create_buffer(size, f)?;
    let mid = [a.create_buffer(size, f)?, a.create_buffer(size, f)?];
    let mut dst = a.create_buffer(size, f)?;
    pattern(&mut src)?;
    let stages = [0, 1].map(|i| {
        let m = &mid[i];
        Ok::<_, anyhow::Error>([
            Stage {
                dev: a,
                queue: 0,
                prog: copy_program(a, m.va(), src.va(), size)?,
                write: m,
                read: &src,
            },
            Stage {
                dev: a,
                queue: 1,
                prog: copy_program(a, dst.va(), m.va(), size)?,
                write: &dst,
                read: m,
            },
        ])
    });
    let [s0, s1] = stages;
    let t = run(&[s0?, s1?], rounds)?;
    verify(&mut src, &mut dst)?;
    Ok(mb_s(size, rounds, t))
}

/// The two-device figure: stage 1 on `a`, stage 2 on `b`.
fn two_devices(a: &Device, b: &Device, size: u64, rounds: usize) -> Result<f64> {
    let f = BufferFlags::default();
    let mut src = a.create_buffer(size, f)?;
    let mid_b = [b.create_buffer(size, f)?, b.create_buffer(size, f)?];
    let mid_a = [
        a.import_buffer(&mid_b[0].export()?)?,
        a.import_buffer(&mid_b[1].export()?)?,
    ];
    let mut dst = b.create_buffer(size, f)?;
    pattern(&mut src)?;
    let stages = [0, 1].map(|i| {
        Ok::<_, anyhow::Error>([
            Stage {
                dev: a,
                queue: 0,
                prog: copy_program(a, mid_a[i].va(), src.va(), size)?,
                write: &mid_a[i],
                read: &src,
            },
            Stage {
                dev: b,
                queue: 0,
                prog: copy_program(b, dst.va(), mid_b[i].va(), size)?,
                write: &dst,
                read: &mid_b[i],
            },
        ])
    });
    let [s0, s1] = stages;
    let t = run(&[s0?, s1?], rounds)?;
    verify(&mut src, &mut dst)?;
    Ok(mb_s(size, rounds, t))
}

/// `tern pipeline`: prints both figures and their ratio, from the same run.
pub fn pipeline(size_mib: u64, rounds: usize) -> Result<()> {
    let devs = tern::discover();
    if devs.len() < 2 {
        bail!("the two-device pipeline needs two TERN devices (make vm DEVICES=2)");
    }
    let a = Device::open(&devs[0])?;
    let b = Device::open(&devs[1])?;
    let size = size_mib << 20;
    // A warm-up round of each, so that first-use costs (mapping, page faults) are not timed.
    one_device(&a, size, 2)?;
    two_devices(&a, &b, size, 2)?;
    let one = one_device(&a, size, rounds)?;
    let two = two_devices(&a, &b, size, rounds)?;
    println!(
        "pipeline {size_mib} MiB x {rounds} rounds: one device {one:.1} MB/s, two devices \
         {two:.1} MB/s, ratio {:.2}",
        two / one
    );
    Ok(())
}

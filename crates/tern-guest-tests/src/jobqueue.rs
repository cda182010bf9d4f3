// SPDX-License-Identifier: MIT OR Apache-2.0
//! The job queue in front of each ring: a full ring does not fail SUBMIT, and the jobs a file
//! may have waiting on a queue are bounded.

use std::time::Duration;

use tern::{BufferFlags, Device, Job, JobStatus, Submit};

use crate::fence::Timeline;
use crate::ktap::{Outcome, check};

const T: Duration = Duration::from_secs(60);
/// Jobs of one file that may wait on one queue (`uapi/drm/tern_accel.h`).
const MAX_PENDING: usize = 1024;

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

pub fn full_ring_does_not_fail_submit() -> Outcome {
    let d = Device::open_first().map_err(s)?;
    let others: Vec<Device> = (0..3)
        .map(|_| Device::open_first().map_err(s))
        .collect::<Result<_, _>>()?;
    // A job that spins for a while holds the ring; 600 jobs of other files queue behind it,
    // more than the ring holds (255).
    let spin = tern_asm::assemble_bytes("top:\njmp top\n").map_err(s)?;
    let mut prog = d.create_buffer(4096, BufferFlags::default()).map_err(s)?;
    prog.bytes().map_err(s)?[..spin.len()].copy_from_slice(&spin);
    let head = d
        .submit(&Submit {
            queue: 2,
            program: Some(&prog),
            len: spin.len() as u32,
            budget: 10_000_000,
            ..Default::default()
        })
        .map_err(s)?;
    let mut jobs: Vec<(usize, Job)> = Vec::new();
    for i in 0..600 {
        let f = i % others.len();
        let j = others[f]
            .submit(&Submit {
                queue: 2,
                ..Default::default()
            })
            .map_err(|e| format!("submit {i} behind a busy ring: {e}"))?;
        jobs.push((f, j));
    }
    let st = d.wait(head, T).map_err(s)?.status;
    check(st == JobStatus::Watchdog, || {
        format!("the spinning job: {st}")
    })?;
    for (f, j) in jobs {
        let st = others[f].wait(j, T).map_err(s)?.status;
        check(st == JobStatus::Done, || format!("a queued NOP: {st}"))?;
    }
    Ok(())
}

pub fn waiting_jobs_are_bounded_per_file() -> Outcome {
    let d = Device::open_first().map_err(s)?;
    let other = Device::open_first().map_err(s)?;
    let tl = Timeline::open()?;
    let g = d.create_syncobj(false).map_err(s)?;
    g.import_sync_file(&tl.fence(1)?).map_err(s)?;
    let first = d
        .submit(&Submit {
            waits: &[g.at(0)],
            ..Default::default()
        })
        .map_err(s)?;
    let mut last = first;
    for i in 1..MAX_PENDING {
        last = d
            .submit(&Submit::default())
            .map_err(|e| format!("waiting job {i}: {e}"))?;
    }
    // One more on that queue is refused; nothing is queued for it.
    let r = d.submit(&Submit::default());
    check(
        matches!(&r, Err(e) if e.errno() == Some(libc::EBUSY)),
        || {
            format!(
                "job {} of the file on a queue: {r:?}, want EBUSY",
                MAX_PENDING + 1
            )
        },
    )?;
    // Another queue of the file, and another file on the queue, are not limited by it.
    let st = d
        .run(
            &Submit {
                queue: 1,
                ..Default::default()
            },
            T,
        )
        .map_err(s)?
        .status;
    check(st == JobStatus::Done, || {
        format!("the file on queue 1: {st}")
    })?;
    let st = other.run(&Submit::default(), T).map_err(s)?.status;
    check(st == JobStatus::Done, || {
        format!("another file on queue 0: {st}")
    })?;
    tl.inc(1)?;
    let st = d.wait(last, T).map_err(s)?.status;
    check(st == JobStatus::Done, || {
        format!("the last waiting job: {st}")
    })?;
    check(last.seqno == first.seqno + MAX_PENDING as u64 - 1, || {
        format!(
            "seqnos {} .. {}: the refused job took one",
            first.seqno, last.seqno
        )
    })?;
    let next = d.submit(&Submit::default()).map_err(s)?;
    check(next.seqno == last.seqno + 1, || {
        format!(
            "after the refusal, seqno {} follows {}",
            next.seqno, last.seqno
        )
    })
}

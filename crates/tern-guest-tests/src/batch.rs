// SPDX-License-Identifier: MIT OR Apache-2.0
//! DRM_IOCTL_TERN_SUBMIT_BATCH: jobs in order with dependencies inside the batch, bad entries
//! that change nothing, and a batch that stops at the entry that fails.

use std::time::Duration;

use tern::{Device, Job, JobStatus, Submit, SyncPoint, deadline_after};
use tern_uapi as uapi;

use crate::ktap::{Outcome, check};
use crate::raw::{expect_errno, ioctl};

const T: Duration = Duration::from_secs(60);
const STRIDE: u32 = size_of::<uapi::drm_tern_submit>() as u32;

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A bad batch: what it is, its last entry, a change to the batch, the errno it gets.
type Case<'a> = (
    &'a str,
    uapi::drm_tern_submit,
    Box<dyn Fn(&mut uapi::drm_tern_submit_batch)>,
    i32,
);

/// A batch over `entries`.
fn batch(entries: &mut [uapi::drm_tern_submit]) -> uapi::drm_tern_submit_batch {
    uapi::drm_tern_submit_batch {
        submits: entries.as_mut_ptr() as u64,
        count: entries.len() as u32,
        stride: STRIDE,
        ..Default::default()
    }
}

/// The seqno the next NOP on queue 0 gets (it is queued and waited for).
fn next_seqno(d: &Device) -> Result<u64, String> {
    let j = d.submit(&Submit::default()).map_err(s)?;
    d.wait(j, T).map_err(s)?;
    Ok(j.seqno)
}

pub fn submit_batch_runs_jobs_in_order() -> Outcome {
    let d = Device::open_first().map_err(s)?;
    let line = d.create_syncobj(false).map_err(s)?;
    let waits: Vec<[SyncPoint; 1]> = (0..16u64).map(|i| [line.at(i)]).collect();
    let signals: Vec<[SyncPoint; 1]> = (0..16u64).map(|i| [line.at(i + 1)]).collect();
    // A chain across the four queues: entry i waits for the point entry i - 1 signals.
    let submits: Vec<Submit> = (0..16usize)
        .map(|i| Submit {
            queue: (i % 4) as u32,
            waits: if i > 0 { &waits[i] } else { &[] },
            signals: &signals[i],
            ..Default::default()
        })
        .collect();
    let jobs = d.submit_batch(&submits).map_err(s)?;
    check(jobs.len() == 16, || format!("{} jobs queued", jobs.len()))?;
    for q in 0..4u32 {
        let seqnos: Vec<u64> = jobs
            .iter()
            .filter(|j| j.queue == q)
            .map(|j| j.seqno)
            .collect();
        check(seqnos.windows(2).all(|w| w[1] == w[0] + 1), || {
            format!("queue {q}: seqnos {seqnos:?}")
        })?;
    }
    d.wait_syncobjs(&[line.at(16)], deadline_after(T), false, false)
        .map_err(|e| format!("the chain's last point: {e}"))?;
    for j in jobs {
        let st = d.wait(j, T).map_err(s)?.status;
        check(st == JobStatus::Done, || format!("job {j:?}: {st}"))?;
    }
    Ok(())
}

pub fn submit_batch_rejects_bad_values() -> Outcome {
    let d = Device::open_first().map_err(s)?;
    let never = d.create_syncobj(false).map_err(s)?;
    let sig = [uapi::drm_tern_sync {
        handle: never.handle(),
        flags: 0,
        point: 0,
    }];
    let bogus_bo = [uapi::drm_tern_bo_ref {
        handle: 0x7fff,
        usage: uapi::DRM_TERN_BO_READ,
    }];
    let bogus_sync = [uapi::drm_tern_sync {
        handle: 0x7fff,
        flags: 0,
        point: 0,
    }];
    // Entry 0 signals `never`: if anything were queued, it would get a fence.
    let first = uapi::drm_tern_submit {
        signals: sig.as_ptr() as u64,
        signal_count: 1,
        ..Default::default()
    };
    let nop = uapi::drm_tern_submit::default();
    let before = next_seqno(&d)?;
    let cases: Vec<Case> = vec![
        ("count 0", nop, Box::new(|b| b.count = 0), libc::EINVAL),
        (
            "count over DRM_TERN_MAX_BATCH",
            nop,
            Box::new(|b| b.count = uapi::DRM_TERN_MAX_BATCH + 1),
            libc::EINVAL,
        ),
        (
            "stride",
            nop,
            Box::new(|b| b.stride = STRIDE + 8),
            libc::EINVAL,
        ),
        (
            "submitted set on input",
            nop,
            Box::new(|b| b.submitted = 1),
            libc::EINVAL,
        ),
        ("flags", nop, Box::new(|b| b.flags = 1), libc::EINVAL),
        (
            "unreadable entries",
            nop,
            Box::new(|b| b.submits = 8),
            libc::EFAULT,
        ),
        (
            "an entry asks for an out-fence fd",
            uapi::drm_tern_submit {
                flags: uapi::DRM_TERN_SUBMIT_OUT_FENCE_FD,
                ..nop
            },
            Box::new(|_| {}),
            libc::EINVAL,
        ),
        (
            "an entry's queue",
            uapi::drm_tern_submit { queue: 4, ..nop },
            Box::new(|_| {}),
            libc::EINVAL,
        ),
        (
            "an entry's pad",
            uapi::drm_tern_submit { pad: 1, ..nop },
            Box::new(|_| {}),
            libc::EINVAL,
        ),
        (
            "an entry's unknown buffer",
            uapi::drm_tern_submit {
                bos: bogus_bo.as_ptr() as u64,
                bo_count: 1,
                ..nop
            },
            Box::new(|_| {}),
            libc::ENOENT,
        ),
        (
            "an entry's unknown syncobj",
            uapi::drm_tern_submit {
                waits: bogus_sync.as_ptr() as u64,
                wait_count: 1,
                ..nop
            },
            Box::new(|_| {}),
            libc::ENOENT,
        ),
        (
            "an entry's unreadable buffer array",
            uapi::drm_tern_submit {
                bos: 8,
                bo_count: 1,
                ..nop
            },
            Box::new(|_| {}),
            libc::EFAULT,
        ),
    ];
    for (what, last, tweak, want) in cases {
        // The bad entry is the last of three; the first would signal `never`.
        let mut entries = [first, nop, last];
        let mut b = batch(&mut entries);
        tweak(&mut b);
        expect_errno(
            what,
            ioctl(&d, uapi::DRM_IOCTL_TERN_SUBMIT_BATCH, &mut b),
            want,
        )?;
        let submitted = b.submitted;
        check(submitted == 0 || what == "submitted set on input", || {
            format!("{what}: {submitted} entries reported queued")
        })?;
        check(entries.iter().all(|e| e.seqno == 0), || {
            format!("{what}: a seqno was written")
        })?;
    }
    expect_errno(
        "the syncobj entry 0 would signal has no fence",
        match d.wait_syncobjs(&[never.at(0)], 0, false, false) {
            Ok(()) => 0,
            Err(e) => e.errno().unwrap_or(-1),
        },
        libc::EINVAL,
    )?;
    let after = next_seqno(&d)?;
    check(after == before + 1, || {
        format!("failed batches queued jobs: seqno {before}, then {after}")
    })
}

pub fn submit_batch_stops_at_the_failing_entry() -> Outcome {
    let d = Device::open_first().map_err(s)?;
    let line = d.create_syncobj(false).map_err(s)?;
    let tl = uapi::drm_tern_sync {
        handle: line.handle(),
        flags: 0,
        point: 0,
    };
    // Entry 2 waits for point 5, which nothing signals: it fails when it is queued, after
    // entries 0 and 1 (which signal points 1 and 2).
    let sig1 = [uapi::drm_tern_sync { point: 1, ..tl }];
    let sig2 = [uapi::drm_tern_sync { point: 2, ..tl }];
    let wait5 = [uapi::drm_tern_sync { point: 5, ..tl }];
    let sig3 = [uapi::drm_tern_sync { point: 3, ..tl }];
    let mut entries = [
        uapi::drm_tern_submit {
            signals: sig1.as_ptr() as u64,
            signal_count: 1,
            ..Default::default()
        },
        uapi::drm_tern_submit {
            signals: sig2.as_ptr() as u64,
            signal_count: 1,
            ..Default::default()
        },
        uapi::drm_tern_submit {
            waits: wait5.as_ptr() as u64,
            wait_count: 1,
            ..Default::default()
        },
        uapi::drm_tern_submit {
            signals: sig3.as_ptr() as u64,
            signal_count: 1,
            ..Default::default()
        },
    ];
    let mut b = batch(&mut entries);
    expect_errno(
        "a wait on a point nothing signals",
        ioctl(&d, uapi::DRM_IOCTL_TERN_SUBMIT_BATCH, &mut b),
        libc::EINVAL,
    )?;
    check(b.submitted == 2, || format!("submitted {}", b.submitted))?;
    let (s0, s1) = (entries[0].seqno, entries[1].seqno);
    check(s0 != 0 && s1 == s0 + 1, || format!("seqnos {s0}, {s1}"))?;
    check(entries[2].seqno == 0 && entries[3].seqno == 0, || {
        "the failed entry and the one after it got seqnos".to_string()
    })?;
    for seqno in [s0, s1] {
        let st = d.wait(Job { queue: 0, seqno }, T).map_err(s)?.status;
        check(st == JobStatus::Done, || {
            format!("queued entry {seqno}: {st}")
        })?;
    }
    d.wait_syncobjs(&[line.at(2)], deadline_after(T), false, false)
        .map_err(|e| format!("point 2: {e}"))?;
    let next = next_seqno(&d)?;
    check(next == s1 + 1, || {
        format!("entry 3 was queued: next seqno {next} after {s1}")
    })?;
    // The library queues what it can and reports how far it got.
    let ok = Submit::default();
    let bad = Submit {
        waits: &[line.at(9)],
        ..Default::default()
    };
    match d.submit_batch(&[ok, bad]) {
        Ok(_) => Err("a batch with a bad wait succeeded".to_string()),
        Err(e) => check(
            e.queued.len() == 1 && e.error.errno() == Some(libc::EINVAL),
            || format!("library: {e}"),
        ),
    }
}

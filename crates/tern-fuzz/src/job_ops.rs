// SPDX-License-Identifier: MIT OR Apache-2.0
//! Job operations: valid programs over the file's buffers with their usage, syncobjs to wait
//! for and signal and sync_file out-fences; random and mutated programs, spinning jobs, bad
//! SUBMIT arguments, and WAITs with short random deadlines.

use std::sync::atomic::Ordering::Relaxed;

use tern_isa::{INSN_BYTES, Insn};
use tern_uapi as uapi;

use crate::ctx::Ctx;
use crate::drm;
use crate::file::{Bo, DevFile, Job, Sync};
use crate::program::{self, Region};
use crate::shared::STATUS_SLOTS;

/// Most instructions of a generated program.
const MAX_INSNS: usize = 64;

/// Picks a mapped buffer of `f` with room for `bytes` at an 8-aligned offset, avoiding the
/// handles in `avoid` and buffers another file shares when it can.
fn cmd_buffer(ctx: &mut Ctx<'_>, f: &DevFile, bytes: u64, avoid: &[u32]) -> Option<(Bo, u64)> {
    let st = f.lock();
    let fits: Vec<&Bo> = st
        .bos
        .iter()
        .filter(|b| b.map.is_some() && b.size >= bytes)
        .collect();
    let apart: Vec<&Bo> = fits
        .iter()
        .copied()
        .filter(|b| !b.imported && !avoid.contains(&b.handle))
        .collect();
    let b = (*ctx
        .rng
        .pick(if apart.is_empty() { &fits } else { &apart })?)
    .clone();
    let off = 8 * ctx.rng.below((b.size - bytes) / 8 + 1);
    Some((b, off))
}

fn write_program(b: &Bo, off: u64, words: &[u64]) {
    if let Some(m) = &b.map {
        m.write_words(off as usize, words);
    }
}

/// SUBMIT; on success remembers the job. Returns the errno.
fn submit(ctx: &Ctx<'_>, f: &DevFile, s: &mut uapi::drm_tern_submit, valid: bool) -> i32 {
    let e = ctx.ioctl(f.raw(), drm::SUBMIT, s);
    if e == 0 {
        ctx.shared().jobs.fetch_add(1, Relaxed);
        f.lock().add_job(Job {
            queue: s.queue,
            seqno: s.seqno,
            valid,
        });
    }
    e
}

/// The usage of a buffer: reads, writes or both; a region the program may not write is read.
fn usage(ctx: &mut Ctx<'_>, writable: bool) -> u32 {
    if !writable {
        return uapi::DRM_TERN_BO_READ;
    }
    match ctx.rng.below(3) {
        0 => uapi::DRM_TERN_BO_READ,
        1 => uapi::DRM_TERN_BO_WRITE,
        _ => uapi::DRM_TERN_BO_READ | uapi::DRM_TERN_BO_WRITE,
    }
}

/// Creates a syncobj for the file, up to four.
fn new_syncobj(ctx: &mut Ctx<'_>, f: &DevFile) -> Option<Sync> {
    let mut c = uapi::drm_syncobj_create::default();
    if ctx.ioctl(f.raw(), uapi::DRM_IOCTL_SYNCOBJ_CREATE, &mut c) != 0 {
        return None;
    }
    let s = Sync {
        handle: c.handle,
        timeline: ctx.rng.chance(1, 2),
        last: 0,
    };
    f.lock().syncobjs.push(s);
    Some(s)
}

/// Syncobj points a valid job waits for and signals (`signals` updates the bookkeeping, which
/// the caller undoes if the submit fails: it returns the old state).
fn syncs(
    ctx: &mut Ctx<'_>,
    f: &DevFile,
) -> (
    Vec<uapi::drm_tern_sync>,
    Vec<uapi::drm_tern_sync>,
    Vec<Sync>,
) {
    let (mut waits, mut signals) = (Vec::new(), Vec::new());
    if f.lock().syncobjs.len() < 4 && ctx.rng.chance(1, 8) {
        new_syncobj(ctx, f);
    }
    let mut st = f.lock();
    let old = st.syncobjs.clone();
    for s in st.syncobjs.iter_mut() {
        if s.last > 0 && ctx.rng.chance(1, 4) {
            let point = if s.timeline {
                1 + ctx.rng.below(s.last)
            } else {
                0
            };
            waits.push(uapi::drm_tern_sync {
                handle: s.handle,
                flags: 0,
                point,
            });
        }
        if ctx.rng.chance(1, 4) {
            let point = if s.timeline {
                s.last += 1 + ctx.rng.below(3);
                s.last
            } else {
                s.last = 1;
                0
            };
            signals.push(uapi::drm_tern_sync {
                handle: s.handle,
                flags: 0,
                point,
            });
        }
    }
    (waits, signals, old)
}

fn queue(ctx: &mut Ctx<'_>) -> u32 {
    ctx.rng.below(u64::from(ctx.p.q.queue_count.max(1))) as u32
}

/// A valid program over up to four of the file's buffers.
pub fn op_submit_valid(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let all = f.lock().regions();
    let mut chosen: Vec<(Region, u32)> = Vec::new();
    for _ in 0..1 + ctx.rng.below(4) {
        if let Some(&r) = ctx.rng.pick(&all)
            && !chosen.contains(&r)
        {
            chosen.push(r);
        }
    }
    let regions: Vec<Region> = chosen.iter().map(|c| c.0).collect();
    let mut handles: Vec<uapi::drm_tern_bo_ref> = chosen
        .iter()
        .map(|c| (c.1, c.0.writable))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(handle, w)| uapi::drm_tern_bo_ref {
            handle,
            usage: usage(ctx, w),
        })
        .collect();
    let avoid: Vec<u32> = handles.iter().map(|h| h.handle).collect();
    let prog = program::valid_program(&mut ctx.rng, &regions, f.tag(), MAX_INSNS);
    let words: Vec<u64> = prog.iter().map(Insn::encode).collect();
    let bytes = (words.len() * INSN_BYTES) as u64;
    let Some((cmd, off)) = cmd_buffer(ctx, &f, bytes, &avoid) else {
        return;
    };
    write_program(&cmd, off, &words);
    if ctx.rng.chance(1, 2) {
        handles.push(uapi::drm_tern_bo_ref {
            handle: cmd.handle,
            usage: uapi::DRM_TERN_BO_READ,
        });
    }
    let (waits, signals, old) = syncs(ctx, &f);
    let out_fence = ctx.rng.chance(1, 8);
    let max = ctx.p.q.max_submit_bos as usize;
    handles.truncate(max);
    let mut s = uapi::drm_tern_submit {
        queue: queue(ctx),
        cmd_handle: cmd.handle,
        cmd_len: bytes as u32,
        cmd_offset: off,
        flags: if out_fence {
            uapi::DRM_TERN_SUBMIT_OUT_FENCE_FD
        } else {
            0
        },
        bos: handles.as_ptr() as u64,
        bo_count: handles.len() as u32,
        waits: waits.as_ptr() as u64,
        wait_count: waits.len() as u32,
        signals: signals.as_ptr() as u64,
        signal_count: signals.len() as u32,
        budget: if ctx.rng.chance(1, 4) {
            1 + ctx.rng.below(200) as u32
        } else {
            0
        },
        ..Default::default()
    };
    let full_budget = s.budget == 0;
    let e = submit(ctx, &f, &mut s, full_budget);
    if e != 0 {
        f.lock().syncobjs = old;
    } else if out_fence {
        if s.out_fence_fd <= 0 {
            ctx.finding(format!(
                "SUBMIT with an out-fence returned fd {}: file={}",
                s.out_fence_fd, f.label
            ));
        } else {
            crate::sys::close(s.out_fence_fd);
        }
    } else if s.out_fence_fd != 0 {
        ctx.finding(format!(
            "SUBMIT without an out-fence returned fd {}: file={}",
            s.out_fence_fd, f.label
        ));
    }
}

/// SUBMIT_BATCH of NOP jobs, sometimes with one bad entry or a bad count; checks what it
/// reports queued against the seqnos it wrote, and remembers the queued jobs.
pub fn op_submit_batch(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let n = 1 + ctx.rng.below(8) as usize;
    let mut entries: Vec<uapi::drm_tern_submit> = (0..n)
        .map(|_| uapi::drm_tern_submit {
            queue: queue(ctx),
            ..Default::default()
        })
        .collect();
    if ctx.rng.chance(1, 3) {
        let i = ctx.rng.below(n as u64) as usize;
        let e = &mut entries[i];
        match ctx.rng.below(4) {
            0 => e.queue = ctx.rng.edgy() as u32 | 4,
            1 => e.pad = 1,
            2 => e.flags = uapi::DRM_TERN_SUBMIT_OUT_FENCE_FD,
            _ => e.cmd_len = 8,
        }
    }
    let mut b = uapi::drm_tern_submit_batch {
        submits: entries.as_mut_ptr() as u64,
        count: n as u32,
        stride: size_of::<uapi::drm_tern_submit>() as u32,
        ..Default::default()
    };
    match ctx.rng.below(16) {
        0 => b.count = 0,
        1 => b.count = uapi::DRM_TERN_MAX_BATCH + 1,
        2 => b.stride += 8,
        _ => {}
    }
    let e = ctx.ioctl(f.raw(), drm::SUBMIT_BATCH, &mut b);
    let queued = b.submitted as usize;
    if queued > n || (e == 0 && queued != n) {
        ctx.finding(format!(
            "SUBMIT_BATCH of {n} returned {} with {queued} queued: file={}",
            crate::errno::name(e),
            f.label
        ));
        return;
    }
    if entries[queued..].iter().any(|s| s.seqno != 0)
        || entries[..queued].iter().any(|s| s.seqno == 0)
    {
        ctx.finding(format!(
            "SUBMIT_BATCH wrote seqnos that do not match its {queued} queued of {n}: file={}",
            f.label
        ));
    }
    ctx.shared().jobs.fetch_add(queued as u64, Relaxed);
    let mut st = f.lock();
    for s in &entries[..queued] {
        st.add_job(Job {
            queue: s.queue,
            seqno: s.seqno,
            valid: true,
        });
    }
}

/// Random or mutated words, a spinning job, or a valid job with one bad argument.
pub fn op_submit_bad(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let regions: Vec<Region> = f.lock().regions().into_iter().map(|r| r.0).collect();
    let words = match ctx.rng.below(4) {
        0 => program::spin(),
        _ => program::random_words(&mut ctx.rng, &regions, MAX_INSNS),
    };
    let bytes = (words.len() * INSN_BYTES) as u64;
    let Some((cmd, off)) = cmd_buffer(ctx, &f, bytes, &[]) else {
        return;
    };
    write_program(&cmd, off, &words);
    let q = ctx.p.q;
    let rw = uapi::DRM_TERN_BO_READ | uapi::DRM_TERN_BO_WRITE;
    let bo = |handle, usage| uapi::drm_tern_bo_ref { handle, usage };
    let mut handles: Vec<uapi::drm_tern_bo_ref> = f
        .lock()
        .bos
        .iter()
        .take(4)
        .map(|b| bo(b.handle, rw))
        .collect();
    let sync_handle = f.lock().syncobjs.first().map_or(0, |s| s.handle);
    let mut syncs = [uapi::drm_tern_sync::default(); 2];
    let mut s = uapi::drm_tern_submit {
        queue: queue(ctx),
        cmd_handle: cmd.handle,
        cmd_len: bytes as u32,
        cmd_offset: off,
        budget: match ctx.rng.below(64) {
            0 => 0,
            1..=8 => 1,
            _ => 1 + ctx.rng.below(20_000) as u32,
        },
        ..Default::default()
    };
    let r = &mut ctx.rng;
    match r.below(24) {
        0 => s.queue = q.queue_count + r.below(u64::from(u32::MAX - q.queue_count)) as u32,
        1 => s.flags = r.u32() | 1,
        2 => s.cmd_len = 8 * r.below(8) as u32 + 1 + r.below(7) as u32,
        3 => s.cmd_len = q.max_cmd_len + 8 * (1 + r.below(8) as u32),
        4 => s.cmd_offset = cmd.size.saturating_sub(8 * r.below(4)) + 4 * r.below(2),
        5 => s.cmd_offset = r.edgy() | 4,
        6 => s.cmd_handle = r.u32(),
        7 => s.cmd_handle = 0,
        8 => {
            handles.push(bo(r.u32() | 0x1000, rw));
        }
        9 => s.bo_count = q.max_submit_bos + 1 + r.below(64) as u32,
        10 => {
            s.bo_count = 1 + r.below(4) as u32;
            s.bos = *r
                .pick(&[
                    1,
                    8,
                    0xffff_8000_0000_0000,
                    0xffff_ffff_ff60_0000,
                    u64::MAX - 3,
                ])
                .unwrap_or(&1);
        }
        11 => s.seqno = r.u64() | 1,
        12 => (s.cmd_len, s.cmd_offset) = (0, 0),
        13 => s.cmd_len = 0x8000_0000 | 8,
        14 => handles.push(bo(handles.first().map_or(1, |b| b.handle), r.u32() & !3)),
        15 => handles.push(bo(handles.first().map_or(1, |b| b.handle), 0)),
        16 => (s.waits, s.wait_count) = (r.edgy() | 1, 1 + r.below(4) as u32),
        17 => s.signal_count = uapi::DRM_TERN_MAX_SYNCS + 1 + r.below(1 << 20) as u32,
        18 => {
            syncs[0] = uapi::drm_tern_sync {
                handle: if r.chance(1, 2) { r.u32() } else { sync_handle },
                flags: if r.chance(1, 2) { r.u32() | 1 } else { 0 },
                point: if r.chance(1, 2) { r.edgy() } else { 0 },
            };
            if r.chance(1, 2) {
                (s.waits, s.wait_count) = (syncs.as_ptr() as u64, 1);
            } else {
                (s.signals, s.signal_count) = (syncs.as_ptr() as u64, 1);
            }
            // A valid signal would change the syncobj: make it fail on the bo instead.
            handles.push(bo(r.u32() | 0x1000, rw));
        }
        19 => {
            s.flags = uapi::DRM_TERN_SUBMIT_OUT_FENCE_FD;
            s.out_fence_fd = r.u32() as i32 | 1;
        }
        20 => s.pad = r.u32() | 1,
        _ => {}
    }
    if s.bos == 0 {
        s.bos = handles.as_ptr() as u64;
        if s.bo_count == 0 {
            s.bo_count = handles.len() as u32;
        }
    }
    if s.bo_count as usize > handles.len() && s.bos == handles.as_ptr() as u64 {
        // Stay inside our own memory: a long count points past the vector's end otherwise.
        handles.resize(s.bo_count.min(4096) as usize, bo(0, rw));
        s.bos = handles.as_ptr() as u64;
        s.bo_count = s.bo_count.min(4096);
    }
    submit(ctx, &f, &mut s, false);
}

/// An absolute deadline: in the past, soon, or negative (invalid).
fn deadline(ctx: &mut Ctx<'_>) -> i64 {
    let now = crate::sys::monotonic_ns();
    match ctx.rng.below(16) {
        0..=4 => 0,
        5 => now,
        6..=12 => now + ctx.rng.below(1_000_000) as i64,
        13 | 14 => now + ctx.rng.below(20_000_000) as i64,
        _ => -1 - ctx.rng.below(1 << 40) as i64,
    }
}

/// WAIT for a remembered job (short timeouts), or with bad values.
pub fn op_wait(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let job = {
        let st = f.lock();
        let i = ctx.rng.below(st.jobs.len() as u64) as usize;
        st.jobs.get(i).copied()
    };
    let mut w = uapi::drm_tern_wait {
        deadline_ns: deadline(ctx),
        ..Default::default()
    };
    match (job, ctx.rng.below(8)) {
        (Some(j), 0..=5) => (w.queue, w.seqno) = (j.queue, j.seqno),
        (Some(j), 6) => {
            (w.queue, w.seqno) = (j.queue, j.seqno);
            match ctx.rng.below(4) {
                0 => w.flags = ctx.rng.u32() | 1,
                1 => w.status = 1,
                2 => w.queue = ctx.p.q.queue_count + ctx.rng.below(8) as u32,
                _ => w.seqno = j.seqno + 1 + ctx.rng.below(1 << 20),
            }
        }
        _ => (w.queue, w.seqno) = (queue(ctx), ctx.rng.edgy()),
    }
    let e = ctx.ioctl(f.raw(), drm::WAIT, &mut w);
    if e != 0 {
        return;
    }
    let sh = ctx.shared();
    let slot = (w.status as usize).min(STATUS_SLOTS - 1);
    sh.status[slot].fetch_add(1, Relaxed);
    if !(uapi::DRM_TERN_JOB_DONE..=uapi::DRM_TERN_JOB_SKIPPED).contains(&w.status) {
        ctx.finding(format!(
            "WAIT succeeded with status {}: file={} queue={} seqno={}",
            w.status, f.label, w.queue, w.seqno
        ));
    }
    if let Some(j) = job.filter(|j| (j.queue, j.seqno) == (w.queue, w.seqno)) {
        if j.valid {
            sh.valid_waited.fetch_add(1, Relaxed);
            if w.status == uapi::DRM_TERN_JOB_DONE {
                sh.valid_done.fetch_add(1, Relaxed);
            }
        }
        f.lock()
            .jobs
            .retain(|x| (x.queue, x.seqno) != (j.queue, j.seqno));
    }
}

/// Submits a job that spins until its budget runs out, so that one is in flight.
pub fn spin_job(ctx: &mut Ctx<'_>, f: &DevFile) {
    let words = program::spin();
    let Some((cmd, off)) = cmd_buffer(ctx, f, 8, &[]) else {
        return;
    };
    write_program(&cmd, off, &words);
    let mut s = uapi::drm_tern_submit {
        queue: queue(ctx),
        cmd_handle: cmd.handle,
        cmd_len: 8,
        cmd_offset: off,
        budget: 10_000 + ctx.rng.below(200_000) as u32,
        ..Default::default()
    };
    submit(ctx, f, &mut s, false);
}

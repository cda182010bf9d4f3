// SPDX-License-Identifier: MIT OR Apache-2.0
//! A worker process: opens its files, runs its threads' operation loops, checks canaries
//! every round and at the end, then exits with its files (and jobs) still open.

use std::fs::OpenOptions;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tern_uapi as uapi;

use crate::cli::{Config, Mode};
use crate::ctx::{Ctx, Proc, Query, lock};
use crate::file::DevFile;
use crate::raw_ops::Scratch;
use crate::shared::{MAX_THREADS, Shared};
use crate::{bo_ops, canary, drm, errno, job_ops, raw_ops, recovery_ops, subfork};

/// Operation names, indexed like the weights (for watchdog messages).
pub const OPS: [&str; 15] = [
    "bo_create",
    "gem_close",
    "bo_info",
    "mmap",
    "prime",
    "submit_valid",
    "submit_bad",
    "wait",
    "raw_ioctl",
    "query",
    "close_file",
    "fork",
    "priority",
    "reset",
    "submit_batch",
];

fn weights(m: Mode) -> [u32; 15] {
    match m {
        Mode::Mixed => [10, 5, 4, 2, 4, 12, 8, 12, 14, 1, 1, 1, 1, 2, 3],
        Mode::Jobs => [6, 6, 1, 0, 1, 20, 12, 20, 2, 0, 2, 1, 1, 3, 6],
        Mode::Objects => [16, 10, 8, 6, 10, 4, 1, 4, 2, 1, 2, 3, 0, 1, 1],
        Mode::Raw => [2, 1, 0, 1, 1, 1, 1, 2, 40, 1, 1, 0, 1, 0, 1],
    }
}

/// Opens a device file for this process with its canaries and a couple of buffers.
pub fn open_file(ctx: &mut Ctx<'_>, label: Option<String>) -> Option<Arc<DevFile>> {
    let fd: OwnedFd = match OpenOptions::new()
        .read(true)
        .write(true)
        .open(&ctx.p.device)
    {
        Ok(f) => f.into(),
        Err(e) => {
            let code = e.raw_os_error().unwrap_or(0);
            ctx.note(0x6f70_656e ^ code as u64, || {
                format!("opening the device: {e}")
            });
            return None;
        }
    };
    let no = ctx.p.next_file_no();
    let label = label.unwrap_or_else(|| format!("p{}f{no}", ctx.p.idx));
    let f = Arc::new(DevFile::new(ctx.p.idx, no, label, fd));
    ctx.shared().files.fetch_add(1, Relaxed);
    for n in 0..1 + ctx.rng.below(2) as usize {
        canary::create(ctx, &f, n);
    }
    for _ in 0..2 {
        let size = 4096 * (1 + ctx.rng.below(4));
        let _ = bo_ops::create(ctx, &f, size, 0, 0);
    }
    Some(f)
}

/// Closes a file (its jobs may still run), maybe after starting a spinning job; its
/// canaries stay mapped for one more check half of the time. Opens a replacement.
fn op_close_file(ctx: &mut Ctx<'_>) {
    let f = {
        let mut files = lock(&ctx.p.files);
        if files.is_empty() {
            None
        } else {
            let i = ctx.rng.below(files.len() as u64) as usize;
            Some(files.swap_remove(i))
        }
    };
    if let Some(f) = f {
        if ctx.rng.chance(1, 2) {
            job_ops::spin_job(ctx, &f);
        }
        if ctx.rng.chance(1, 2) {
            let cs = std::mem::take(&mut f.lock().canaries);
            lock(&ctx.p.zombies).extend(cs);
        }
        drop(f);
    }
    if let Some(nf) = open_file(ctx, None) {
        lock(&ctx.p.files).push(nf);
    }
}

fn op_query(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let mut q = uapi::drm_tern_query::default();
    match ctx.rng.below(4) {
        0 => q.flags = ctx.rng.u32() | 1,
        1 => q.pad = ctx.rng.u32() | 1,
        2 => q.caps = ctx.rng.edgy() | 1,
        _ => {}
    }
    let clean = q.flags == 0 && q.pad == 0 && q.caps == 0;
    let e = ctx.ioctl(f.raw(), drm::QUERY, &mut q);
    let p = ctx.p.q;
    if e == 0 && !clean {
        ctx.note(0x7175_6572, || {
            "QUERY accepted nonzero flags/pad/output fields".into()
        });
    }
    if e == 0 && (q.queue_count, q.va_start, q.va_end) != (p.queue_count, p.va_start, p.va_end) {
        ctx.note(0x7175_6572 + 1, || {
            format!(
                "QUERY changed: queues {} va {:#x}..{:#x}",
                q.queue_count, q.va_start, q.va_end
            )
        });
    }
}

fn thread_main(p: &Proc, t: usize) {
    let mut ctx = Ctx::new(p, t);
    let sh = p.shared;
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => {
            ctx.finding(format!("cannot map scratch memory: {}", errno::name(e)));
            sh.done(p.idx, t);
            return;
        }
    };
    let w = weights(p.mode);
    let mut n = 0u64;
    while !ctx.stopping() {
        n += 1;
        if n.is_multiple_of(32) {
            canary::check_all(&ctx);
        }
        let op = ctx.rng.weighted(&w);
        sh.set_op(p.idx, t, op as u32);
        match op {
            0 => bo_ops::op_create(&mut ctx),
            1 => bo_ops::op_close(&mut ctx),
            2 => bo_ops::op_info(&mut ctx),
            3 => bo_ops::op_mmap(&mut ctx),
            4 => bo_ops::op_prime(&mut ctx),
            5 => job_ops::op_submit_valid(&mut ctx),
            6 => job_ops::op_submit_bad(&mut ctx),
            7 => job_ops::op_wait(&mut ctx),
            8 => raw_ops::op_raw(&mut ctx, &scratch),
            9 => op_query(&mut ctx),
            10 => op_close_file(&mut ctx),
            11 => subfork::op_fork(&mut ctx),
            12 => recovery_ops::op_priority(&mut ctx),
            13 => recovery_ops::op_reset(&mut ctx),
            _ => job_ops::op_submit_batch(&mut ctx),
        }
        sh.beat(p.idx, t);
    }
    sh.done(p.idx, t);
}

/// Runs worker `idx` (in a forked child); returns its exit status.
pub fn run(
    idx: usize,
    cfg: &Config,
    shared: &'static Shared,
    q: Query,
    inherited: Arc<DevFile>,
) -> i32 {
    std::panic::set_hook(Box::new(move |info| {
        shared.finding(&format!(
            "seed={:#x} proc={idx} panicked: {info}",
            shared.seed.load(Relaxed)
        ));
        eprintln!("tern-fuzz: proc {idx}: {info}");
    }));
    let p = Proc::new(idx, cfg.seed, shared, q, cfg.device.clone(), cfg.mode);
    lock(&p.files).push(inherited);
    let mut ctx = Ctx::new(&p, MAX_THREADS);
    for _ in 0..1 + ctx.rng.below(3) {
        if let Some(f) = open_file(&mut ctx, None) {
            lock(&p.files).push(f);
        }
    }
    std::thread::scope(|s| {
        for t in 0..cfg.threads {
            let p = &p;
            s.spawn(move || thread_main(p, t));
        }
    });
    canary::check_all(&ctx);
    canary::check_all(&ctx);
    0
}

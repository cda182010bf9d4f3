// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern-fuzz`: a structured fuzzer for the tern accel driver, run inside the guest against
//! its device node. Worker processes and threads attack the driver the way a buggy or
//! hostile process would: buffers created, mapped, shared with PRIME and closed at random
//! (also under running jobs), valid and invalid programs, bad arguments, random ioctls, fork
//! with open files, files closed with jobs in flight. Canary buffers, zero checks of new
//! buffers, crash and hang detection decide whether the driver held.
//!
//! Exit status: 0 no finding, 1 findings, 2 usage or setup error.

mod bo_ops;
mod canary;
mod cli;
mod ctx;
mod drm;
mod errno;
mod file;
mod foreign;
mod job_ops;
mod mapping;
mod program;
mod raw_ops;
mod recovery_ops;
mod report;
mod rng;
mod shared;
mod subfork;
mod supervisor;
mod sys;
mod worker;

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use clap::Parser;
use tern_uapi as uapi;

use crate::cli::{Args, Config};
use crate::ctx::{Ctx, Proc, Query, lock};
use crate::file::DevFile;
use crate::shared::{MAX_PROCS, Shared};

fn setup_error(msg: String) -> i32 {
    println!("tern-fuzz: setup error: {msg}");
    2
}

/// Opens the device and reads its limits.
fn open_device(cfg: &Config) -> Result<(OwnedFd, Query), String> {
    let path = cfg.device.display();
    if !cfg.device.exists() {
        return Err(format!("no device node {path} (is the tern driver bound?)"));
    }
    let fd: OwnedFd = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&cfg.device)
        .map_err(|e| format!("cannot open {path}: {e}"))?
        .into();
    let mut q = uapi::drm_tern_query::default();
    let e = sys::ioctl(fd.as_raw_fd(), drm::QUERY, &mut q as *mut _ as usize);
    if e != 0 {
        return Err(format!(
            "QUERY on {path} failed with {}: not a tern device?",
            errno::name(e)
        ));
    }
    if q.queue_count == 0 || q.va_end <= q.va_start || q.max_bo_size == 0 {
        return Err(format!("QUERY on {path} reports an unusable device: {q:?}"));
    }
    let q = Query {
        queue_count: q.queue_count,
        max_cmd_len: q.max_cmd_len,
        va_start: q.va_start,
        va_end: q.va_end,
        max_bo_size: q.max_bo_size,
        max_submit_bos: q.max_submit_bos,
    };
    Ok((fd, q))
}

fn run() -> i32 {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let default_seed = rng::mix(sys::now_ns() ^ u64::from(std::process::id()) << 40);
    let cfg = match args.config(default_seed) {
        Ok(c) => c,
        Err(e) => return setup_error(e),
    };
    println!(
        "# tern-fuzz start: seed={:#x} ioctls={} seconds={} procs={} threads={} mode={:?} device={}",
        cfg.seed,
        cfg.ioctls,
        cfg.seconds,
        cfg.procs,
        cfg.threads,
        cfg.mode,
        cfg.device.display()
    );
    println!(
        "# replay: tern-fuzz --seed {:#x} --ioctls {} --seconds {} --procs {} --threads {} --mode {}",
        cfg.seed,
        cfg.ioctls,
        cfg.seconds,
        cfg.procs,
        cfg.threads,
        format!("{:?}", cfg.mode).to_lowercase()
    );
    let (fd, q) = match open_device(&cfg) {
        Ok(x) => x,
        Err(e) => return setup_error(e),
    };
    let start = sys::now_ns();
    let deadline = start + (cfg.seconds * 1e9) as u64;
    let sh = match Shared::create(cfg.seed, cfg.ioctls, deadline) {
        Ok(s) => s,
        Err(e) => return setup_error(format!("shared memory: {}", errno::name(e))),
    };
    // The supervisor's own file, inherited by every worker: one open file many processes use.
    let parent = Proc::new(MAX_PROCS - 1, cfg.seed, sh, q, cfg.device.clone(), cfg.mode);
    let mut ctx = Ctx::new(&parent, 0);
    let shared_file = Arc::new(DevFile::new(MAX_PROCS - 1, 0, "shared".into(), fd));
    sh.files.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    canary::create(&mut ctx, &shared_file, 0);
    for _ in 0..2 {
        let _ = bo_ops::create(&ctx, &shared_file, 8192, 0, 0);
    }
    lock(&parent.files).push(shared_file.clone());
    supervisor::run(&cfg, sh, |idx| {
        worker::run(idx, &cfg, sh, q, shared_file.clone())
    });
    canary::check_all(&ctx);
    let secs = (sys::now_ns() - start) as f64 / 1e9;
    report::print(sh, secs)
}

fn main() {
    std::process::exit(run());
}

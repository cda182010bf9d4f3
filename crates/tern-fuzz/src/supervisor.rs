// SPDX-License-Identifier: MIT OR Apache-2.0
//! The parent: forks the workers, watches their heartbeats, reaps them, and turns a crash
//! (a signal it did not send), a hang or an unkillable process into a finding.

use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::cli::Config;
use crate::shared::{DONE, Shared};
use crate::sys;
use crate::worker::OPS;

struct Child {
    idx: usize,
    pid: i32,
    forked_ns: u64,
    killed_ns: Option<u64>,
    idle_since: Option<u64>,
    over: bool,
}

fn finding(sh: &Shared, idx: usize, what: String) {
    sh.finding(&format!(
        "seed={:#x} proc={idx} {what}",
        sh.seed.load(Relaxed)
    ));
}

fn reaped(sh: &Shared, c: &Child, st: i32) {
    if libc::WIFSIGNALED(st) {
        let sig = libc::WTERMSIG(st);
        if !(c.killed_ns.is_some() && sig == libc::SIGKILL) {
            finding(
                sh,
                c.idx,
                format!(
                    "pid {} killed by signal {sig} ({})",
                    c.pid,
                    sys::signal_name(sig)
                ),
            );
        }
    } else if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) != 0 {
        finding(
            sh,
            c.idx,
            format!("pid {} exited with status {}", c.pid, libc::WEXITSTATUS(st)),
        );
    }
}

/// How long the slowest thread of `c` has gone without progress, and which.
fn stalest(sh: &Shared, c: &Child, threads: usize, now: u64) -> Option<(usize, u64)> {
    (0..threads)
        .filter_map(|t| match sh.heartbeat(c.idx, t) {
            DONE => None,
            0 => Some((t, now.saturating_sub(c.forked_ns))),
            hb => Some((t, now.saturating_sub(hb))),
        })
        .max_by_key(|&(_, age)| age)
}

fn watch(sh: &Shared, c: &mut Child, cfg: &Config, now: u64) {
    let limit = (cfg.watchdog * 1e9) as u64;
    if let Some(k) = c.killed_ns {
        if now - k > 10_000_000_000 {
            finding(
                sh,
                c.idx,
                format!(
                    "pid {} did not die after SIGKILL (stuck in the kernel)",
                    c.pid
                ),
            );
            c.over = true;
        }
        return;
    }
    let why = match stalest(sh, c, cfg.threads, now) {
        Some((t, age)) if age > limit => Some(format!(
            "thread {t} made no progress for {:.0} s (in {})",
            age as f64 / 1e9,
            OPS.get(sh.op(c.idx, t) as usize).unwrap_or(&"?")
        )),
        Some(_) => None,
        None => {
            let since = *c.idle_since.get_or_insert(now);
            (now - since > limit).then(|| {
                format!(
                    "finished but did not exit for {:.0} s (hung closing files?)",
                    cfg.watchdog
                )
            })
        }
    };
    if let Some(why) = why {
        finding(sh, c.idx, format!("pid {} {why}", c.pid));
        sys::kill(c.pid, libc::SIGKILL);
        c.killed_ns = Some(now);
    }
}

fn progress(sh: &Shared, start: u64, now: u64) {
    println!(
        "# progress: t={:.1}s ioctls={} jobs={} files={} bos={} findings={}",
        (now - start) as f64 / 1e9,
        sh.ioctls.load(Relaxed),
        sh.jobs.load(Relaxed),
        sh.files.load(Relaxed),
        sh.bos.load(Relaxed),
        sh.findings_count()
    );
    let _ = std::io::stdout().flush();
}

/// Forks `cfg.procs` workers running `work(idx)` and supervises them until all are gone.
pub fn run(cfg: &Config, sh: &'static Shared, work: impl Fn(usize) -> i32) {
    let _ = std::io::stdout().flush();
    let mut kids = Vec::new();
    for idx in 0..cfg.procs {
        let pid = sys::fork();
        if pid == 0 {
            sys::exit_now(work(idx));
        }
        if pid < 0 {
            finding(sh, idx, "fork failed".into());
            continue;
        }
        kids.push(Child {
            idx,
            pid,
            forked_ns: sys::now_ns(),
            killed_ns: None,
            idle_since: None,
            over: false,
        });
    }
    let start = sys::now_ns();
    let mut next_progress = start + (cfg.progress * 1e9) as u64;
    while kids.iter().any(|c| !c.over) {
        for c in kids.iter_mut().filter(|c| !c.over) {
            if let Some((_, st)) = sys::try_wait(c.pid) {
                reaped(sh, c, st);
                c.over = true;
            }
        }
        let now = sys::now_ns();
        for c in kids.iter_mut().filter(|c| !c.over) {
            watch(sh, c, cfg, now);
        }
        if cfg.progress > 0.0 && now >= next_progress {
            progress(sh, start, now);
            next_progress = now + (cfg.progress * 1e9) as u64;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

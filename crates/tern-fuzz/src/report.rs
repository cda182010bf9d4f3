// SPDX-License-Identifier: MIT OR Apache-2.0
//! The end of a run: notes and statistics as comments, the summary line, and the KTAP
//! result with one `# FINDING:` line per finding.

use std::sync::atomic::Ordering::Relaxed;

use crate::shared::Shared;

/// Prints the report; returns the exit status (0 clean, 1 findings).
pub fn print(sh: &Shared, secs: f64) -> i32 {
    for (text, count) in sh.notes() {
        println!("# NOTE: {text} (x{count})");
    }
    let st: Vec<u64> = sh.status.iter().map(|s| s.load(Relaxed)).collect();
    println!(
        "# stats: forks={} resets={} waits: done={} mmu_fault={} illegal={} watchdog={} \
         aborted={} other={} valid_jobs_waited={} valid_jobs_done={}",
        sh.forks.load(Relaxed),
        sh.resets.load(Relaxed),
        st[1],
        st[2],
        st[3],
        st[4],
        st[5],
        st[0] + st[6],
        sh.valid_waited.load(Relaxed),
        sh.valid_done.load(Relaxed)
    );
    let findings = sh.findings();
    let ioctls = sh.ioctls.load(Relaxed);
    println!(
        "tern-fuzz: seed={:#x} ioctls={ioctls} jobs={} files={} bos={} secs={secs:.1} \
         ioctls_per_s={:.0} findings={}",
        sh.seed.load(Relaxed),
        sh.jobs.load(Relaxed),
        sh.files.load(Relaxed),
        sh.bos.load(Relaxed),
        ioctls as f64 / secs.max(1e-3),
        sh.findings_count()
    );
    println!("1..1");
    for f in &findings {
        println!("# FINDING: {f}");
    }
    if findings.is_empty() {
        println!("ok 1 fuzz");
        0
    } else {
        println!("not ok 1 fuzz");
        1
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! What recovery builds on (`docs/hardware.md` 5.5 progress, 5.7 arbitration, 6.2 firmware log,
//! 11 fault injection).

mod common;
use std::time::{Duration, Instant};

use common::*;
use tern_emu::faults::Knob;
use tern_hw::BootStatus;
use tern_hw::events::{EVENT_LOG, EVENT_LOG_BYTES};
use tern_hw::queue::{COMPL_PROGRESS, status};
use tern_hw::regs::{self, q};
use tern_isa::{Insn, Opcode};

/// The progress count of queue `qn`.
fn progress(t: &TestDriver, qn: usize) -> u64 {
    t.get64(t.queues[qn].expect("queue").1 + COMPL_PROGRESS)
}

/// Starts a program that loops until its budget (2^32 - 1) runs out, on queue `qn` in context 1.
fn start_loop(t: &mut TestDriver, qn: usize, va: u64) -> u64 {
    let bytes = tern_isa::encode_program(&[
        Insn::new(Opcode::Nop, [0; 4], 0, 0),
        Insn::new(Opcode::Jmp, [0; 4], 0, (-2i32) as u32),
    ]);
    let pa = t.map(1, va, bytes.len() as u64, false);
    t.put(pa, &bytes);
    let mut d = exec(1, va, bytes.len() as u32);
    d.budget = u32::MAX;
    t.submit(qn, d)
}

/// Progress of queue `qn` over `ms` milliseconds.
fn progress_over(t: &TestDriver, qn: usize, ms: u64) -> u64 {
    let before = progress(t, qn);
    std::thread::sleep(Duration::from_millis(ms));
    progress(t, qn) - before
}

fn event_page(t: &mut TestDriver) -> u64 {
    let page = t.alloc(4096);
    t.w32(regs::EVENT_ADDR_LO, page as u32);
    t.w32(regs::EVENT_ADDR_HI, (page >> 32) as u32);
    page
}

fn log_text(t: &TestDriver, page: u64) -> String {
    let n = t.get64(page + EVENT_LOG_BYTES) as u32 as usize;
    String::from_utf8(t.get(page + EVENT_LOG, n.min(3840))).expect("log is UTF-8")
}

#[test]
fn a_long_job_progresses_and_a_hung_one_does_not() {
    let mut t = TestDriver::ready();
    t.enable_queue(1, 16);
    let long = start_loop(&mut t, 0, 0x10_0000);
    assert!(
        progress_over(&t, 0, 100) > 1000,
        "a running job reports progress"
    );
    t.dev.faults.apply(&Knob::Hang(1));
    let hung = t.submit(1, nop());
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(progress_over(&t, 1, 100), 0, "a hung job reports none");
    assert_eq!(t.fence(1), 0);
    t.dev.faults.apply(&Knob::Clear);
    for qn in [0, 1] {
        t.w32(TestDriver::qreg(qn, q::CTRL), q::CTRL_RESET);
    }
    assert_eq!(
        t.record_of(0, long).map(|r| r.status),
        Some(status::ABORTED)
    );
    assert_eq!(
        t.record_of(1, hung).map(|r| r.status),
        Some(status::ABORTED)
    );
    let p = progress(&t, 0);
    assert!(p > 1000);
    t.enable_queue(0, 16);
    // The queue clears its completion area after the enable, before its first descriptor.
    let t0 = std::time::Instant::now();
    while progress(&t, 0) != 0 {
        assert!(
            t0.elapsed().as_secs() < 1,
            "enabling the queue zeroes progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn a_finished_job_leaves_its_count_and_a_nop_none() {
    let mut t = TestDriver::ready();
    let r = t.run(0, 1, 0x10_0000, &[li(1, 5), li(2, 6), halt()]);
    assert_eq!(r.status, status::OK);
    assert_eq!(progress(&t, 0), 3, "three instructions executed");
    let s = t.submit(0, nop());
    t.wait(0, s);
    assert_eq!(progress(&t, 0), 3, "a NOP executes nothing");
}

#[test]
fn priority_register_resets_to_normal_and_clamps() {
    let t = TestDriver::ready();
    let reg = TestDriver::qreg(0, q::PRIORITY);
    assert_eq!(t.r32(reg), q::PRIO_NORMAL);
    t.w32(reg, 7);
    assert_eq!(t.r32(reg), q::PRIO_HIGH, "written while enabled, clamped");
    t.w32(reg, q::PRIO_LOW);
    assert_eq!(t.r32(reg), q::PRIO_LOW);
    t.w32(regs::RESET, regs::RESET_MAGIC);
    assert_eq!(t.r32(reg), q::PRIO_NORMAL);
}

#[test]
fn a_high_priority_job_holds_back_a_low_one_that_still_progresses() {
    let mut t = TestDriver::ready();
    t.enable_queue(1, 16);
    t.w32(TestDriver::qreg(0, q::PRIORITY), q::PRIO_LOW);
    t.w32(TestDriver::qreg(1, q::PRIORITY), q::PRIO_HIGH);
    let low = start_loop(&mut t, 0, 0x10_0000);
    assert!(progress_over(&t, 0, 100) > 1000, "alone, the low job runs");
    let high = start_loop(&mut t, 1, 0x20_0000);
    std::thread::sleep(Duration::from_millis(20));
    let low_rate = progress_over(&t, 0, 200);
    let high_rate = progress(&t, 1);
    assert!(high_rate > 1000, "the high job runs ({high_rate})");
    // Waiting counts one per millisecond: about 200, never the thousands of a running job.
    assert!(
        (50..=400).contains(&low_rate),
        "the low job waits and counts its waiting ({low_rate} in 200 ms)"
    );
    // An invalidation completes while the low job waits.
    t.w32(regs::CTX_INVALIDATE, 1);
    t.w32(TestDriver::qreg(1, q::CTRL), q::CTRL_RESET);
    assert_eq!(
        t.record_of(1, high).map(|r| r.status),
        Some(status::ABORTED)
    );
    assert!(progress_over(&t, 0, 100) > 1000, "the low job runs again");
    t.w32(TestDriver::qreg(0, q::CTRL), q::CTRL_RESET);
    assert_eq!(t.record_of(0, low).map(|r| r.status), Some(status::ABORTED));
}

#[test]
fn firmware_log_records_boot_faults_resets_and_crashes() {
    let mut t = TestDriver::new();
    let page = event_page(&mut t);
    assert_eq!(t.boot(&firmware()), BootStatus::Ok as u32);
    t.w32(regs::ABI_SELECT, 1);
    t.enable_queue(0, 16);
    t.new_context(1);
    t.dev.faults.apply(&Knob::MmuFault);
    let r = t.run(0, 1, 0x10_0000, &[halt()]);
    assert_eq!(r.status, status::MMU_FAULT);
    t.dev.faults.apply(&Knob::Hang(0));
    let s = t.submit(0, nop());
    std::thread::sleep(Duration::from_millis(50));
    t.w32(TestDriver::qreg(0, q::CTRL), q::CTRL_RESET);
    t.dev.faults.apply(&Knob::Clear);
    t.dev.crash(0x1234);
    let log = log_text(&t, page);
    for want in [
        "boot: firmware".to_string(),
        format!("job seqno {} ended with MMU_FAULT", s - 1),
        format!("queue 0: reset, job seqno {s} aborted"),
        "firmware crashed, code 0x1234".to_string(),
    ] {
        assert!(log.contains(&want), "log lacks '{want}':\n{log}");
    }
    assert!(log.lines().all(|l| l.starts_with('[') && l.len() > 15));
    t.w32(regs::RESET, regs::RESET_MAGIC);
    let page = event_page(&mut t);
    assert_eq!(t.boot(&firmware()), BootStatus::Ok as u32);
    assert!(
        log_text(&t, page).starts_with('['),
        "the log starts again after a reset"
    );
}

#[test]
fn the_log_wraps_and_keeps_the_last_bytes() {
    let mut t = TestDriver::ready();
    let page = event_page(&mut t);
    for _ in 0..100 {
        t.dev.faults.apply(&Knob::MmuFault);
        t.run(0, 1, 0x10_0000, &[halt()]);
    }
    let n = t.get64(page + EVENT_LOG_BYTES) as u32;
    assert!(n > 3840, "{n} bytes logged");
    let ring = t.get(page + EVENT_LOG, 3840);
    let start = n as usize % 3840;
    let text = String::from_utf8([&ring[start..], &ring[..start]].concat()).expect("UTF-8");
    assert!(
        text.ends_with("va 0x100000)\n"),
        "the newest line ends the log"
    );
}

#[test]
fn boot_fail_once_fails_one_boot() {
    let mut t = TestDriver::new();
    t.dev
        .faults
        .apply(&Knob::parse("boot-fail-once=bad_digest").unwrap());
    assert_eq!(t.boot(&firmware()), BootStatus::BadDigest as u32);
    assert_eq!(t.boot(&firmware()), BootStatus::Ok as u32);
}

#[test]
fn control_directory_applies_requests_and_answers() {
    let t = TestDriver::ready();
    let dir = std::env::temp_dir().join(format!("tern-ctl-{}", std::process::id()));
    let on_remove: std::sync::Arc<dyn Fn() + Send + Sync> = std::sync::Arc::new(|| {});
    tern_emu::control::spawn_dir(&dir, t.dev.shared(), on_remove).unwrap();
    std::fs::write(dir.join("1.tmp"), "hang=2\nexplode\n").unwrap();
    std::fs::rename(dir.join("1.tmp"), dir.join("1.req")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let ack = dir.join("1.ack");
    while !ack.exists() {
        assert!(Instant::now() < deadline, "no answer");
        std::thread::sleep(Duration::from_millis(5));
    }
    let reply = std::fs::read_to_string(&ack).unwrap();
    let lines: Vec<&str> = reply.lines().collect();
    assert_eq!(lines.len(), 2, "{reply}");
    assert_eq!(lines[0], "ok");
    assert!(
        lines[1].starts_with("error: unknown fault 'explode'"),
        "{reply}"
    );
    assert!(!dir.join("1.req").exists(), "the request is removed");
    assert_eq!(
        t.dev
            .faults
            .hang_mask
            .load(std::sync::atomic::Ordering::SeqCst),
        1 << 2
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_crash_aborts_the_running_job_and_runs_nothing_behind_it() {
    let mut t = TestDriver::ready();
    let running = start_loop(&mut t, 0, 0x10_0000);
    let behind = t.submit(0, nop());
    std::thread::sleep(Duration::from_millis(50));
    t.dev.crash(0x77);
    assert_eq!(t.wait(0, running).status, status::ABORTED);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(t.fence(0), running, "the descriptor behind is not taken");
    assert!(t.record_of(0, behind).is_none());
    t.w32(regs::RESET, regs::RESET_MAGIC);
    assert_eq!(t.boot(&firmware()), BootStatus::Ok as u32);
}

/// A job of long instructions below the poll-point size executes few counts per second; its
/// progress is still written while it runs (5.5: at least every 10 ms of running once the
/// count has changed), so a watchdog does not take it for a hung one.
#[test]
fn a_job_of_long_instructions_reports_progress_while_it_runs() {
    let mut t = TestDriver::ready();
    const DST: u64 = 0x100_0000;
    const BYTES: u64 = 512 << 10; // below the 1 MiB poll point of fill
    t.map(1, DST, BYTES, true);
    let mut prog = la(1, DST);
    prog.extend([
        li(2, 0x5a5a),
        li(3, (BYTES / 4) as i32),
        Insn::new(Opcode::Fill, [1, 2, 3, 0], 0, 0),
        Insn::new(Opcode::Jmp, [0; 4], 0, (-2i32) as u32),
    ]);
    let bytes = tern_isa::encode_program(&prog);
    let va = 0x10_0000;
    let pa = t.map(1, va, bytes.len() as u64, false);
    t.put(pa, &bytes);
    let mut d = exec(1, va, bytes.len() as u32);
    d.budget = u32::MAX;
    let job = t.submit(0, d);
    std::thread::sleep(Duration::from_millis(20));
    let moved = progress_over(&t, 0, 200);
    t.w32(TestDriver::qreg(0, q::CTRL), q::CTRL_RESET);
    assert_eq!(t.record_of(0, job).map(|r| r.status), Some(status::ABORTED));
    assert!(
        moved > 0 && moved < 1 << 16,
        "progress written while a slow-counting job runs: {moved} counts in 200 ms"
    );
}

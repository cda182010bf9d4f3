// SPDX-License-Identifier: MIT OR Apache-2.0
//! Recovery: hung jobs stopped by a queue reset, long jobs that progress left alone, firmware
//! crashes and failed reboots handled by a device reset, bans, resets while other processes
//! submit, removal with jobs in flight, and a wedged device. Faults come from the device
//! model's fault injection, reached through the run directory (`tern-emu --control-dir`), and
//! from the driver's debugfs; every recovery must leave a uevent and a coredump that decodes.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tern::coredump::{Coredump, Reason};
use tern::{Buffer, BufferFlags, Device, Job, JobStatus, Submit};

use crate::ktap::{Outcome, check};

const T: Duration = Duration::from_secs(30);
/// The watchdog timeout these tests set (the default is 2000 ms).
const TIMEOUT_MS: u32 = 300;
/// The crash code of an injected firmware crash (`tern-emu`).
const INJECTED_CRASH: u32 = 0xdead_0001;

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn open() -> Result<Device, String> {
    Device::open_first().map_err(s)
}

/// Sends fault-injection commands to the device model; each must be answered `ok`.
fn ctl(cmd: &str) -> Outcome {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::var("TERN_CONTROL_DIR")
        .map(PathBuf::from)
        .map_err(|_| {
            "TERN_CONTROL_DIR is not set: run through scripts/guest-test.sh".to_string()
        })?;
    let n = format!(
        "{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let tmp = dir.join(format!("{n}.tmp"));
    std::fs::write(&tmp, format!("{cmd}\n")).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(format!("{n}.req"))).map_err(s)?;
    let ack = dir.join(format!("{n}.ack"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(reply) = std::fs::read_to_string(&ack) {
            let _ = std::fs::remove_file(&ack);
            return check(reply.trim() == "ok", || {
                format!("'{cmd}': {}", reply.trim())
            });
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the device model did not answer '{cmd}' within 10 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Clears every injected fault when dropped, so a failing test leaves none behind.
struct Faults;

impl Drop for Faults {
    fn drop(&mut self) {
        let _ = ctl("clear");
    }
}

/// The debugfs directory of the first device (lowest PCI address, the one whose model the
/// control directory reaches); debugfs is mounted if it is not yet.
pub fn debugfs() -> Result<PathBuf, String> {
    let find = || {
        std::fs::read_dir("/sys/kernel/debug").ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("tern-"))
                })
                .min()
        })
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    let _ = std::process::Command::new("mount")
        .args(["-t", "debugfs", "none", "/sys/kernel/debug"])
        .status();
    find().ok_or_else(|| "no /sys/kernel/debug/tern-* directory".to_string())
}

fn dbg_read(name: &str) -> Result<String, String> {
    let p = debugfs()?.join(name);
    std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
}

fn dbg_write(name: &str, text: &str) -> Result<(), std::io::Error> {
    let p = debugfs().map_err(std::io::Error::other)?.join(name);
    std::fs::write(p, text)
}

/// (queue resets, device resets, wedged) from debugfs.
fn counts() -> Result<(u64, u64, u64), String> {
    let text = dbg_read("recovery")?;
    let get = |k: &str| -> Result<u64, String> {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.trim().parse().ok())
            .ok_or_else(|| format!("debugfs recovery lacks '{k}': {text}"))
    };
    Ok((get("queue_resets")?, get("device_resets")?, get("wedged")?))
}

/// Sets the watchdog timeout; the old one comes back when dropped.
struct Timeout(String);

impl Timeout {
    fn set(ms: u32) -> Result<Timeout, String> {
        let old = dbg_read("timeout_ms")?.trim().to_string();
        dbg_write("timeout_ms", &ms.to_string()).map_err(s)?;
        Ok(Timeout(old))
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        let _ = dbg_write("timeout_ms", &self.0);
    }
}

fn dump_files() -> Vec<PathBuf> {
    std::fs::read_dir("/sys/class/devcoredump")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("devcd"))
                .map(|e| e.path().join("data"))
                .collect()
        })
        .unwrap_or_default()
}

/// Dismisses every pending device coredump (the framework keeps one per device).
fn dismiss_dumps() {
    for p in dump_files() {
        let _ = std::fs::write(&p, "1");
        // The framework deletes it asynchronously: wait, so that no later look finds it.
        let gone = Instant::now() + Duration::from_secs(2);
        while p.exists() && Instant::now() < gone {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Waits for a device coredump, decodes and dismisses it.
fn take_dump() -> Result<Coredump, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(p) = dump_files().first() {
            // A dump dismissed a moment ago may still be listed while the framework deletes
            // it (asynchronously): it vanishes under the read, and the listing is tried again.
            let bytes = match std::fs::read(p) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Err(e) => return Err(format!("{}: {e}", p.display())),
            };
            let _ = std::fs::write(p, "1");
            // Wait until it is gone, so that the next look cannot find this one again.
            let gone = Instant::now() + Duration::from_secs(2);
            while p.exists() && Instant::now() < gone {
                std::thread::sleep(Duration::from_millis(10));
            }
            return Coredump::parse(&bytes)
                .map_err(|e| format!("the coredump does not decode: {e}"));
        }
        if Instant::now() > deadline {
            return Err("no device coredump in /sys/class/devcoredump within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A kernel uevent listener.
struct Uevents(OwnedFd);

impl Uevents {
    fn open() -> Result<Uevents, String> {
        // SAFETY: Plain socket(2) call; the descriptor is owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_KOBJECT_UEVENT,
            )
        };
        if fd < 0 {
            return Err(format!(
                "netlink socket: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: `fd` is a new descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: An all-zero sockaddr_nl is valid; the fields are set below.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        addr.nl_groups = 1;
        // SAFETY: `addr` is a valid sockaddr_nl of the given size.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if r != 0 {
            return Err(format!("netlink bind: {}", std::io::Error::last_os_error()));
        }
        Ok(Uevents(fd))
    }

    /// Waits for an accel uevent with `WEDGED=<method>`; returns its variables.
    fn wait_wedged(&self, method: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        let want = format!("WEDGED={method}");
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            let mut p = libc::pollfd {
                fd: self.0.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: One valid pollfd.
            if unsafe { libc::poll(&mut p, 1, 100) } <= 0 {
                continue;
            }
            let mut buf = vec![0u8; 8192];
            // SAFETY: `buf` is writable for its length.
            let n =
                unsafe { libc::recv(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n <= 0 {
                continue;
            }
            let vars: Vec<String> = buf[..n as usize]
                .split(|&b| b == 0)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            let text = vars.join(" ");
            if vars.iter().any(|v| v == &want) && vars.iter().any(|v| v == "SUBSYSTEM=accel") {
                return Ok(text);
            }
            seen.push(text);
        }
        Err(format!(
            "no accel uevent with {want} within {timeout:?}; saw {seen:?}"
        ))
    }
}

/// A spinning program of `dev` (a jump to itself), run with `budget`.
struct Spinner<'d> {
    prog: Buffer<'d>,
    len: u32,
}

impl<'d> Spinner<'d> {
    fn new(dev: &'d Device) -> Result<Spinner<'d>, String> {
        let code = tern_asm::assemble_bytes("top:\njmp top\n").map_err(s)?;
        let mut prog = dev.create_buffer(4096, BufferFlags::default()).map_err(s)?;
        prog.bytes().map_err(s)?[..code.len()].copy_from_slice(&code);
        Ok(Spinner {
            prog,
            len: code.len() as u32,
        })
    }

    fn submit(&self, dev: &Device, queue: u32, budget: u32) -> Result<Job, String> {
        dev.submit(&Submit {
            queue,
            program: Some(&self.prog),
            len: self.len,
            budget,
            ..Default::default()
        })
        .map_err(s)
    }
}

/// A copy of `n` bytes between two buffers of a file (one per file: its argument block sits at
/// a fixed VA).
struct Copy<'d> {
    _block: Buffer<'d>,
    prog: Buffer<'d>,
    len: u32,
    src: Buffer<'d>,
    dst: Buffer<'d>,
    want: Vec<u8>,
}

impl<'d> Copy<'d> {
    fn new(dev: &'d Device, n: usize, seed: u8) -> Result<Copy<'d>, String> {
        let code = tern_asm::assemble_bytes(include_str!("../../../kernels/copy.s")).map_err(s)?;
        let mut src = dev
            .create_buffer(n as u64, BufferFlags::default())
            .map_err(s)?;
        let dst = dev
            .create_buffer(n as u64, BufferFlags::default())
            .map_err(s)?;
        let want: Vec<u8> = (0..n)
            .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed) | 1)
            .collect();
        src.bytes().map_err(s)?.copy_from_slice(&want);
        let ro = BufferFlags {
            device_readonly: true,
            fixed_va: Some(tern::ARG_BLOCK_VA),
        };
        let mut block = dev.create_buffer(4096, ro).map_err(s)?;
        for (i, w) in [dst.va(), src.va(), n as u64].iter().enumerate() {
            block.bytes().map_err(s)?[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        let mut prog = dev.create_buffer(4096, BufferFlags::default()).map_err(s)?;
        prog.bytes().map_err(s)?[..code.len()].copy_from_slice(&code);
        Ok(Copy {
            _block: block,
            prog,
            len: code.len() as u32,
            src,
            dst,
            want,
        })
    }

    /// Clears the destination and submits the copy.
    fn submit(&mut self, dev: &Device, queue: u32) -> Result<Job, String> {
        self.dst.bytes().map_err(s)?.fill(0);
        dev.submit(&Submit {
            queue,
            program: Some(&self.prog),
            len: self.len,
            buffers: &[&self.dst],
            reads: &[&self.src],
            ..Default::default()
        })
        .map_err(s)
    }

    /// Waits for `job` and checks it completed with the right data.
    fn check(&mut self, dev: &Device, job: Job, what: &str) -> Outcome {
        let c = dev.wait(job, T).map_err(|e| format!("{what}: {e}"))?;
        check(c.status == JobStatus::Done, || {
            format!("{what}: ended with {}", c.status)
        })?;
        let got = self.dst.bytes().map_err(s)?;
        check(got == &self.want[..], || format!("{what}: wrong data"))
    }
}

fn nop(dev: &Device, queue: u32) -> Result<Job, String> {
    dev.submit(&Submit {
        queue,
        ..Default::default()
    })
    .map_err(s)
}

fn status(dev: &Device, job: Job, what: &str) -> Result<JobStatus, String> {
    dev.wait(job, T)
        .map(|c| c.status)
        .map_err(|e| format!("{what}: {e}"))
}

/// Every queue of `dev` runs a job.
fn serves(dev: &Device) -> Outcome {
    for q in 0..4 {
        let st = status(dev, nop(dev, q)?, "a job after the recovery")?;
        check(st == JobStatus::Done, || {
            format!("queue {q}: a job after the recovery ended with {st}")
        })?;
    }
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The value of `key` in the fdinfo of `dev`'s file.
fn fdinfo(dev: &Device, key: &str) -> Result<String, String> {
    use std::os::fd::AsFd;
    let fd = dev.as_fd().as_raw_fd();
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).map_err(s)?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .strip_prefix(':')
                .map(|v| v.trim().to_string())
        })
        .ok_or_else(|| format!("fdinfo lacks {key}"))
}

pub fn hung_job_is_stopped_and_the_queue_goes_on() -> Outcome {
    let _faults = Faults;
    let _timeout = Timeout::set(TIMEOUT_MS)?;
    dismiss_dumps();
    let ev = Uevents::open()?;
    let guilty = open()?;
    let innocent = open()?;
    let spin = Spinner::new(&guilty)?;
    let mut copy = Copy::new(&innocent, 64 << 10, 3)?;
    let mut times = Vec::new();
    for round in 0..3 {
        let before = counts()?;
        ctl("hang=1")?;
        let t0 = Instant::now();
        let hung = spin.submit(&guilty, 1, 0)?;
        // The queue has taken it; later jobs run normally once it is gone.
        std::thread::sleep(Duration::from_millis(50));
        ctl("clear")?;
        let behind = copy.submit(&innocent, 1)?;
        let beside = nop(&innocent, 2)?;
        check(
            status(&innocent, beside, "job on another queue")? == JobStatus::Done,
            || "a job on another queue did not complete".into(),
        )?;
        copy.check(
            &innocent,
            behind,
            &format!("round {round}: job behind the hung one"),
        )?;
        let took = t0.elapsed();
        // Never stopped before it has gone the whole timeout without progress.
        check(took >= Duration::from_millis(u64::from(TIMEOUT_MS)), || {
            format!(
                "round {round}: the hung job was stopped {took:?} after it started, before the {TIMEOUT_MS} ms timeout"
            )
        })?;
        times.push(took);
        let st = status(&guilty, hung, "hung job")?;
        check(
            st == (JobStatus::Aborted {
                errno: libc::ETIMEDOUT as u32,
            }),
            || format!("round {round}: the hung job ended with {st}, want aborted (ETIMEDOUT)"),
        )?;
        let after = counts()?;
        check(after.0 == before.0 + 1 && after.1 == before.1, || {
            format!("round {round}: resets {before:?} -> {after:?}, want one queue reset")
        })?;
        ev.wait_wedged("none", Duration::from_secs(5))?;
        let d = take_dump()?;
        check(d.reason == Reason::Hang { queue: 1 }, || {
            format!("coredump reason {:?}", d.reason)
        })?;
        let job = d.job.ok_or("the coredump has no job")?;
        check(job.queue == 1 && job.cmd_len == spin.len, || {
            format!("coredump job {job:?}")
        })?;
        let (_, prog) = d.program.clone().ok_or("the coredump has no program")?;
        let want = tern_asm::assemble_bytes("top:\njmp top\n").map_err(s)?;
        check(prog == want, || {
            format!("coredump program {prog:02x?}, want {want:02x?}")
        })?;
        // The dump shows the device before the reset; the log has the reset after it.
        check(d.fw_log.contains("boot: firmware"), || {
            format!("coredump firmware log:\n{}", d.fw_log)
        })?;
        let log = dbg_read("fw_log")?;
        check(log.contains("queue 1: reset, job seqno"), || {
            format!("firmware log lacks the reset:\n{log}")
        })?;
        check(d.queues.len() == 4 && d.registers.len() > 40, || {
            "coredump lacks queues or registers".into()
        })?;
    }
    // Three hangs: the guilty file is banned, the others are not.
    match guilty.submit(&Submit::default()) {
        Err(e) if e.errno() == Some(libc::EIO) => {}
        other => return Err(format!("a banned file's SUBMIT gave {other:?}, want EIO")),
    }
    check(fdinfo(&guilty, "tern-banned")? == "1", || {
        "fdinfo does not show the ban".into()
    })?;
    check(fdinfo(&guilty, "tern-hangs")? == "3", || {
        "fdinfo does not count the hangs".into()
    })?;
    serves(&innocent)?;
    serves(&open()?)?;
    let m = median(&mut times);
    println!(
        "# hung_job_is_stopped_and_the_queue_goes_on: hang to recovered queue {} ms median of {} (timeout {TIMEOUT_MS} ms), jobs lost per recovery: 1 (the hung one)",
        m.as_millis(),
        times.len()
    );
    Ok(())
}

pub fn long_job_that_progresses_is_not_stopped() -> Outcome {
    let _timeout = Timeout::set(TIMEOUT_MS)?;
    let d = open()?;
    let spin = Spinner::new(&d)?;
    let before = counts()?;
    let job = spin.submit(&d, 2, 400_000_000)?;
    let c = d.wait(job, Duration::from_secs(120)).map_err(s)?;
    check(c.status == JobStatus::Watchdog, || {
        format!(
            "the long job ended with {}, want its budget exhausted (watchdog)",
            c.status
        )
    })?;
    check(
        c.duration > Duration::from_millis(3 * u64::from(TIMEOUT_MS)),
        || {
            format!(
                "the job ran {:?}, not long enough to outlast the {TIMEOUT_MS} ms timeout three times",
                c.duration
            )
        },
    )?;
    println!(
        "# long_job_that_progresses_is_not_stopped: ran {} ms with a {TIMEOUT_MS} ms timeout",
        c.duration.as_millis()
    );
    let after = counts()?;
    check(after == before, || {
        format!("resets {before:?} -> {after:?} during a job that progressed")
    })
}

pub fn firmware_crash_resets_the_device() -> Outcome {
    let _faults = Faults;
    dismiss_dumps();
    let ev = Uevents::open()?;
    let a = open()?;
    let b = open()?;
    let spin = Spinner::new(&a)?;
    let mut copy = Copy::new(&b, 64 << 10, 9)?;
    let mut times = Vec::new();
    for round in 0..3 {
        let before = counts()?;
        let running = spin.submit(&a, 0, 400_000_000)?;
        let behind = copy.submit(&b, 0)?;
        std::thread::sleep(Duration::from_millis(100));
        let t0 = Instant::now();
        ctl("crash")?;
        let st = status(&a, running, "running job")?;
        check(
            st == (JobStatus::Aborted {
                errno: libc::EIO as u32,
            }),
            || {
                format!(
                    "round {round}: the job running at the crash ended with {st}, want aborted (EIO)"
                )
            },
        )?;
        copy.check(&b, behind, &format!("round {round}: job queued behind it"))?;
        serves(&b)?;
        times.push(t0.elapsed());
        let after = counts()?;
        check(after.1 == before.1 + 1, || {
            format!("round {round}: resets {before:?} -> {after:?}")
        })?;
        ev.wait_wedged("none", Duration::from_secs(5))?;
        let dump = take_dump()?;
        check(
            dump.reason
                == Reason::Crash {
                    code: INJECTED_CRASH,
                },
            || format!("coredump reason {:?}", dump.reason),
        )?;
        check(
            dump.fw_log.contains("firmware crashed, code 0xdead0001"),
            || format!("firmware log lacks the crash:\n{}", dump.fw_log),
        )?;
    }
    serves(&a)?;
    println!(
        "# firmware_crash_resets_the_device: crash to recovered device {} ms median of {}, jobs lost per recovery: 1 (the running one)",
        median(&mut times).as_millis(),
        times.len()
    );
    Ok(())
}

pub fn failed_reboot_during_recovery_is_retried() -> Outcome {
    let _faults = Faults;
    dismiss_dumps();
    let d = open()?;
    let before = counts()?;
    ctl("boot-fail-once=bad_digest")?;
    ctl("crash")?;
    let deadline = Instant::now() + T;
    while counts()?.1 == before.1 {
        check(Instant::now() < deadline, || {
            "no device reset after the crash".into()
        })?;
        std::thread::sleep(Duration::from_millis(20));
    }
    serves(&d)?;
    let after = counts()?;
    check(after.1 == before.1 + 1 && after.2 == 0, || {
        format!("resets {before:?} -> {after:?}")
    })?;
    take_dump().map(|_| ())
}

pub fn mmu_fault_storm_bans_only_its_file() -> Outcome {
    let bad = open()?;
    let good = open()?;
    let code = tern_asm::assemble_bytes("la r1, 0x7000000000\nld r2, r1, 0\nhalt\n").map_err(s)?;
    let mut prog = bad.create_buffer(4096, BufferFlags::default()).map_err(s)?;
    prog.bytes().map_err(s)?[..code.len()].copy_from_slice(&code);
    let mut copy = Copy::new(&good, 4096, 5)?;
    let fault = Submit {
        queue: 2,
        program: Some(&prog),
        len: code.len() as u32,
        ..Default::default()
    };
    let mut jobs = Vec::new();
    for i in 0..64 {
        jobs.push(
            bad.submit(&fault)
                .map_err(|e| format!("faulting job {i}: {e}"))?,
        );
        if i % 8 == 0 {
            let j = copy.submit(&good, 2)?;
            copy.check(&good, j, "job of another file during the storm")?;
        }
    }
    for j in jobs {
        let st = status(&bad, j, "faulting job")?;
        check(matches!(st, JobStatus::MmuFault { .. }), || {
            format!("a faulting job ended with {st}")
        })?;
    }
    match bad.submit(&fault) {
        Err(e) if e.errno() == Some(libc::EIO) => {}
        other => {
            return Err(format!(
                "SUBMIT after 64 faults in a row gave {other:?}, want EIO"
            ));
        }
    }
    check(fdinfo(&bad, "tern-banned")? == "1", || {
        "fdinfo does not show the ban".into()
    })?;
    let j = copy.submit(&good, 2)?;
    copy.check(&good, j, "job of another file after the ban")?;
    serves(&open()?)
}

/// Runs `body` in a child process; returns its pid.
fn spawn(body: impl FnOnce() -> Outcome) -> i32 {
    // SAFETY: The test binary is single-threaded here; the child runs `body` and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = match body() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("child {}: {e}", std::process::id());
                1
            }
        };
        // SAFETY: Leaves the child without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    pid
}

fn reap(pid: i32) -> Result<i32, String> {
    let mut st = 0;
    // SAFETY: Waits for our own child.
    if unsafe { libc::waitpid(pid, &mut st, 0) } != pid {
        return Err(format!(
            "waitpid {pid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else {
        128 + libc::WTERMSIG(st)
    })
}

pub fn resets_while_other_processes_submit() -> Outcome {
    let _faults = Faults;
    let _timeout = Timeout::set(TIMEOUT_MS)?;
    let stop = PathBuf::from(format!("/tmp/tern-resets-{}", std::process::id()));
    let _ = std::fs::remove_file(&stop);
    let worker = |seed: u8, stop: PathBuf| {
        move || -> Outcome {
            let d = open()?;
            let mut copy = Copy::new(&d, 256 << 10, seed)?;
            let (mut done, mut lost) = (0, 0);
            while !stop.exists() || done < 20 {
                let q = if done % 2 == 0 { 0 } else { 2 };
                let j = copy.submit(&d, q)?;
                match status(&d, j, "copy")? {
                    JobStatus::Done => {
                        let got = copy.dst.bytes().map_err(s)?;
                        check(got == &copy.want[..], || "wrong data".into())?;
                        done += 1;
                    }
                    // The only loss allowed: a job that ran when the firmware crashed.
                    JobStatus::Aborted { errno } if errno == libc::EIO as u32 => lost += 1,
                    st => return Err(format!("an innocent job ended with {st}")),
                }
            }
            check(lost <= 2, || {
                format!("{lost} jobs lost to the one device reset")
            })
        }
    };
    let pids = [
        spawn(worker(1, stop.clone())),
        spawn(worker(2, stop.clone())),
    ];
    let guilty = open()?;
    let spin = Spinner::new(&guilty)?;
    let result = (|| -> Outcome {
        std::thread::sleep(Duration::from_millis(300));
        for _ in 0..2 {
            ctl("hang=1")?;
            let hung = spin.submit(&guilty, 1, 0)?;
            std::thread::sleep(Duration::from_millis(50));
            ctl("clear")?;
            let st = status(&guilty, hung, "hung job")?;
            check(
                st == (JobStatus::Aborted {
                    errno: libc::ETIMEDOUT as u32,
                }),
                || format!("the hung job ended with {st}"),
            )?;
        }
        ctl("crash")?;
        std::thread::sleep(Duration::from_millis(500));
        Ok(())
    })();
    let _ = std::fs::write(&stop, "");
    let codes: Vec<Result<i32, String>> = pids.iter().map(|&p| reap(p)).collect();
    let _ = std::fs::remove_file(&stop);
    dismiss_dumps();
    result?;
    for c in codes {
        check(c? == 0, || {
            "a submitting process saw a wrong result (its stderr says which)".into()
        })?;
    }
    serves(&open()?)
}

/// The first PCI function bound to tern (lowest address: accel0, the model of the control
/// directory).
fn pci_function() -> Result<PathBuf, String> {
    std::fs::read_dir("/sys/bus/pci/drivers/tern")
        .map_err(s)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("0000:"))
        })
        .min()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .ok_or_else(|| "no PCI function bound to tern".into())
}

fn wait_node() -> Result<Device, String> {
    let deadline = Instant::now() + T;
    loop {
        if let Ok(d) = Device::open_first() {
            return Ok(d);
        }
        check(Instant::now() < deadline, || {
            "no accel node came back".into()
        })?;
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn removal_with_jobs_in_flight() -> Outcome {
    let func = pci_function()?;
    let child = spawn(|| {
        let d = open()?;
        let spin = Spinner::new(&d)?;
        let jobs: Vec<Job> = (0..4)
            .map(|q| spin.submit(&d, q, 400_000_000))
            .collect::<Result<_, _>>()?;
        for j in jobs {
            match d.wait(j, T) {
                Ok(c)
                    if c.status
                        == (JobStatus::Aborted {
                            errno: libc::ENODEV as u32,
                        }) => {}
                Err(e) if e.errno() == Some(libc::ENODEV) => {}
                other => return Err(format!("a job in flight at removal gave {other:?}")),
            }
        }
        Ok(())
    });
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(func.join("remove"), "1").map_err(|e| format!("remove: {e}"))?;
    let code = reap(child)?;
    std::fs::write("/sys/bus/pci/rescan", "1").map_err(|e| format!("rescan: {e}"))?;
    let d = wait_node()?;
    check(code == 0, || {
        "the process with jobs in flight did not see ENODEV".into()
    })?;
    serves(&d)
}

pub fn unrecoverable_device_is_wedged_until_rebind() -> Outcome {
    let faults = Faults;
    dismiss_dumps();
    let ev = Uevents::open()?;
    let d = open()?;
    let func = pci_function()?;
    let bdf = func
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    ctl("boot-fail=bad_digest")?;
    ctl("crash")?;
    ev.wait_wedged("rebind", T)?;
    check(counts()?.2 == 1, || {
        "debugfs does not show the device wedged".into()
    })?;
    match d.query() {
        Err(e) if e.errno() == Some(libc::ENODEV) => {}
        other => {
            return Err(format!(
                "QUERY on a wedged device gave {other:?}, want ENODEV"
            ));
        }
    }
    match d.submit(&Submit::default()) {
        Err(e) if e.errno() == Some(libc::ENODEV) => {}
        other => {
            return Err(format!(
                "SUBMIT on a wedged device gave {other:?}, want ENODEV"
            ));
        }
    }
    let _ = take_dump();
    drop(faults);
    drop(d);
    let drv = Path::new("/sys/bus/pci/drivers/tern");
    std::fs::write(drv.join("unbind"), &bdf).map_err(|e| format!("unbind: {e}"))?;
    std::fs::write(drv.join("bind"), &bdf).map_err(|e| format!("bind: {e}"))?;
    let d = wait_node()?;
    check(counts()?.2 == 0, || "still wedged after rebind".into())?;
    serves(&d)
}

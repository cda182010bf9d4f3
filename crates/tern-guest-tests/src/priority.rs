// SPDX-License-Identifier: MIT OR Apache-2.0
//! Priorities: SET_PRIORITY's checks (CAP_SYS_NICE for high), and a high-priority queue that
//! the device runs before a low-priority one, seen in debugfs.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use tern::{BufferFlags, Device, JobStatus, Priority, Submit};
use tern_uapi as uapi;

use crate::ktap::{Outcome, check};
use crate::raw::{expect_errno, ioctl};

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn set(d: &impl AsFd, priority: u32, pad: u32) -> i32 {
    let mut a = uapi::drm_tern_set_priority { priority, pad };
    ioctl(d, uapi::DRM_IOCTL_TERN_SET_PRIORITY, &mut a)
}

pub fn set_priority_checks_values_and_privilege() -> Outcome {
    let d = Device::open_first().map_err(s)?;
    expect_errno("priority 3", set(&d, 3, 0), libc::EINVAL)?;
    expect_errno("non-zero pad", set(&d, 1, 1), libc::EINVAL)?;
    expect_errno("high as root", set(&d, uapi::DRM_TERN_PRIORITY_HIGH, 0), 0)?;
    let fdinfo = || -> Result<String, String> {
        use std::os::fd::AsRawFd;
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", d.as_fd().as_raw_fd())).map_err(s)
    };
    check(fdinfo()?.contains("tern-priority:\t2"), || {
        "fdinfo does not show priority 2".into()
    })?;
    // Without CAP_SYS_NICE (a user other than root): high is refused, low and normal are not.
    // SAFETY: fork in a single-threaded test; the child only makes system calls and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: Dropping to an unprivileged user in the child.
        let code = if unsafe { libc::setgid(65534) != 0 || libc::setuid(65534) != 0 } {
            10
        } else {
            match (
                set(&d, uapi::DRM_TERN_PRIORITY_HIGH, 0),
                set(&d, uapi::DRM_TERN_PRIORITY_LOW, 0),
                set(&d, uapi::DRM_TERN_PRIORITY_NORMAL, 0),
            ) {
                (h, 0, 0) if h == libc::EPERM => 0,
                (h, 0, 0) => 20 + h.clamp(0, 100),
                _ => 11,
            }
        };
        // SAFETY: Ends the child.
        unsafe { libc::_exit(code) };
    }
    let mut st = 0;
    // SAFETY: Waits for our child.
    unsafe { libc::waitpid(pid, &mut st, 0) };
    let code = if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else {
        255
    };
    check(code == 0, || match code {
        10 => "could not drop to user 65534".into(),
        11 => "without CAP_SYS_NICE, low or normal was refused".into(),
        c if c >= 20 => format!(
            "without CAP_SYS_NICE, high gave errno {} instead of EPERM",
            c - 20
        ),
        c => format!("the unprivileged child exited {c}"),
    })?;
    // A refused change changes nothing.
    check(fdinfo()?.contains("tern-priority:\t1"), || {
        "the child's low/normal did not stick".into()
    })
}

/// (progress, priority) of queue `q` from debugfs.
fn queue_state(q: u32) -> Result<(u64, u32), String> {
    let dir = crate::recovery::debugfs()?;
    let text = std::fs::read_to_string(dir.join("queues")).map_err(s)?;
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("queue {q}:")))
        .ok_or("no such queue")?;
    let field = |k: &str| -> Result<u64, String> {
        let mut it = line.split_whitespace();
        while let Some(w) = it.next() {
            if w == k {
                return it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("bad {k}"));
            }
        }
        Err(format!("no {k} in '{line}'"))
    };
    Ok((field("progress")?, field("priority")? as u32))
}

pub fn high_priority_queue_runs_first() -> Outcome {
    let low = Device::open_first().map_err(s)?;
    let high = Device::open_first().map_err(s)?;
    low.set_priority(Priority::Low).map_err(s)?;
    high.set_priority(Priority::High).map_err(s)?;
    let code = tern_asm::assemble_bytes("top:\njmp top\n").map_err(s)?;
    let spin = |d: &Device, queue: u32, budget: u32| -> Result<tern::Job, String> {
        let mut b = d.create_buffer(4096, BufferFlags::default()).map_err(s)?;
        b.bytes().map_err(s)?[..code.len()].copy_from_slice(&code);
        let j = d
            .submit(&Submit {
                queue,
                program: Some(&b),
                len: code.len() as u32,
                budget,
                ..Default::default()
            })
            .map_err(s)?;
        // The buffer stays alive with the job.
        Ok(j)
    };
    let lj = spin(&low, 1, 50_000_000)?;
    std::thread::sleep(Duration::from_millis(100));
    let (p0, lp) = queue_state(1)?;
    std::thread::sleep(Duration::from_millis(200));
    let alone = queue_state(1)?.0 - p0;
    check(lp == uapi::DRM_TERN_PRIORITY_LOW, || {
        format!("queue 1 priority {lp}, want low")
    })?;
    let hj = spin(&high, 2, 100_000_000)?;
    std::thread::sleep(Duration::from_millis(100));
    let (h0, hp) = queue_state(2)?;
    let (l0, _) = queue_state(1)?;
    let t = Instant::now();
    std::thread::sleep(Duration::from_millis(200));
    let ms = t.elapsed().as_millis() as u64;
    let held = queue_state(1)?.0 - l0;
    let ran = queue_state(2)?.0 - h0;
    check(hp == uapi::DRM_TERN_PRIORITY_HIGH, || {
        format!("queue 2 priority {hp}, want high")
    })?;
    println!(
        "# high_priority_queue_runs_first: low job alone {alone} counts in 200 ms; beside the high job {held} in {ms} ms, the high job {ran}"
    );
    // While it waits, the low job counts one per millisecond, never the instructions it runs.
    check(
        held <= 2 * ms && ran > 100 * held && alone > 100 * held,
        || {
            format!(
                "the low job was not held back: {held} counts in {ms} ms beside {ran}, {alone} alone"
            )
        },
    )?;
    for (d, j, what) in [(&high, hj, "high"), (&low, lj, "low")] {
        let c = d.wait(j, Duration::from_secs(120)).map_err(s)?;
        check(c.status == JobStatus::Watchdog, || {
            format!("the {what} job ended with {}", c.status)
        })?;
    }
    Ok(())
}

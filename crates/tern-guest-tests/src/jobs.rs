// SPDX-License-Identifier: MIT OR Apache-2.0
//! Jobs: copy and compute jobs checked byte for byte against the CPU, statuses, wait
//! timeouts, and every bad SUBMIT/WAIT value.

use std::time::Duration;

use tern::{Arg, BufferFlags, JobStatus, Submit, prepare};
use tern_uapi as uapi;

use crate::ktap::{Outcome, check};
use crate::raw::{expect_errno, ioctl};

const T: Duration = Duration::from_secs(30);

fn open() -> Result<tern::Device, String> {
    tern::Device::open_first().map_err(|e| e.to_string())
}

fn kernel(src: &str) -> Result<Vec<u8>, String> {
    tern_asm::assemble_bytes(src).map_err(|e| e.to_string())
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn floats(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 20_000) as f32 / 1000.0
                - 10.0
        })
        .collect()
}

pub fn nop_job_completes() -> Outcome {
    let d = open()?;
    let c = d.run(&Submit::default(), T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Done, || format!("NOP: {}", c.status))
}

pub fn copy_job_matches_cpu() -> Outcome {
    let d = open()?;
    let n = 300_000usize; // crosses many pages
    let src: Vec<u8> = (0..n).map(|i| (i * 131 % 253) as u8).collect();
    let code = kernel(include_str!("../../../kernels/copy.s"))?;
    let mut p = prepare(
        &d,
        &code,
        &[
            Arg::Zeroed(n as u64),
            Arg::Data(src.clone()),
            Arg::Int(n as u64),
        ],
    )
    .map_err(|e| e.to_string())?;
    let c = p.run(0, T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Done, || {
        format!("copy: {}", c.status)
    })?;
    let out = p.buffers[0]
        .as_mut()
        .ok_or("no dst")?
        .bytes()
        .map_err(|e| e.to_string())?;
    check(out[..n] == src[..], || "copied bytes differ".into())
}

pub fn vadd_job_matches_cpu() -> Outcome {
    let d = open()?;
    let n = 50_000usize;
    let (a, b) = (floats(n, 1), floats(n, 7));
    let code = kernel(include_str!("../../../kernels/vadd_f32.s"))?;
    let args = [
        Arg::Zeroed(4 * n as u64),
        Arg::Data(f32_bytes(&a)),
        Arg::Data(f32_bytes(&b)),
        Arg::Int(n as u64),
    ];
    let mut p = prepare(&d, &code, &args).map_err(|e| e.to_string())?;
    let c = p.run(1, T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Done, || {
        format!("vadd: {}", c.status)
    })?;
    let out = p.buffers[0]
        .as_mut()
        .ok_or("no dst")?
        .bytes()
        .map_err(|e| e.to_string())?;
    let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    check(out[..4 * n] == f32_bytes(&want)[..], || {
        "vadd result differs from the CPU".into()
    })
}

pub fn gemm_job_matches_cpu() -> Outcome {
    let d = open()?;
    let (m, n, k) = (37usize, 29usize, 53usize);
    let (a, b) = (floats(m * k, 3), floats(k * n, 5));
    let code = kernel(include_str!("../../../kernels/gemm_f32.s"))?;
    let args = [
        Arg::Zeroed((4 * m * n) as u64),
        Arg::Data(f32_bytes(&a)),
        Arg::Data(f32_bytes(&b)),
        Arg::Int(m as u64),
        Arg::Int(n as u64),
        Arg::Int(k as u64),
    ];
    let mut p = prepare(&d, &code, &args).map_err(|e| e.to_string())?;
    let c = p.run(2, T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Done, || {
        format!("gemm: {}", c.status)
    })?;
    let out = p.buffers[0]
        .as_mut()
        .ok_or("no C")?
        .bytes()
        .map_err(|e| e.to_string())?;
    let mut want = vec![0f32; m * n];
    for i in 0..m {
        for kk in 0..k {
            for j in 0..n {
                want[i * n + j] += a[i * k + kk] * b[kk * n + j];
            }
        }
    }
    check(out[..4 * m * n] == f32_bytes(&want)[..], || {
        "gemm result differs from the CPU".into()
    })
}

pub fn faulting_and_illegal_jobs_report_status() -> Outcome {
    let d = open()?;
    let load = kernel("li r1, 0x7000000\nlih r1, 0x10\nld r2, r1, 0\nhalt\n")?;
    let p = prepare(&d, &load, &[]).map_err(|e| e.to_string())?;
    let c = p.run(0, T).map_err(|e| e.to_string())?;
    check(
        c.status == JobStatus::MmuFault { va: 0x10_0700_0000 },
        || format!("unmapped load: {}", c.status),
    )?;
    let bad = kernel("nop\nnop\n.word 0xee\nhalt\n")?;
    drop(p); // one argument block (fixed VA 0x10000) per file at a time
    let p = prepare(&d, &bad, &[]).map_err(|e| e.to_string())?;
    let c = p.run(0, T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Illegal { index: 2 }, || {
        format!("illegal: {}", c.status)
    })?;
    // A read-only buffer cannot be written by the device.
    let ro = d
        .create_buffer(
            4096,
            BufferFlags {
                device_readonly: true,
                fixed_va: None,
            },
        )
        .map_err(|e| e.to_string())?;
    let store = kernel(&format!("la r1, {}\nst r1, r1, 0\nhalt\n", ro.va()))?;
    drop(p); // one argument block (fixed VA 0x10000) per file at a time
    let p = prepare(&d, &store, &[]).map_err(|e| e.to_string())?;
    let c = p.run(0, T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::MmuFault { va: ro.va() }, || {
        format!("store to read-only: {}", c.status)
    })?;
    // The device goes on after faults.
    let c = d.run(&Submit::default(), T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Done, || {
        format!("NOP after faults: {}", c.status)
    })
}

pub fn wait_times_out_then_watchdog() -> Outcome {
    let d = open()?;
    let spin = kernel("top:\njmp top\n")?;
    let mut prog = d
        .create_buffer(4096, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    prog.bytes().map_err(|e| e.to_string())?[..spin.len()].copy_from_slice(&spin);
    let s = Submit {
        queue: 3,
        program: Some(&prog),
        len: spin.len() as u32,
        budget: 30_000_000,
        ..Default::default()
    };
    let job = d.submit(&s).map_err(|e| e.to_string())?;
    match d.wait(job, Duration::from_millis(1)) {
        Err(tern::Error::Timeout { .. }) => {}
        other => {
            return Err(format!(
                "1 ms wait on a spinning job gave {other:?}, want a timeout"
            ));
        }
    }
    match d.wait(job, Duration::ZERO) {
        Err(tern::Error::Timeout { .. }) => {}
        other => {
            return Err(format!(
                "polling a spinning job gave {other:?}, want a timeout"
            ));
        }
    }
    let c = d
        .wait(job, Duration::from_secs(120))
        .map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Watchdog, || {
        format!("spinning job ended with {}", c.status)
    })
}

pub fn submit_rejects_bad_values() -> Outcome {
    let d = open()?;
    let q = d.query().map_err(|e| e.to_string())?;
    let cmd = d
        .create_buffer(4096, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    let other = d
        .create_buffer(4096, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    let rw = uapi::DRM_TERN_BO_READ | uapi::DRM_TERN_BO_WRITE;
    let bo = |handle, usage| uapi::drm_tern_bo_ref { handle, usage };
    let handles = [bo(other.handle(), rw)];
    let bogus = [bo(0x7fff, rw)];
    let no_usage = [bo(other.handle(), 0)];
    let bad_usage = [bo(other.handle(), 4)];
    let never = d.create_syncobj(false).map_err(|e| e.to_string())?;
    let signalled = d.create_syncobj(true).map_err(|e| e.to_string())?;
    let sync = |handle, flags, point| uapi::drm_tern_sync {
        handle,
        flags,
        point,
    };
    let unknown_sync = [sync(0x7fff, 0, 0)];
    let unsignalled_sync = [sync(never.handle(), 0, 0)];
    let point_on_binary = [sync(signalled.handle(), 0, 5)];
    let sync_flags = [sync(signalled.handle(), 1, 0)];
    let ok = uapi::drm_tern_submit {
        cmd_handle: cmd.handle(),
        cmd_len: 8,
        bos: handles.as_ptr() as u64,
        bo_count: 1,
        ..Default::default()
    };
    let cases: Vec<(&str, uapi::drm_tern_submit, i32)> = vec![
        (
            "queue = queue_count",
            uapi::drm_tern_submit {
                queue: q.queue_count,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "queue u32::MAX",
            uapi::drm_tern_submit {
                queue: u32::MAX,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "flags",
            uapi::drm_tern_submit { flags: 0x80, ..ok },
            libc::EINVAL,
        ),
        (
            "cmd_len not a multiple of 8",
            uapi::drm_tern_submit { cmd_len: 12, ..ok },
            libc::EINVAL,
        ),
        (
            "cmd_len > max",
            uapi::drm_tern_submit {
                cmd_len: q.max_cmd_len + 8,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "program past the buffer",
            uapi::drm_tern_submit {
                cmd_len: 4104,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "offset misaligned",
            uapi::drm_tern_submit {
                cmd_offset: 4,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "offset past the buffer",
            uapi::drm_tern_submit {
                cmd_offset: 4096,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "offset overflows",
            uapi::drm_tern_submit {
                cmd_offset: u64::MAX - 7,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "cmd_handle unknown",
            uapi::drm_tern_submit {
                cmd_handle: 0x7fff,
                ..ok
            },
            libc::ENOENT,
        ),
        (
            "bo_count > max",
            uapi::drm_tern_submit {
                bo_count: q.max_submit_bos + 1,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "bo handle unknown",
            uapi::drm_tern_submit {
                bos: bogus.as_ptr() as u64,
                ..ok
            },
            libc::ENOENT,
        ),
        (
            "bos bad pointer",
            uapi::drm_tern_submit { bos: 8, ..ok },
            libc::EFAULT,
        ),
        (
            "bo usage 0",
            uapi::drm_tern_submit {
                bos: no_usage.as_ptr() as u64,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "bo usage unknown bit",
            uapi::drm_tern_submit {
                bos: bad_usage.as_ptr() as u64,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "unknown submit flag",
            uapi::drm_tern_submit { flags: 2, ..ok },
            libc::EINVAL,
        ),
        (
            "wait_count > max",
            uapi::drm_tern_submit {
                wait_count: uapi::DRM_TERN_MAX_SYNCS + 1,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "signal_count huge",
            uapi::drm_tern_submit {
                signal_count: u32::MAX,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "waits bad pointer",
            uapi::drm_tern_submit {
                waits: 8,
                wait_count: 1,
                ..ok
            },
            libc::EFAULT,
        ),
        (
            "signals bad pointer",
            uapi::drm_tern_submit {
                signals: u64::MAX - 8,
                signal_count: 2,
                ..ok
            },
            libc::EFAULT,
        ),
        (
            "wait on an unknown syncobj",
            uapi::drm_tern_submit {
                waits: unknown_sync.as_ptr() as u64,
                wait_count: 1,
                ..ok
            },
            libc::ENOENT,
        ),
        (
            "signal an unknown syncobj",
            uapi::drm_tern_submit {
                signals: unknown_sync.as_ptr() as u64,
                signal_count: 1,
                ..ok
            },
            libc::ENOENT,
        ),
        (
            "wait on a syncobj without a fence",
            uapi::drm_tern_submit {
                waits: unsignalled_sync.as_ptr() as u64,
                wait_count: 1,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "wait on a point of a binary syncobj",
            uapi::drm_tern_submit {
                waits: point_on_binary.as_ptr() as u64,
                wait_count: 1,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "sync flags",
            uapi::drm_tern_submit {
                waits: sync_flags.as_ptr() as u64,
                wait_count: 1,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "out_fence_fd set on input",
            uapi::drm_tern_submit {
                flags: uapi::DRM_TERN_SUBMIT_OUT_FENCE_FD,
                out_fence_fd: 3,
                ..ok
            },
            libc::EINVAL,
        ),
        ("pad", uapi::drm_tern_submit { pad: 1, ..ok }, libc::EINVAL),
        (
            "seqno set on input",
            uapi::drm_tern_submit { seqno: 9, ..ok },
            libc::EINVAL,
        ),
    ];
    for (what, a, want) in cases {
        let mut a2 = a;
        expect_errno(what, ioctl(&d, uapi::DRM_IOCTL_TERN_SUBMIT, &mut a2), want)?;
        check(a2.seqno == a.seqno, || {
            format!("{what}: a failed submit returned a seqno")
        })?;
        check(a2.out_fence_fd == a.out_fence_fd, || {
            format!("{what}: a failed submit returned a descriptor")
        })?;
    }
    // The failed signal left the syncobj without a fence.
    expect_errno(
        "the unsignalled syncobj is still unsignalled",
        match d.wait_syncobjs(&[never.at(0)], 0, false, false) {
            Ok(()) => 0,
            Err(e) => e.errno().unwrap_or(-1),
        },
        libc::EINVAL,
    )?;
    // Nothing was queued by the failures: the next job gets the next seqno after a good one.
    let mut g1 = ok;
    expect_errno(
        "good submit",
        ioctl(&d, uapi::DRM_IOCTL_TERN_SUBMIT, &mut g1),
        0,
    )?;
    let mut g2 = ok;
    expect_errno(
        "second good submit",
        ioctl(&d, uapi::DRM_IOCTL_TERN_SUBMIT, &mut g2),
        0,
    )?;
    check(g2.seqno == g1.seqno + 1, || {
        format!("seqnos {} then {}", g1.seqno, g2.seqno)
    })?;
    let job = tern::Job {
        queue: 0,
        seqno: g2.seqno,
    };
    let c = d.wait(job, T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Done, || {
        format!("all-zero program: {}", c.status)
    })
}

pub fn wait_rejects_bad_values() -> Outcome {
    let d = open()?;
    let job = d.submit(&Submit::default()).map_err(|e| e.to_string())?;
    let ok = uapi::drm_tern_wait {
        queue: job.queue,
        seqno: job.seqno,
        deadline_ns: tern::deadline_after(T),
        ..Default::default()
    };
    let cases = [
        (
            "queue out of range",
            uapi::drm_tern_wait { queue: 4, ..ok },
            libc::EINVAL,
        ),
        (
            "flags",
            uapi::drm_tern_wait { flags: 1, ..ok },
            libc::EINVAL,
        ),
        (
            "seqno 0",
            uapi::drm_tern_wait { seqno: 0, ..ok },
            libc::EINVAL,
        ),
        (
            "seqno never submitted",
            uapi::drm_tern_wait {
                seqno: job.seqno + 1000,
                ..ok
            },
            libc::EINVAL,
        ),
        (
            "job of another queue",
            uapi::drm_tern_wait { queue: 1, ..ok },
            libc::EINVAL,
        ),
        (
            "negative deadline",
            uapi::drm_tern_wait {
                deadline_ns: -1,
                ..ok
            },
            libc::EINVAL,
        ),
    ];
    for (what, a, want) in cases {
        let mut a2 = a;
        expect_errno(what, ioctl(&d, uapi::DRM_IOCTL_TERN_WAIT, &mut a2), want)?;
    }
    let mut good = ok;
    expect_errno(
        "good wait",
        ioctl(&d, uapi::DRM_IOCTL_TERN_WAIT, &mut good),
        0,
    )?;
    check(good.status == uapi::DRM_TERN_JOB_DONE, || {
        format!("status {}", good.status)
    })
}

pub fn results_of_the_last_4096_jobs_are_kept() -> Outcome {
    const KEPT: usize = 4096;
    const EXTRA: usize = 100;
    let d = open()?;
    let mut jobs = Vec::with_capacity(KEPT + EXTRA);
    let mut inflight = std::collections::VecDeque::new();
    for _ in 0..KEPT + EXTRA {
        if inflight.len() == 64
            && let Some(j) = inflight.pop_front()
        {
            d.wait(j, T).map_err(|e| e.to_string())?;
        }
        let j = d.submit(&Submit::default()).map_err(|e| e.to_string())?;
        inflight.push_back(j);
        jobs.push(j);
    }
    for j in inflight {
        d.wait(j, T).map_err(|e| e.to_string())?;
    }
    let wait = |j: tern::Job| {
        let mut a = uapi::drm_tern_wait {
            queue: j.queue,
            seqno: j.seqno,
            ..Default::default()
        };
        (ioctl(&d, uapi::DRM_IOCTL_TERN_WAIT, &mut a), a.status)
    };
    for (i, &j) in jobs.iter().enumerate() {
        let (rc, status) = wait(j);
        if i < EXTRA {
            expect_errno(&format!("job {i}, forgotten"), rc, libc::EINVAL)?;
        } else {
            expect_errno(&format!("job {i}, kept"), rc, 0)?;
            check(status == uapi::DRM_TERN_JOB_DONE, || {
                format!("job {i}: status {status}")
            })?;
        }
    }
    Ok(())
}

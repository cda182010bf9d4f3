// SPDX-License-Identifier: MIT OR Apache-2.0
//! Buffer lifetime against running jobs: a closed buffer's VA is not reused while a job
//! submitted before the close may still use it, and a second handle keeps the mapping.

use std::time::Duration;

use tern::{BufferFlags, Device, JobStatus, Submit};
use tern_uapi as uapi;

use crate::ktap::{Outcome, check};
use crate::raw::{expect_errno, ioctl};

const T: Duration = Duration::from_secs(60);
/// Bytes of the buffer the job keeps writing.
const TARGET: u64 = 64 << 10;

fn open() -> Result<Device, String> {
    Device::open_first().map_err(|e| e.to_string())
}

/// A program that fills `[va, va + TARGET)` with `0x5a5a5a5a`, `rounds` times over.
fn filler(va: u64, rounds: u32) -> Result<Vec<u8>, String> {
    let src = format!(
        "        li r1, {va}\n        lih r1, {hi}\n        li r2, 0x5a5a5a5a\n        li r3, {n}\n\
         \x20       li r4, {rounds}\n        li r5, 1\n\
         loop:   fill r1, r2, r3\n        sub r4, r4, r5\n        bnz r4, loop\n        halt\n",
        va = va & 0xffff_ffff,
        hi = va >> 32,
        n = TARGET / 4,
    );
    tern_asm::assemble_bytes(&src).map_err(|e| e.to_string())
}

/// Starts a job that writes the buffer at `va` for a long time, without listing the buffer
/// (a job may use any VA of its context). Fails if the job is not still running afterwards.
fn start_writer<'d>(d: &'d Device, va: u64) -> Result<(tern::Job, tern::Buffer<'d>), String> {
    let code = filler(va, 40_000)?;
    let mut prog = d
        .create_buffer(code.len() as u64, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    prog.bytes().map_err(|e| e.to_string())?[..code.len()].copy_from_slice(&code);
    let job = d
        .submit(&Submit {
            program: Some(&prog),
            len: code.len() as u32,
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
    match d.wait(job, Duration::ZERO) {
        Err(tern::Error::Timeout { .. }) => Ok((job, prog)),
        Ok(c) => Err(format!(
            "the writer job ended before the test could go on: {}",
            c.status
        )),
        Err(e) => Err(format!("wait: {e}")),
    }
}

fn all_zero(b: &mut tern::Buffer<'_>) -> Result<Option<usize>, String> {
    let bytes = b.bytes().map_err(|e| e.to_string())?;
    Ok(bytes.iter().position(|&x| x != 0))
}

pub fn closed_buffer_va_not_reused_while_job_runs() -> Outcome {
    let d = open()?;
    let a = d
        .create_buffer(TARGET, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    let va = a.va();
    let (job, _prog) = start_writer(&d, va)?;
    drop(a);
    let mut b = d
        .create_buffer(TARGET, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    let fixed = d.create_buffer(
        TARGET,
        BufferFlags {
            fixed_va: Some(va),
            ..Default::default()
        },
    );
    let fixed_errno = fixed.as_ref().err().and_then(|e| e.errno());
    drop(fixed);
    let c = d.wait(job, T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Done, || {
        format!("writer: {}", c.status)
    })?;
    check(b.va() != va, || {
        format!("a new buffer got the VA {va:#x} of a closed buffer that a running job used")
    })?;
    if let Some(at) = all_zero(&mut b)? {
        return Err(format!(
            "a buffer created after the close was written by the older job (byte {at})"
        ));
    }
    expect_errno(
        "FIXED_VA at a closed buffer's VA while a job may use it",
        fixed_errno.unwrap_or(0),
        libc::EEXIST,
    )?;
    // Once the job has retired, the VA is free again.
    let again = d.create_buffer(
        TARGET,
        BufferFlags {
            fixed_va: Some(va),
            ..Default::default()
        },
    );
    check(again.is_ok(), || {
        format!(
            "the VA {va:#x} stays taken after the job retired: {:?}",
            again.err()
        )
    })
}

/// Issues `req` with `arg`; fails unless it succeeds, else returns what the kernel wrote.
fn call<T>(d: &Device, what: &str, req: u64, mut arg: T) -> Result<T, String> {
    expect_errno(what, ioctl(d, req, &mut arg), 0)?;
    Ok(arg)
}

fn flink(d: &Device, handle: u32) -> Result<u32, String> {
    let f = uapi::drm_gem_flink {
        handle,
        ..Default::default()
    };
    Ok(call(d, "GEM_FLINK", uapi::DRM_IOCTL_GEM_FLINK, f)?.name)
}

fn gem_open(d: &Device, name: u32) -> Result<u32, String> {
    let o = uapi::drm_gem_open {
        name,
        ..Default::default()
    };
    Ok(call(d, "GEM_OPEN", uapi::DRM_IOCTL_GEM_OPEN, o)?.handle)
}

fn bo_va(d: &Device, handle: u32) -> Result<u64, String> {
    let i = uapi::drm_tern_bo_info {
        handle,
        ..Default::default()
    };
    Ok(call(d, "BO_INFO", uapi::DRM_IOCTL_TERN_BO_INFO, i)?.va)
}

fn gem_close(d: &Device, handle: u32) -> Result<(), String> {
    let c = uapi::drm_gem_close {
        handle,
        ..Default::default()
    };
    call(d, "GEM_CLOSE", uapi::DRM_IOCTL_GEM_CLOSE, c).map(drop)
}

pub fn second_handle_keeps_the_mapping() -> Outcome {
    let d = open()?;
    let a = d
        .create_buffer(TARGET, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    let va = a.va();
    let second = gem_open(&d, flink(&d, a.handle())?)?;
    check(second != a.handle(), || {
        "GEM_OPEN gave back the same handle".into()
    })?;
    let (job, _prog) = start_writer(&d, va)?;
    drop(a); // closes the first handle only
    let mut b = d
        .create_buffer(TARGET, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    let c = d.wait(job, T).map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Done, || {
        format!("writer: {}", c.status)
    })?;
    let still = bo_va(&d, second)?;
    check(still == va, || {
        format!("the second handle's buffer moved from {va:#x} to {still:#x}")
    })?;
    check(b.va() != va, || {
        format!("a new buffer got the VA {va:#x} of a buffer that still has a handle")
    })?;
    if let Some(at) = all_zero(&mut b)? {
        return Err(format!(
            "a new buffer was written by another buffer's job (byte {at})"
        ));
    }
    gem_close(&d, second)
}

pub fn many_files_open() -> Outcome {
    // More files than the old limit of 255 contexts, each with a buffer mapped.
    let mut files = Vec::new();
    for i in 0..600 {
        let d = Device::open_first().map_err(|e| format!("open #{i}: {e}"))?;
        files.push(d);
    }
    for (i, d) in files.iter().enumerate().step_by(50) {
        d.create_buffer(4096, BufferFlags::default())
            .map_err(|e| format!("file #{i}: BO_CREATE: {e}"))?;
    }
    Ok(())
}

pub fn buffers_per_file_are_bounded() -> Outcome {
    let d = open()?;
    let mut bufs = Vec::new();
    loop {
        match d.create_buffer(4096, BufferFlags::default()) {
            Ok(b) => bufs.push(b),
            Err(e) => {
                expect_errno(
                    &format!("BO_CREATE #{}", bufs.len()),
                    e.errno().unwrap_or(0),
                    libc::ENOSPC,
                )?;
                break;
            }
        }
        if bufs.len() > 20_000 {
            return Err("no limit on buffers per file".into());
        }
    }
    check(bufs.len() == 4096, || {
        format!(
            "{} buffers before ENOSPC, the documented limit is 4096",
            bufs.len()
        )
    })?;
    // Closing one makes room for one (after its jobs: there are none).
    bufs.pop();
    d.create_buffer(4096, BufferFlags::default())
        .map(drop)
        .map_err(|e| format!("BO_CREATE after a close: {e}"))
}

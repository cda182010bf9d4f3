// SPDX-License-Identifier: MIT OR Apache-2.0
//! Two processes cannot see each other's buffers or jobs.
//!
//! The test re-runs this binary as a child (`--isolation-child`): the child opens the device,
//! puts a secret in a buffer at a fixed VA, submits a job, prints `VA HANDLE SEQNO` and waits
//! for its stdin to close. The parent, on its own file, checks it can reach none of it.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use tern::{Arg, BufferFlags, JobStatus, Submit, prepare};
use tern_uapi as uapi;

use crate::ktap::{Outcome, check};
use crate::raw::{expect_errno, ioctl};

const SECRET: &[u8] = b"the child's secret";
const SECRET_VA: u64 = 0x40_0000_0000 - (128 << 20);

/// The child side. Returns the process exit code.
pub fn child() -> i32 {
    let run = || -> Result<(), String> {
        let d = tern::Device::open_first().map_err(|e| e.to_string())?;
        let mut b = d
            .create_buffer(
                4096,
                BufferFlags {
                    device_readonly: false,
                    fixed_va: Some(SECRET_VA),
                },
            )
            .map_err(|e| e.to_string())?;
        b.bytes().map_err(|e| e.to_string())?[..SECRET.len()].copy_from_slice(SECRET);
        let job = d
            .submit(&Submit {
                queue: 2,
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
        d.wait(job, Duration::from_secs(30))
            .map_err(|e| e.to_string())?;
        println!("{} {} {}", b.va(), b.handle(), job.seqno);
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        Ok(())
    };
    match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("isolation child: {e}");
            1
        }
    }
}

pub fn processes_are_isolated() -> Outcome {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("--isolation-child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no child stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let r = parent_checks(&line);
    drop(child.stdin.take());
    let st = child.wait().map_err(|e| e.to_string())?;
    r?;
    check(st.success(), || format!("child exited with {st}"))
}

fn parent_checks(line: &str) -> Outcome {
    let f: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [va, handle, seqno] = f[..] else {
        return Err(format!("child said '{}'", line.trim()));
    };
    check(va == SECRET_VA, || format!("child VA {va:#x}"))?;
    let d = tern::Device::open_first().map_err(|e| e.to_string())?;
    // The child's handle means nothing here.
    let mut info = uapi::drm_tern_bo_info {
        handle: handle as u32,
        ..Default::default()
    };
    let e = ioctl(&d, uapi::DRM_IOCTL_TERN_BO_INFO, &mut info);
    check(e == libc::ENOENT || info.va != SECRET_VA, || {
        "the child's handle resolved to its buffer".into()
    })?;
    // The child's job is not ours to wait for.
    let mut w = uapi::drm_tern_wait {
        queue: 2,
        seqno,
        ..Default::default()
    };
    expect_errno(
        "wait on the child's job",
        ioctl(&d, uapi::DRM_IOCTL_TERN_WAIT, &mut w),
        libc::EINVAL,
    )?;
    // Reading the child's VA from our context faults.
    let code = tern_asm::assemble_bytes(&format!("la r1, {va}\nld r2, r1, 0\nhalt\n"))
        .map_err(|e| e.to_string())?;
    let p = prepare(&d, &code, &[]).map_err(|e| e.to_string())?;
    let c = p
        .run(0, Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    check(c.status == JobStatus::MmuFault { va }, || {
        format!("reading the child's VA: {}", c.status)
    })?;
    // The same VA is free in our address space, and holds our (zeroed) memory.
    let mut mine = d
        .create_buffer(
            4096,
            BufferFlags {
                device_readonly: false,
                fixed_va: Some(va),
            },
        )
        .map_err(|e| e.to_string())?;
    let copy = tern_asm::assemble_bytes(include_str!("../../../kernels/copy.s"))
        .map_err(|e| e.to_string())?;
    drop(p); // one argument block (fixed VA 0x10000) per file at a time
    let mut p = prepare(
        &d,
        &copy,
        &[Arg::Zeroed(64), Arg::Int(va), Arg::Int(SECRET.len() as u64)],
    )
    .map_err(|e| e.to_string())?;
    let c = p
        .run(0, Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    check(c.status == JobStatus::Done, || {
        format!("device read of our own VA: {}", c.status)
    })?;
    let seen = p.buffers[0]
        .as_mut()
        .ok_or("no dst")?
        .bytes()
        .map_err(|e| e.to_string())?;
    check(seen[..SECRET.len()].iter().all(|&b| b == 0), || {
        "the device showed us the child's data".into()
    })?;
    let bytes = mine.bytes().map_err(|e| e.to_string())?;
    check(bytes[..SECRET.len()].iter().all(|&b| b == 0), || {
        "our buffer shows the child's data".into()
    })
}

// SPDX-License-Identifier: GPL-2.0

//! debugfs: `/sys/kernel/debug/tern-<PCI address>/` (`docs/driver.md`, "debugfs").
//!
//! - `fw_log`: the firmware log.
//! - `queues`: per queue, the completion area and the driver's ring state.
//! - `jobs`: per queue, the job it runs.
//! - `recovery`: resets done, whether the device is wedged.
//! - `timeout_ms`: the watchdog timeout (read and write).
//! - `reset`: write `queue N` to reset queue N as if its job had hung, or `device`.
//! - `selftest`: reading runs the platform's round trip (`src/selftest.rs`) and prints its
//!   figures in nanoseconds.

use kernel::{
    debugfs::{
        Scope,
        ScopedDir, //
    },
    fmt,
    prelude::*,
    str::CString,
    sync::{
        atomic::Relaxed,
        Arc, //
    },
    uaccess::UserSliceReader,
};

use crate::{
    coredump,
    regs::NUM_QUEUES,
    selftest::SelfTest,
    shared::{
        Shared,
        RESET_DEVICE, //
    },
};

/// What the files of a device's directory read.
pub(crate) struct Files {
    shared: Arc<Shared>,
    /// The `CAPS` register.
    caps: u32,
}

/// The directory of one device; removed when dropped.
pub(crate) type Debugfs = Scope<Files>;

/// Creates the directory of the device `shared` belongs to.
pub(crate) fn create(shared: Arc<Shared>, caps: u32) -> Result<Pin<KBox<Debugfs>>> {
    let name = CString::try_from_fmt(fmt!("tern-{}", shared.dev.name()))?;
    KBox::pin_init(
        Scope::dir(Files { shared, caps }, &name, populate),
        GFP_KERNEL,
    )
}

fn populate<'data, 'dir>(files: &'data Files, dir: &'dir ScopedDir<'data, 'dir>) {
    let shared = &files.shared;
    dir.read_callback_file(c"fw_log", shared, &show_fw_log);
    dir.read_callback_file(c"queues", shared, &show_queues);
    dir.read_callback_file(c"jobs", shared, &show_jobs);
    dir.read_callback_file(c"recovery", shared, &show_recovery);
    dir.read_write_file(c"timeout_ms", &shared.timeout_ms);
    dir.write_only_callback_file(c"reset", shared, &write_reset);
    dir.read_callback_file(c"selftest", files, &show_selftest);
}

fn show_selftest(files: &Files, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // A read cannot fail with an errno here: the error is the output.
    let r = match SelfTest::run(&files.shared, files.caps) {
        Ok(r) => r,
        Err(e) => return writeln!(f, "error {e:?}"),
    };
    writeln!(f, "rounds {}", r.rounds)?;
    writeln!(f, "min_ns {}", r.min)?;
    writeln!(f, "p50_ns {}", r.p50)?;
    writeln!(f, "p99_ns {}", r.p99)?;
    writeln!(f, "max_ns {}", r.max)?;
    writeln!(f, "total_ns {}", r.total)
}

fn show_fw_log(shared: &Arc<Shared>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let log = coredump::fw_log(shared).map_err(|_| fmt::Error)?;
    for &b in log.iter() {
        write!(f, "{}", char::from(b))?;
    }
    Ok(())
}

fn show_queues(shared: &Arc<Shared>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for (q, queue) in shared.queues.iter().enumerate() {
        let d = queue.dump();
        writeln!(
            f,
            "queue {q}: fence {} progress {} head {} error {} retired {} submitted {} held {} \
             priority {}",
            d.fence, d.progress, d.head, d.error, d.retired, d.submitted, d.held, d.priority
        )?;
    }
    Ok(())
}

fn show_jobs(shared: &Arc<Shared>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for (q, queue) in shared.queues.iter().enumerate() {
        let d = queue.dump();
        write!(f, "queue {q}: {} on the ring", d.submitted - d.retired)?;
        match queue.running_job() {
            Some(j) => writeln!(
                f,
                ", running ring seqno {} context {} cmd_va {:#x} cmd_len {} budget {}",
                j.ring_seqno, j.desc.context, j.desc.cmd_va, j.desc.cmd_len, j.desc.budget
            )?,
            None => writeln!(f)?,
        }
    }
    Ok(())
}

fn show_recovery(shared: &Arc<Shared>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "queue_resets {}", shared.queue_resets.load(Relaxed))?;
    writeln!(f, "device_resets {}", shared.device_resets.load(Relaxed))?;
    writeln!(f, "wedged {}", shared.wedged.load(Relaxed))
}

fn write_reset(shared: &Arc<Shared>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 32];
    let n = reader.len();
    if n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    let text = core::str::from_utf8(&buf[..n]).map_err(|_| EINVAL)?.trim();
    let bits = match text.split_once(' ') {
        Some(("queue", q)) => {
            let q: u32 = q.trim().parse().map_err(|_| EINVAL)?;
            // CAST: 4 queues.
            if q >= NUM_QUEUES as u32 {
                return Err(EINVAL);
            }
            1 << q
        }
        None if text == "device" => RESET_DEVICE,
        _ => return Err(EINVAL),
    };
    shared.check_alive()?;
    Shared::request_reset(shared, bits);
    Ok(())
}

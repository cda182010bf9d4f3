// SPDX-License-Identifier: MIT OR Apache-2.0
//! Priorities and resets under load: SET_PRIORITY with random values, and now and then a
//! queue or device reset forced through the driver's debugfs, so that every other operation
//! also meets the recovery paths (aborted jobs, banned files, rebooted firmware).

use std::sync::atomic::Ordering::Relaxed;

use tern_uapi as uapi;

use crate::ctx::Ctx;
use crate::drm;

/// Whether the file `fd` is banned, from its fdinfo.
pub fn banned(fd: i32) -> bool {
    std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
        .is_ok_and(|t| t.lines().any(|l| l.trim_end() == "tern-banned:\t1"))
}

/// SET_PRIORITY: a valid priority (high needs CAP_SYS_NICE), or a bad value or pad.
pub fn op_priority(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let mut a = uapi::drm_tern_set_priority {
        priority: ctx.rng.below(3) as u32,
        pad: 0,
    };
    match ctx.rng.below(8) {
        0 => a.priority = 3 + ctx.rng.u32() % 1000,
        1 => a.pad = ctx.rng.u32() | 1,
        _ => {}
    }
    let valid = a.priority <= uapi::DRM_TERN_PRIORITY_HIGH && a.pad == 0;
    let e = ctx.ioctl(f.raw(), drm::SET_PRIORITY, &mut a);
    let ok = match e {
        0 => valid,
        libc::EINVAL => !valid,
        libc::EPERM => valid && a.priority == uapi::DRM_TERN_PRIORITY_HIGH,
        libc::ENODEV => true,
        _ => false,
    };
    if !ok {
        ctx.note(0x7072_696f ^ e as u64, || {
            format!(
                "SET_PRIORITY priority={} pad={} gave {}",
                a.priority,
                a.pad,
                crate::errno::name(e)
            )
        });
    }
}

/// The debugfs `reset` file of the first device (lowest PCI address: the fuzzed accel0), if
/// debugfs is mounted.
fn reset_file() -> Option<std::path::PathBuf> {
    std::fs::read_dir("/sys/kernel/debug")
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("tern-"))
        })
        .min()
        .map(|p| p.join("reset"))
}

/// Forces a reset, rarely: a queue reset (one in 64 calls) or a device reset (one in 512).
pub fn op_reset(ctx: &mut Ctx<'_>) {
    let what = match ctx.rng.below(512) {
        0 => "device".to_string(),
        1..=8 => format!("queue {}", ctx.rng.below(u64::from(ctx.p.q.queue_count))),
        _ => return,
    };
    let Some(path) = reset_file() else { return };
    match std::fs::write(&path, &what) {
        Ok(()) => {
            ctx.shared().resets.fetch_add(1, Relaxed);
        }
        // A wedged or departing device refuses.
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {}
        Err(e) => ctx.note(0x7265_7365, || {
            format!("writing '{what}' to {}: {e}", path.display())
        }),
    }
}

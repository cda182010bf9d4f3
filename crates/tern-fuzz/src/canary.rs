// SPDX-License-Identifier: MIT OR Apache-2.0
//! Canaries: device-read-only buffers of every file filled with a known pattern through
//! the CPU mapping. No job (of any file) may change them, before or after their file closes.

use std::sync::Arc;

use crate::ctx::{Ctx, lock};
use crate::file::{Canary, DevFile};
use crate::program::untag;
use crate::rng::mix;
use crate::{bo_ops, file::Bo};

/// The pattern word `i` of canary `key`.
pub fn pattern(key: u64, i: usize) -> u64 {
    mix(key ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Creates a canary in `f` (number `n` of the file), fills and tracks it.
pub fn create(ctx: &mut Ctx<'_>, f: &DevFile, n: usize) -> Option<()> {
    let size = 4096 * (1 + ctx.rng.below(4));
    let ro = tern_uapi::DRM_TERN_BO_DEVICE_READONLY;
    let bo: Bo = if ctx.rng.chance(1, 2) {
        let va = bo_ops::random_va(ctx, size);
        bo_ops::create(ctx, f, size, ro | tern_uapi::DRM_TERN_BO_FIXED_VA, va).ok()
    } else {
        None
    }
    .or_else(|| bo_ops::create(ctx, f, size, ro, 0).ok())?;
    let map = bo.map.clone()?;
    // The canary is not a scratch buffer: only canary code touches it.
    lock_forget(f, bo.handle);
    let key = mix(ctx.p.seed ^ mix((f.proc as u64) << 40 | u64::from(f.no) << 8 | n as u64));
    for i in 0..map.len() / 8 {
        map.write_u64(8 * i, pattern(key, i));
    }
    f.lock().canaries.push(Canary {
        name: format!("canary{n}"),
        file: f.label.clone(),
        handle: bo.handle,
        va: bo.va,
        map,
        key,
    });
    Some(())
}

fn lock_forget(f: &DevFile, handle: u32) {
    let mut st = f.lock();
    st.bos.retain(|b| b.handle != handle);
}

/// Checks one canary; on a change reports it and restores the pattern.
fn check_one(ctx: &Ctx<'_>, closed: bool, c: &Canary) {
    let file = if closed {
        format!("{} (closed)", c.file)
    } else {
        c.file.clone()
    };
    let words = c.map.len() / 8;
    let mut first = None;
    let mut changed = 0;
    for i in 0..words {
        let (want, got) = (pattern(c.key, i), c.map.read_u64(8 * i));
        if want != got {
            changed += 1;
            first.get_or_insert((i, want, got));
        }
    }
    if let Some((i, want, got)) = first {
        let who = untag(got).map_or(String::new(), |(p, f)| {
            format!(" (value is the FILL tag of p{p}f{f})")
        });
        ctx.finding(format!(
            "canary changed: file={file} buffer={} handle={} va={:#x} offset={:#x} \
             expected={want:#018x} actual={got:#018x} words_changed={changed}{who}",
            c.name,
            c.handle,
            c.va,
            8 * i
        ));
        for i in 0..words {
            c.map.write_u64(8 * i, pattern(c.key, i));
        }
    }
}

/// Checks every canary of the process (open files, then closed ones, which are dropped).
pub fn check_all(ctx: &Ctx<'_>) {
    let Ok(_one) = ctx.p.checking.try_lock() else {
        return;
    };
    let files: Vec<Arc<DevFile>> = lock(&ctx.p.files).clone();
    for f in &files {
        let cs = f.lock().canaries.clone();
        for c in &cs {
            check_one(ctx, false, c);
        }
    }
    let zombies = std::mem::take(&mut *lock(&ctx.p.zombies));
    for c in &zombies {
        check_one(ctx, true, c);
    }
}

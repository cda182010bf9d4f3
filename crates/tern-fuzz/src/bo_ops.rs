// SPDX-License-Identifier: MIT OR Apache-2.0
//! Buffer operations: create (also bad and FIXED_VA/READONLY ones), CPU-map and check the
//! new buffer reads as zero, info, close (also under running jobs), mmap abuse, PRIME (own
//! buffers and dma-bufs of other exporters, see `foreign`).

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tern_uapi as uapi;
use uapi::{DRM_TERN_BO_DEVICE_READONLY as RO, DRM_TERN_BO_FIXED_VA as FIXED};

use crate::ctx::{Ctx, lock};
use crate::file::{Bo, DevFile, MAX_BOS};
use crate::mapping::Mapping;
use crate::{drm, errno};

/// How much of a new buffer is checked for zeros (plus its last page).
const ZERO_CHECK: usize = 256 << 10;
const DMABUF_POOL: usize = 8;

/// A random page-aligned VA for `size` bytes inside the device range.
pub fn random_va(ctx: &mut Ctx<'_>, size: u64) -> u64 {
    let q = ctx.p.q;
    let pages = (q.va_end.saturating_sub(q.va_start + size)) / 4096;
    q.va_start + 4096 * ctx.rng.below(pages.max(1))
}

/// BO_INFO on `handle`.
pub fn info(ctx: &Ctx<'_>, f: &DevFile, handle: u32) -> Result<uapi::drm_tern_bo_info, i32> {
    let mut i = uapi::drm_tern_bo_info {
        handle,
        ..Default::default()
    };
    match ctx.ioctl(f.raw(), drm::BO_INFO, &mut i) {
        0 => Ok(i),
        e => Err(e),
    }
}

/// Maps a buffer for the CPU and tracks it in `f` (`fresh`: check it reads as zero).
fn track(ctx: &Ctx<'_>, f: &DevFile, handle: u32, fresh: bool) -> Result<Bo, i32> {
    let i = info(ctx, f, handle)?;
    let map = Mapping::map(f.raw(), i.size as usize, i.mmap_offset, true)
        .map_err(|e| {
            if !errno::sane(e, false) {
                ctx.note(0x6d6d_6170 ^ e as u64, || {
                    format!("mmap of a live buffer failed with {}", errno::name(e))
                });
            }
        })
        .ok()
        .map(Arc::new);
    if let (true, Some(m)) = (fresh, &map)
        && let Some((off, v)) = m.first_nonzero(ZERO_CHECK)
    {
        let reused = f.lock().reuses_closed_va(i.va, i.size);
        let what = format!(
            "new buffer not zero: file={} handle={handle} va={:#x} size={:#x} offset={off:#x} \
             expected=0 actual={v:#018x}",
            f.label, i.va, i.size
        );
        match crate::program::untag(v) {
            // A job of this file still running on a closed buffer at the same VA: the
            // program's fault, not the driver's.
            Some((p, n)) if reused && p == f.proc as u32 && n == f.no => ctx
                .note(0x7a65_726f, || {
                    format!("{what} (own stale job at a reused VA)")
                }),
            Some((p, n)) => ctx.finding(format!("{what} (FILL tag of p{p}f{n})")),
            None => ctx.finding(what),
        }
    }
    let bo = Bo {
        handle,
        size: i.size,
        va: i.va,
        flags: i.flags,
        mmap_offset: i.mmap_offset,
        map,
        imported: !fresh,
    };
    f.lock().add(bo.clone());
    ctx.shared().bos.fetch_add(1, Relaxed);
    Ok(bo)
}

/// BO_CREATE, then map, zero-check and track the buffer.
pub fn create(ctx: &Ctx<'_>, f: &DevFile, size: u64, flags: u32, va: u64) -> Result<Bo, i32> {
    let mut c = uapi::drm_tern_bo_create {
        size,
        flags,
        va,
        ..Default::default()
    };
    match ctx.ioctl(f.raw(), drm::BO_CREATE, &mut c) {
        0 => track(ctx, f, c.handle, true),
        e => Err(e),
    }
}

fn good_size(ctx: &mut Ctx<'_>) -> u64 {
    match ctx.rng.below(8) {
        0 => 4096,
        1 => 8192,
        2 => 1 + ctx.rng.below(4096),
        3 => 16384,
        4 => 65536,
        5 if ctx.rng.chance(1, 8) => 1 << 20,
        _ => 1 + ctx.rng.below(65536),
    }
}

/// Creates a buffer, mostly valid (READONLY, FIXED_VA, or at a taken VA), sometimes bad.
pub fn op_create(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    if f.lock().bos.len() >= MAX_BOS {
        return op_close(ctx);
    }
    let r = &mut ctx.rng;
    let (mut flags, mut va) = (0, 0);
    if r.chance(1, 5) {
        flags |= RO;
    }
    if r.chance(1, 4) {
        flags |= FIXED;
    }
    let size;
    if r.chance(7, 8) {
        size = good_size(ctx);
        if flags & FIXED != 0 {
            let taken = ctx.rng.chance(1, 4).then(|| {
                let st = f.lock();
                ctx.rng
                    .pick(&st.bos)
                    .map(|b| b.va + 4096 * ctx.rng.below(b.size / 4096 + 1))
            });
            va = taken.flatten().unwrap_or_else(|| random_va(ctx, size));
        }
    } else {
        let q = ctx.p.q;
        match ctx.rng.below(7) {
            0 => size = 0,
            1 => size = q.max_bo_size + 1 + ctx.rng.below(4096),
            2 => size = ctx.rng.edgy(),
            3 => (size, flags) = (4096, ctx.rng.u32()),
            4 => (size, va) = (4096, ctx.rng.edgy()),
            5 => {
                size = 4096;
                flags = FIXED;
                va = *ctx
                    .rng
                    .pick(&[
                        q.va_start - 4096,
                        q.va_end,
                        q.va_end - 4096 + 8,
                        1,
                        q.va_start + 1,
                        !4095,
                    ])
                    .unwrap_or(&0);
            }
            _ => {
                let mut c = uapi::drm_tern_bo_create {
                    size: 4096,
                    handle: ctx.rng.u32() | 1,
                    ..Default::default()
                };
                if ctx.ioctl(f.raw(), drm::BO_CREATE, &mut c) == 0 {
                    let _ = track(ctx, &f, c.handle, true);
                }
                return;
            }
        }
    }
    let _ = create(ctx, &f, size, flags, va);
}

/// GEM_CLOSE of a tracked buffer (jobs may still use it) or of a random handle.
pub fn op_close(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let mut c = uapi::drm_gem_close::default();
    if ctx.rng.chance(4, 5) {
        let mut st = f.lock();
        let Some(h) = ctx.rng.pick(&st.bos).map(|b| b.handle) else {
            return;
        };
        st.forget(h);
        c.handle = h;
    } else {
        c.handle = match ctx.rng.below(3) {
            0 => 0,
            1 => u32::MAX - ctx.rng.below(4) as u32,
            _ => 1 + ctx.rng.below(256) as u32,
        };
        // A random handle may be one of ours: forget it first, it is gone either way.
        f.lock().forget(c.handle);
        if ctx.rng.chance(1, 8) {
            c.pad = 1 + ctx.rng.u32() / 2;
        }
    }
    ctx.ioctl(f.raw(), drm::GEM_CLOSE, &mut c);
}

/// BO_INFO on tracked and random handles, with nonzero input fields sometimes.
pub fn op_info(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let tracked = ctx.rng.pick(&f.lock().bos).cloned();
    let mut i = uapi::drm_tern_bo_info {
        handle: tracked.as_ref().map_or(ctx.rng.u32() % 300, |b| b.handle),
        ..Default::default()
    };
    match ctx.rng.below(8) {
        0 => i.flags = ctx.rng.u32() | 1,
        1 => i.size = ctx.rng.edgy() | 1,
        2 => i.va = ctx.rng.edgy() | 1,
        3 => i.mmap_offset = ctx.rng.edgy() | 1,
        _ => {}
    }
    let e = ctx.ioctl(f.raw(), drm::BO_INFO, &mut i);
    if let (0, Some(b)) = (e, tracked)
        && (i.size != b.size || i.va != b.va)
        && i.handle == b.handle
    {
        ctx.note(0x696e_666f, || {
            format!(
                "BO_INFO of {} handle {}: size/va {:#x}/{:#x}, created as {:#x}/{:#x}",
                f.label, b.handle, i.size, i.va, b.size, b.va
            )
        });
    }
}

/// mmap with bad offsets and lengths, or a valid offset with a wrong length; never touched.
pub fn op_mmap(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let bo = ctx.rng.pick(&f.lock().bos).cloned();
    let (off, len) = match (ctx.rng.below(5), bo) {
        (0, Some(b)) => (
            b.mmap_offset,
            b.size as usize + 4096 * (1 + ctx.rng.below(4) as usize),
        ),
        (1, Some(b)) => (
            b.mmap_offset + 4096 * ctx.rng.below(b.size / 4096 + 2),
            4096,
        ),
        (2, Some(b)) => (b.mmap_offset + 1 + ctx.rng.below(4095), 4096),
        (3, _) => (
            ctx.rng.edgy() & !4095,
            4096 * (1 + ctx.rng.below(16) as usize),
        ),
        _ => (4096 * ctx.rng.below(1 << 20), 4096),
    };
    ctx.shared().beat(ctx.p.idx, ctx.t);
    if let Err(e) = Mapping::map(f.raw(), len, off, ctx.rng.chance(1, 2))
        && !errno::sane(e, false)
    {
        ctx.note(0x6d6d_0000 ^ e as u64, || {
            format!("mmap failed with {}", errno::name(e))
        });
    }
}

/// PRIME export from one file and import into another (or the same), or bad imports.
pub fn op_prime(ctx: &mut Ctx<'_>) {
    let (Some(a), Some(b)) = (ctx.file(), ctx.file()) else {
        return;
    };
    if ctx.rng.chance(1, 6) {
        return bad_import(ctx, &b);
    }
    let pooled = ctx.rng.chance(1, 4).then(|| {
        let pool = lock(&ctx.p.dmabufs);
        ctx.rng.pick(&pool).and_then(|fd| fd.try_clone().ok())
    });
    let mut foreign = false;
    let fd = match pooled.flatten() {
        Some(fd) => fd,
        None if ctx.rng.chance(1, 3) => {
            let size = 4096 * (1 + ctx.rng.below(64));
            let Some(fd) = crate::foreign::dmabuf(ctx, size) else {
                return;
            };
            foreign = true;
            fd
        }
        None => {
            let Some(h) = ctx.rng.pick(&a.lock().bos).map(|x| x.handle) else {
                return;
            };
            let flags = match ctx.rng.below(8) {
                0 => 0,
                1 => ctx.rng.u32(),
                2 => drm::DRM_CLOEXEC,
                _ => drm::DRM_CLOEXEC | drm::DRM_RDWR,
            };
            let mut p = uapi::drm_prime_handle {
                handle: h,
                flags,
                fd: -1,
            };
            if ctx.ioctl(a.raw(), drm::PRIME_HANDLE_TO_FD, &mut p) != 0 || p.fd < 0 {
                return;
            }
            // SAFETY: the kernel just created this descriptor for us; nothing else owns it.
            unsafe { OwnedFd::from_raw_fd(p.fd) }
        }
    };
    let mut p = uapi::drm_prime_handle {
        fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
        ..Default::default()
    };
    if ctx.ioctl(b.raw(), drm::PRIME_FD_TO_HANDLE, &mut p) == 0 {
        let fresh = {
            let st = b.lock();
            let known = st.bos.iter().any(|x| x.handle == p.handle)
                || st.canaries.iter().any(|c| c.handle == p.handle);
            !known && st.bos.len() < MAX_BOS
        };
        if fresh {
            let _ = track(ctx, &b, p.handle, false);
        }
        // A dma-buf of another exporter becomes a buffer that says so.
        if foreign
            && let Ok(i) = info(ctx, &b, p.handle)
            && i.flags & uapi::DRM_TERN_BO_IMPORTED == 0
        {
            ctx.finding(format!(
                "a foreign dma-buf imported as handle {} without DRM_TERN_BO_IMPORTED (flags {:#x})",
                p.handle, i.flags
            ));
        }
    }
    let mut pool = lock(&ctx.p.dmabufs);
    if pool.len() < DMABUF_POOL && ctx.rng.chance(1, 3) {
        pool.push(fd);
    }
}

fn bad_import(ctx: &mut Ctx<'_>, f: &DevFile) {
    let mut p = uapi::drm_prime_handle {
        fd: match ctx.rng.below(4) {
            0 => -1,
            1 => f.raw(),
            2 => 0,
            _ => 1000 + ctx.rng.below(1000) as i32,
        },
        ..Default::default()
    };
    if ctx.rng.chance(1, 3) {
        p.flags = ctx.rng.u32();
    }
    ctx.ioctl(f.raw(), drm::PRIME_FD_TO_HANDLE, &mut p);
}

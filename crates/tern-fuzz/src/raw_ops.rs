// SPDX-License-Identifier: MIT OR Apache-2.0
//! Syscall-fuzzer style ioctls: driver numbers DRM_COMMAND_BASE + 0..0x20 and the core DRM
//! ioctls, with directions and sizes varied and random or almost-valid payloads.
//!
//! Payloads live in a per-thread scratch area followed by an inaccessible guard page.
//! Fields the kernel writes through (VERSION's and GET_UNIQUE's strings) point into the
//! scratch area with lengths that fit, or at deliberately invalid addresses; descriptors the
//! kernel returns are closed.

use std::os::fd::AsRawFd;

use crate::ctx::{Ctx, lock};
use crate::drm::{self, Def};
use crate::file::DevFile;
use crate::mapping::Mapping;
use crate::sys;

const PAYLOAD: usize = 16 << 10;
const OUT: usize = 4096;
const GUARD: usize = 4096;

/// Addresses no valid user buffer has.
const BAD_PTRS: &[u64] = &[
    0,
    1,
    8,
    0xffff_8000_0000_0000,
    0xffff_ffff_8100_0000,
    0xffff_ffff_ff60_0000,
    u64::MAX - 7,
    0x0000_8000_0000_0000,
];

/// A thread's payload area: PAYLOAD bytes, then OUT bytes for strings, then a guard page.
pub struct Scratch {
    map: Mapping,
}

impl Scratch {
    pub fn new() -> Result<Scratch, i32> {
        let map = Mapping::anon(PAYLOAD + OUT + GUARD)?;
        match sys::protect_none(map.addr() + PAYLOAD + OUT, GUARD) {
            0 => Ok(Scratch { map }),
            e => Err(e),
        }
    }

    fn put(&self, off: usize, bytes: &[u8]) {
        for (i, c) in bytes.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            let at = off + 8 * i;
            let old = self.map.read_u64(at).to_le_bytes();
            w[c.len()..].copy_from_slice(&old[c.len()..]);
            self.map.write_u64(at, u64::from_le_bytes(w));
        }
    }

    fn put_u64(&self, off: usize, v: u64) {
        self.put(off, &v.to_le_bytes());
    }

    fn get_i32(&self, off: usize) -> i32 {
        let w = self.map.read_u64(off & !7).to_le_bytes();
        let o = off & 7;
        i32::from_le_bytes([w[o], w[o + 1], w[o + 2], w[o + 3]])
    }
}

/// A pointer field the kernel may write `len` bytes through: into the string area, or bad.
fn out_ptr(ctx: &mut Ctx<'_>, s: &Scratch, ptr_off: usize, len_off: usize) {
    if ctx.rng.chance(1, 4) {
        let p = *ctx.rng.pick(BAD_PTRS).unwrap_or(&1);
        s.put_u64(ptr_off, p);
        s.put_u64(len_off, ctx.rng.edgy() % 4096);
    } else {
        let len = ctx.rng.below(OUT as u64 / 4);
        let at = PAYLOAD as u64 + ctx.rng.below(OUT as u64 - len);
        s.put_u64(ptr_off, s.map.addr() as u64 + at);
        s.put_u64(len_off, len);
    }
}

/// An almost valid payload for `d` on `f`: zeros with real handles, queues and seqnos.
fn plausible(ctx: &mut Ctx<'_>, f: &DevFile, d: &Def, s: &Scratch) {
    let st = f.lock();
    let h = ctx.rng.pick(&st.bos).map_or(1, |b| b.handle);
    let j = st.jobs.front().copied();
    drop(st);
    let nr = d.nr.wrapping_sub(drm::DRM_COMMAND_BASE);
    match (d.nr, nr) {
        (_, drm::NR_BO_CREATE) => s.put_u64(0, ctx.rng.edgy() % (1 << 22)),
        (_, drm::NR_BO_INFO) => s.put_u64(0, u64::from(h)),
        (_, drm::NR_SUBMIT) => {
            s.put_u64(8, u64::from(h));
            s.put_u64(24, s.map.addr() as u64 + PAYLOAD as u64);
        }
        (_, drm::NR_WAIT) => {
            if let Some(j) = j {
                s.put_u64(0, u64::from(j.queue));
                s.put_u64(8, j.seqno);
            }
            s.put_u64(16, ctx.rng.below(2_000_000));
        }
        (drm::NR_GEM_CLOSE, _) | (drm::NR_PRIME_HANDLE_TO_FD, _) => {
            s.put_u64(0, u64::from(h) | u64::from(drm::DRM_CLOEXEC) << 32);
        }
        (0x0c | 0x0d, _) => s.put_u64(0, ctx.rng.below(0x20)),
        _ => {}
    }
    // One field made odd.
    let at = 8 * ctx.rng.below((d.size as u64).div_ceil(8).max(1)) as usize;
    if ctx.rng.chance(1, 2) {
        let v = ctx.rng.edgy();
        s.put_u64(at, v);
    }
}

/// One raw ioctl on a random file (or a pooled dma-buf), payload in `s`.
pub fn op_raw(ctx: &mut Ctx<'_>, s: &Scratch) {
    let Some(f) = ctx.file() else { return };
    let driver_range = ctx.rng.chance(3, 5);
    let d = if driver_range {
        let nr = drm::DRM_COMMAND_BASE + ctx.rng.below(0x20) as u8;
        drm::DRIVER
            .iter()
            .copied()
            .find(|d| d.nr == nr)
            .unwrap_or(Def {
                name: "driver",
                nr,
                dir: drm::IOC_RW,
                size: 8 * ctx.rng.below(12) as usize,
            })
    } else {
        *ctx.rng.pick(drm::CORE).unwrap_or(&drm::CORE[0])
    };
    let dir = if ctx.rng.chance(7, 10) {
        d.dir
    } else {
        ctx.rng.below(4) as u32
    };
    let size = match ctx.rng.below(10) {
        0 => 0,
        1 => d.size.saturating_sub(4 * (1 + ctx.rng.below(4) as usize)),
        2 => d.size + 4 * (1 + ctx.rng.below(8) as usize),
        3 => ctx.rng.below(PAYLOAD as u64) as usize,
        _ => d.size,
    };
    let req = drm::request(dir, d.nr, size);
    // Payload: random bytes, zeros, or almost valid.
    let n = size.max(d.size).clamp(64, PAYLOAD);
    let mut buf = vec![0u8; n];
    let kind = ctx.rng.below(3);
    if kind == 0 {
        ctx.rng.fill(&mut buf);
    }
    s.put(0, &buf);
    if kind == 2 {
        plausible(ctx, &f, &d, s);
    }
    // Pointers the kernel writes through stay inside our memory.
    match d.nr {
        drm::NR_VERSION => {
            for k in 0..3 {
                out_ptr(ctx, s, 24 + 16 * k, 16 + 16 * k);
            }
        }
        drm::NR_GET_UNIQUE | drm::NR_SET_UNIQUE => out_ptr(ctx, s, 8, 0),
        drm::NR_MODE_GETRESOURCES => s.put(0, &[0; 64]),
        drm::NR_PRIME_HANDLE_TO_FD => s.put(8, &(-1i32).to_le_bytes()),
        drm::NR_GEM_CLOSE => {
            let h = s.get_i32(0) as u32;
            f.lock().forget(h);
        }
        _ => {}
    }
    if d.nr == drm::DRM_COMMAND_BASE + drm::NR_SUBMIT && kind != 2 {
        let p = if ctx.rng.chance(1, 2) {
            s.map.addr() as u64 + PAYLOAD as u64
        } else {
            *ctx.rng.pick(BAD_PTRS).unwrap_or(&1)
        };
        s.put_u64(24, p);
    }
    if d.nr == drm::DRM_COMMAND_BASE + drm::NR_SUBMIT_BATCH {
        // The driver writes seqnos into the entries: they stay in the payload area.
        let p = if ctx.rng.chance(3, 4) {
            s.map.addr() as u64 + PAYLOAD as u64
        } else {
            *ctx.rng.pick(BAD_PTRS).unwrap_or(&1)
        };
        s.put_u64(0, p);
    }
    if d.nr == drm::DRM_COMMAND_BASE + drm::NR_WAIT && kind == 0 {
        // Random timeouts stay short so a lucky seqno cannot block for long.
        s.put_u64(16, ctx.rng.below(5_000_000));
    }
    // The argument itself: our payload, its tail against the guard page, or invalid.
    let arg = match ctx.rng.below(16) {
        0 => *ctx.rng.pick(BAD_PTRS).unwrap_or(&1) as usize,
        1 => s.map.addr() + PAYLOAD + OUT - ctx.rng.below(size.min(OUT) as u64 + 1) as usize,
        _ => s.map.addr(),
    };
    let fd = if ctx.rng.chance(1, 20) {
        lock(&ctx.p.dmabufs)
            .first()
            .map_or(f.raw(), |d| d.as_raw_fd())
    } else {
        f.raw()
    };
    let e = ctx.ioctl_raw(fd, req, arg);
    if e == 0 && d.nr == drm::NR_PRIME_HANDLE_TO_FD && arg == s.map.addr() {
        let nfd = s.get_i32(8);
        if nfd > 2 && size >= 12 && dir & drm::IOC_R != 0 {
            sys::close(nfd);
        }
    }
}

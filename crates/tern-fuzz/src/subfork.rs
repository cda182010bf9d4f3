// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fork with open files: a short-lived child of a (multi-threaded) worker uses the device
//! file, buffers, mappings and dma-bufs it inherited, maybe closes some, and exits.
//!
//! The child runs only raw system calls and atomics on data prepared before the fork (no
//! allocation, no locks), as a child of a multi-threaded process must.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tern_uapi as uapi;

use crate::ctx::{Ctx, lock};
use crate::{drm, sys};

/// How long a fork child may take before it counts as hung.
const CHILD_LIMIT_NS: u64 = 30_000_000_000;

/// Forks a child that uses inherited descriptors, and reaps it.
pub fn op_fork(ctx: &mut Ctx<'_>) {
    let Some(f) = ctx.file() else { return };
    let (bo, canary) = {
        let st = f.lock();
        (
            ctx.rng.pick(&st.bos).cloned(),
            st.canaries.first().map(|c| c.map.clone()),
        )
    };
    let dmabuf = lock(&ctx.p.dmabufs)
        .first()
        .and_then(|d| d.try_clone().ok());
    let handle = bo.as_ref().map_or(1, |b| b.handle);
    let close_bo = bo.is_some() && ctx.rng.chance(1, 3);
    let close_fd = ctx.rng.chance(1, 2);
    if close_bo {
        // The child's close is the parent's too (same open file): forget it now.
        f.lock().forget(handle);
    }
    let handles = [uapi::drm_tern_bo_ref {
        handle,
        usage: uapi::DRM_TERN_BO_READ | uapi::DRM_TERN_BO_WRITE,
    }];
    let mut info = uapi::drm_tern_bo_info {
        handle,
        ..Default::default()
    };
    let mut sub = uapi::drm_tern_submit {
        queue: ctx.rng.below(u64::from(ctx.p.q.queue_count.max(1))) as u32,
        cmd_handle: handle,
        bos: handles.as_ptr() as u64,
        bo_count: 1,
        ..Default::default()
    };
    let mut wait = uapi::drm_tern_wait {
        deadline_ns: crate::sys::monotonic_ns() + 1_000_000,
        ..Default::default()
    };
    let mut imp = uapi::drm_prime_handle {
        fd: dmabuf.as_ref().map_or(-1, |d| d.as_raw_fd()),
        ..Default::default()
    };
    let mut close = uapi::drm_gem_close {
        handle,
        ..Default::default()
    };
    let (fd, sh) = (f.raw(), ctx.shared());
    let call = |req: u64, arg: usize| {
        sh.count_ioctl();
        sys::ioctl(fd, req, arg)
    };
    let pid = sys::fork();
    if pid == 0 {
        call(drm::BO_INFO, &mut info as *mut _ as usize);
        if call(drm::SUBMIT, &mut sub as *mut _ as usize) == 0 {
            (wait.queue, wait.seqno) = (sub.queue, sub.seqno);
            call(drm::WAIT, &mut wait as *mut _ as usize);
        }
        if imp.fd >= 0 {
            call(drm::PRIME_FD_TO_HANDLE, &mut imp as *mut _ as usize);
        }
        if let Some(m) = &canary {
            let mut x = 0u64;
            for o in (0..m.len()).step_by(4096) {
                x ^= m.read_u64(o);
            }
            std::hint::black_box(x);
        }
        if close_bo {
            call(drm::GEM_CLOSE, &mut close as *mut _ as usize);
        }
        if close_fd {
            sys::close(fd);
        }
        sys::exit_now(0);
    }
    if pid < 0 {
        return;
    }
    sh.forks.fetch_add(1, Relaxed);
    let start = sys::now_ns();
    let mut killed = false;
    loop {
        sh.beat(ctx.p.idx, ctx.t);
        if let Some((_, st)) = sys::try_wait(pid) {
            if libc::WIFSIGNALED(st) && !killed {
                let sig = libc::WTERMSIG(st);
                ctx.finding(format!(
                    "fork child (file={}) killed by signal {sig} ({})",
                    f.label,
                    sys::signal_name(sig)
                ));
            } else if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) != 0 {
                ctx.finding(format!("fork child exited with {}", libc::WEXITSTATUS(st)));
            }
            break;
        }
        let age = sys::now_ns() - start;
        if !killed && age > CHILD_LIMIT_NS {
            ctx.finding(format!(
                "fork child (file={}) made no progress for 30 s: hung in an ioctl or at exit",
                f.label
            ));
            sys::kill(pid, libc::SIGKILL);
            killed = true;
        }
        if killed && age > CHILD_LIMIT_NS + 10_000_000_000 {
            ctx.finding("fork child did not die after SIGKILL (stuck in the kernel)".into());
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    drop((bo, dmabuf));
}

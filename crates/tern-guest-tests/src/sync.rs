// SPDX-License-Identifier: MIT OR Apache-2.0
//! Job fences: dependency chains through syncobjs across queues, files and processes,
//! sync_file out-fences, timelines, implicit sync through shared buffers, dependencies that
//! never signal, error propagation and fdinfo.
//!
//! The jobs are held back by fences of a software timeline (`fence::Timeline`) that the test
//! advances, so what must wait is seen waiting, deterministically.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use tern::{
    Buffer, BufferFlags, Device, Job, JobStatus, Submit, SyncObj, SyncPoint, deadline_after,
    monotonic_ns,
};

use crate::fence::{self, Timeline};
use crate::ktap::{Outcome, check};

const T: Duration = Duration::from_secs(30);
const ARG_BLOCK_VA: u64 = tern::ARG_BLOCK_VA;

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn open() -> Result<Device, String> {
    Device::open_first().map_err(s)
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

/// A copy program of a file, with its argument block (one per file: it sits at a fixed VA).
struct Copier<'d> {
    dev: &'d Device,
    _block: Buffer<'d>,
    prog: Buffer<'d>,
    len: u32,
}

impl<'d> Copier<'d> {
    fn new(dev: &'d Device, dst: u64, src: u64, n: u64) -> Result<Self, String> {
        let code = tern_asm::assemble_bytes(include_str!("../../../kernels/copy.s")).map_err(s)?;
        let ro = BufferFlags {
            device_readonly: true,
            fixed_va: Some(ARG_BLOCK_VA),
        };
        let mut block = dev.create_buffer(4096, ro).map_err(s)?;
        for (i, w) in [dst, src, n].iter().enumerate() {
            block.bytes().map_err(s)?[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        let mut prog = dev
            .create_buffer(code.len() as u64, BufferFlags::default())
            .map_err(s)?;
        prog.bytes().map_err(s)?[..code.len()].copy_from_slice(&code);
        Ok(Copier {
            dev,
            _block: block,
            prog,
            len: code.len() as u32,
        })
    }

    /// Submits the copy; `writes`/`reads` are the buffers it declares (implicit sync).
    fn submit(
        &self,
        queue: u32,
        waits: &[SyncPoint],
        signals: &[SyncPoint],
        writes: &[&Buffer<'d>],
        reads: &[&Buffer<'d>],
    ) -> Result<Job, String> {
        self.dev
            .submit(&Submit {
                queue,
                program: Some(&self.prog),
                len: self.len,
                buffers: writes,
                reads,
                waits,
                signals,
                ..Default::default()
            })
            .map_err(s)
    }
}

/// A binary syncobj of `dev` holding a fence of `tl` at `value`.
fn gate<'d>(dev: &'d Device, tl: &Timeline, value: u32) -> Result<SyncObj<'d>, String> {
    let g = dev.create_syncobj(false).map_err(s)?;
    g.import_sync_file(&tl.fence(value)?).map_err(s)?;
    Ok(g)
}

/// A NOP job on queue 0 of `dev` held back by a fence of a new timeline, which releases it at 1.
fn held_nop(dev: &Device) -> Result<(Timeline, SyncObj<'_>, Job), String> {
    let tl = Timeline::open()?;
    let g = gate(dev, &tl, 1)?;
    let j = dev
        .submit(&Submit {
            waits: &[g.at(0)],
            ..Default::default()
        })
        .map_err(s)?;
    Ok((tl, g, j))
}

/// Fails unless `job` is still pending: a wait with a deadline in the past times out.
fn pending(dev: &Device, job: Job, what: &str) -> Outcome {
    match dev.wait_until(job, monotonic_ns()) {
        Err(tern::Error::Timeout { .. }) => Ok(()),
        other => Err(format!("{what}: should still wait, got {other:?}")),
    }
}

fn done(dev: &Device, job: Job, what: &str) -> Result<JobStatus, String> {
    dev.wait(job, T)
        .map(|c| c.status)
        .map_err(|e| format!("{what}: {e}"))
}

/// Moves a syncobj from one file to another through a file descriptor, as between processes.
fn share<'d>(from: &SyncObj<'_>, to: &'d Device) -> Result<SyncObj<'d>, String> {
    to.import_syncobj(&from.export().map_err(s)?).map_err(s)
}

pub fn syncobj_chain_across_queues_and_files() -> Outcome {
    let (d1, d2, d3) = (open()?, open()?, open()?);
    let n = 1 << 20;
    let data = pattern(n, 7);
    let mut src = d1
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    src.bytes().map_err(s)?[..n].copy_from_slice(&data);
    let mid1 = d1
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    let mid1_in_2 = d2.import_buffer(&mid1.export().map_err(s)?).map_err(s)?;
    let mid2 = d2
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    let mid2_in_3 = d3.import_buffer(&mid2.export().map_err(s)?).map_err(s)?;
    let mut dst = d3
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    let c1 = Copier::new(&d1, mid1.va(), src.va(), n as u64)?;
    let c2 = Copier::new(&d2, mid2.va(), mid1_in_2.va(), n as u64)?;
    let c3 = Copier::new(&d3, dst.va(), mid2_in_3.va(), n as u64)?;

    let tl = Timeline::open()?;
    let g = gate(&d1, &tl, 1)?;
    let s1 = d1.create_syncobj(false).map_err(s)?;
    let s1_in_2 = share(&s1, &d2)?;
    let s2 = d2.create_syncobj(false).map_err(s)?;
    let s2_in_3 = share(&s2, &d3)?;
    // No buffer is declared: only the syncobjs order the jobs.
    let j1 = c1.submit(0, &[g.at(0)], &[s1.at(0)], &[], &[])?;
    let j2 = c2.submit(1, &[s1_in_2.at(0)], &[s2.at(0)], &[], &[])?;
    let (j3, out) = d3
        .submit_with_fence(&Submit {
            queue: 2,
            program: Some(&c3.prog),
            len: c3.len,
            waits: &[s2_in_3.at(0)],
            ..Default::default()
        })
        .map_err(s)?;
    pending(&d1, j1, "job 1 behind the gate")?;
    pending(&d2, j2, "job 2 behind job 1")?;
    pending(&d3, j3, "job 3 behind job 2")?;
    check(!fence::poll_ready(&out, Duration::from_millis(50)), || {
        "the sync_file of job 3 polls ready before its chain ran".into()
    })?;
    check(fence::status(&out)? == 0, || {
        "sync_file status not pending".into()
    })?;
    tl.inc(1)?;
    for (d, j, what) in [(&d1, j1, "job 1"), (&d2, j2, "job 2"), (&d3, j3, "job 3")] {
        let st = done(d, j, what)?;
        check(st == JobStatus::Done, || format!("{what}: {st}"))?;
    }
    check(fence::poll_ready(&out, T), || {
        "the sync_file of job 3 never polled ready".into()
    })?;
    check(fence::status(&out)? == 1, || {
        "sync_file status not signalled".into()
    })?;
    check(dst.bytes().map_err(s)?[..n] == data[..], || {
        "the chain's output differs: a job ran before its dependency".into()
    })
}

pub fn timeline_points_signal_in_order() -> Outcome {
    let d = open()?;
    let tl = Timeline::open()?;
    let g = gate(&d, &tl, 1)?;
    let line = d.create_syncobj(false).map_err(s)?;
    let nop = |queue, waits: &[SyncPoint], signals: &[SyncPoint]| {
        d.submit(&Submit {
            queue,
            waits,
            signals,
            ..Default::default()
        })
        .map_err(s)
    };
    // Point 1 waits behind the gate; point 2's job runs at once, out of order.
    let a = nop(0, &[g.at(0)], &[line.at(1)])?;
    let b = nop(1, &[], &[line.at(2)])?;
    let st = done(&d, b, "point 2's job")?;
    check(st == JobStatus::Done, || format!("point 2's job: {st}"))?;
    check(line.query().map_err(s)? == 0, || {
        "the timeline passed point 1 while its job waits".into()
    })?;
    // A job that waits for point 2 waits for point 1 too.
    let c = nop(2, &[line.at(2)], &[])?;
    pending(&d, c, "job on point 2 while point 1 is pending")?;
    let r = d.wait_syncobjs(&[line.at(2)], monotonic_ns(), false, false);
    check(matches!(r, Err(tern::Error::Timeout { .. })), || {
        format!("waiting for point 2 while point 1 is pending: {r:?}")
    })?;

    // Wait before submit: point 4 has no fence yet; the wait needs WAIT_FOR_SUBMIT, and then
    // returns once a job for the point has been submitted and has signalled it. Point 4 of
    // `line` is added now, behind the pending point 1.
    let r = d.wait_syncobjs(&[line.at(4)], monotonic_ns(), false, false);
    check(
        matches!(&r, Err(e) if e.errno() == Some(libc::EINVAL)),
        || format!("waiting for an unsubmitted point without WAIT_FOR_SUBMIT: {r:?}"),
    )?;
    nop(3, &[], &[line.at(4)])?;
    let other = d.create_syncobj(false).map_err(s)?;
    let t0 = std::time::Instant::now();
    let waited = std::thread::scope(|sc| {
        let h = sc.spawn(|| d.wait_syncobjs(&[other.at(1)], deadline_after(T), false, true));
        std::thread::sleep(Duration::from_millis(200));
        let sub = nop(3, &[], &[other.at(1)]);
        (sub, h.join())
    });
    waited.0?;
    match waited.1 {
        Ok(Err(e)) => return Err(format!("wait-before-submit on point 1: {e}")),
        Err(_) => return Err("the waiting thread panicked".into()),
        Ok(Ok(())) => {}
    }
    check(t0.elapsed() >= Duration::from_millis(200), || {
        "the wait-before-submit returned before the point was submitted".into()
    })?;
    check(line.query().map_err(s)? == 0, || {
        "point 4 counted while point 1 is pending".into()
    })?;
    tl.inc(1)?;
    for (j, what) in [(a, "point 1's job"), (c, "the job on point 2")] {
        let st = done(&d, j, what)?;
        check(st == JobStatus::Done, || format!("{what}: {st}"))?;
    }
    d.wait_syncobjs(&[line.at(4)], deadline_after(T), false, false)
        .map_err(s)?;
    check(line.query().map_err(s)? == 4, || {
        format!("timeline at {:?}, want 4", line.query())
    })
}

pub fn dependency_that_never_signals() -> Outcome {
    let tl = Timeline::open()?;
    let other = open()?;
    let (f1, f2);
    {
        let d = open()?;
        let g = gate(&d, &tl, 1)?;
        let (j1, out1) = d
            .submit_with_fence(&Submit {
                waits: &[g.at(0)],
                ..Default::default()
            })
            .map_err(s)?;
        let (j2, out2) = d.submit_with_fence(&Submit::default()).map_err(s)?;
        pending(&d, j1, "the job behind the fence")?;
        // Jobs of one file on one queue run in order.
        pending(&d, j2, "the next job of the same file and queue")?;
        // Other queues of the file, and other files on the queue, go on.
        let st = d
            .run(
                &Submit {
                    queue: 1,
                    ..Default::default()
                },
                T,
            )
            .map_err(s)?
            .status;
        check(st == JobStatus::Done, || {
            format!("same file, queue 1: {st}")
        })?;
        let st = other.run(&Submit::default(), T).map_err(s)?.status;
        check(st == JobStatus::Done, || {
            format!("other file, queue 0: {st}")
        })?;
        pending(&d, j1, "the job behind the fence, later")?;
        (f1, f2) = (out1, out2);
        // Closing the file cancels both.
    }
    for (f, what) in [(&f1, "the job behind the fence"), (&f2, "the job after it")] {
        check(fence::poll_ready(f, T), || {
            format!("{what}: not ended by the close")
        })?;
        let st = fence::status(f)?;
        check(st == -libc::ECANCELED, || {
            format!("{what}: fence status {st}, want -ECANCELED")
        })?;
    }
    tl.inc(1)
}

pub fn errors_propagate_to_dependents() -> Outcome {
    let d = open()?;
    // A fence that fails: closing its timeline signals it with -ENOENT.
    let (tl, _g, j) = held_nop(&d)?;
    drop(tl);
    let st = done(&d, j, "the job on a failed fence")?;
    check(
        st == JobStatus::Skipped {
            errno: libc::ENOENT as u32,
        },
        || format!("the job on a failed fence: {st}"),
    )?;

    // A faulting job: its fence carries -EFAULT, its dependents are skipped with it.
    let code = tern_asm::assemble_bytes("ld r1, r0, 8\nhalt\n").map_err(s)?;
    let mut prog = d.create_buffer(4096, BufferFlags::default()).map_err(s)?;
    prog.bytes().map_err(s)?[..code.len()].copy_from_slice(&code);
    let (s1, s2) = (
        d.create_syncobj(false).map_err(s)?,
        d.create_syncobj(false).map_err(s)?,
    );
    let (a, out) = d
        .submit_with_fence(&Submit {
            program: Some(&prog),
            len: code.len() as u32,
            signals: &[s1.at(0)],
            ..Default::default()
        })
        .map_err(s)?;
    let b = d
        .submit(&Submit {
            queue: 1,
            waits: &[s1.at(0)],
            signals: &[s2.at(0)],
            ..Default::default()
        })
        .map_err(s)?;
    let c = d
        .submit(&Submit {
            queue: 2,
            waits: &[s2.at(0)],
            ..Default::default()
        })
        .map_err(s)?;
    let st = done(&d, a, "the faulting job")?;
    check(matches!(st, JobStatus::MmuFault { va: 8 }), || {
        format!("the faulting job: {st}")
    })?;
    check(fence::poll_ready(&out, T), || {
        "its sync_file never signalled".into()
    })?;
    let fs = fence::status(&out)?;
    check(fs == -libc::EFAULT, || {
        format!("the faulting job's fence: status {fs}, want -EFAULT")
    })?;
    let skipped = JobStatus::Skipped {
        errno: libc::EFAULT as u32,
    };
    for (j, what) in [(b, "its dependent"), (c, "the dependent of its dependent")] {
        let st = done(&d, j, what)?;
        check(st == skipped, || format!("{what}: {st}, want {skipped}"))?;
    }
    // A failed wait leaves the syncobj signalled with the error, not pending.
    d.wait_syncobjs(&[s2.at(0)], deadline_after(T), false, false)
        .map_err(s)
}

/// Writes one byte to a pipe.
fn send(fd: &OwnedFd) {
    // SAFETY: one byte from a valid buffer.
    unsafe { libc::write(fd.as_raw_fd(), b"x".as_ptr().cast(), 1) };
}

/// Reads one byte from a pipe; false at end of file.
fn recv(fd: &OwnedFd) -> bool {
    let mut b = 0u8;
    // SAFETY: one byte into a valid buffer.
    unsafe { libc::read(fd.as_raw_fd(), (&mut b as *mut u8).cast(), 1) == 1 }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let mut p = [0; 2];
    // SAFETY: `p` has room for two descriptors.
    if unsafe { libc::pipe(p.as_mut_ptr()) } != 0 {
        return Err("pipe failed".into());
    }
    // SAFETY: pipe() returned two new descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) })
}

/// The reader process of `implicit_sync_between_processes`.
fn reader(
    buf: OwnedFd,
    n: usize,
    want: &[u8],
    to_parent: &OwnedFd,
    from_parent: &OwnedFd,
) -> Outcome {
    let d = open()?;
    let shared = d.import_buffer(&buf).map_err(s)?;
    let mut out = d
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    let c = Copier::new(&d, out.va(), shared.va(), n as u64)?;
    // Read after write: no fence is passed; the buffer's reservation orders the jobs.
    let r = c.submit(0, &[], &[], &[&out], &[&shared])?;
    pending(&d, r, "the reader behind the other process's writer")?;
    send(to_parent);
    let st = done(&d, r, "the reader")?;
    check(st == JobStatus::Done, || format!("the reader: {st}"))?;
    check(out.bytes().map_err(s)?[..n] == want[..], || {
        "the reader did not see the writer's data".into()
    })?;
    // Write after read: this reader is held back by its own fence; the other process's writer
    // must wait for it.
    out.bytes().map_err(s)?.fill(0);
    let tl = Timeline::open()?;
    let g = gate(&d, &tl, 1)?;
    let r2 = c.submit(0, &[g.at(0)], &[], &[&out], &[&shared])?;
    send(to_parent);
    if !recv(from_parent) {
        return Err("the parent went away".into());
    }
    tl.inc(1)?;
    let st = done(&d, r2, "the second reader")?;
    check(st == JobStatus::Done, || format!("the second reader: {st}"))?;
    check(out.bytes().map_err(s)?[..n] == want[..], || {
        "the writer overwrote the buffer before the reader had read it".into()
    })
}

pub fn implicit_sync_between_processes() -> Outcome {
    let n = 1 << 20;
    let (first, second) = (pattern(n, 3), pattern(n, 100));
    let d = open()?;
    let mut src = d
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    src.bytes().map_err(s)?[..n].copy_from_slice(&first);
    let mut shared = d
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    let c = Copier::new(&d, shared.va(), src.va(), n as u64)?;
    let tl = Timeline::open()?;
    let g = gate(&d, &tl, 1)?;
    let w = c.submit(1, &[g.at(0)], &[], &[&shared], &[&src])?;
    let dmabuf = shared.export().map_err(s)?;
    let (up_r, up_w) = pipe()?;
    let (down_r, down_w) = pipe()?;
    // SAFETY: the test binary runs one thread here; the child only runs Rust code of this
    // test and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err("fork failed".into());
    }
    if pid == 0 {
        let r = reader(dmabuf, n, &first, &up_w, &down_r);
        if let Err(e) = &r {
            eprintln!("reader process: {e}");
        }
        // SAFETY: leaves the child at once, without running the parent's destructors.
        unsafe { libc::_exit(i32::from(r.is_err())) };
    }
    drop(dmabuf);
    let mut run = || -> Outcome {
        check(recv(&up_r), || {
            "the reader process died before its job waited".into()
        })?;
        pending(&d, w, "the writer behind the gate")?;
        tl.inc(1)?;
        let st = done(&d, w, "the writer")?;
        check(st == JobStatus::Done, || format!("the writer: {st}"))?;
        // The reader process has its second reader waiting; overwrite the buffer.
        check(recv(&up_r), || "the reader process died".into())?;
        src.bytes().map_err(s)?[..n].copy_from_slice(&second);
        let w2 = c.submit(2, &[], &[], &[&shared], &[&src])?;
        pending(&d, w2, "the writer behind the other process's reader")?;
        send(&down_w);
        let st = done(&d, w2, "the second writer")?;
        check(st == JobStatus::Done, || format!("the second writer: {st}"))?;
        check(shared.bytes().map_err(s)?[..n] == second[..], || {
            "the second writer's data is not in the buffer".into()
        })
    };
    let r = run();
    drop(down_w);
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    r?;
    check(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        || format!("the reader process failed (status {status:#x}; its stderr is in the log)"),
    )
}

pub fn fdinfo_reports_usage_stats() -> Outcome {
    let d = open()?;
    let buf = d
        .create_buffer(1 << 20, BufferFlags::default())
        .map_err(s)?;
    let code = tern_asm::assemble_bytes("li r1, 20000\ntop: addi r1, r1, -1\nbnz r1, top\nhalt\n")
        .map_err(s)?;
    let mut prog = d.create_buffer(4096, BufferFlags::default()).map_err(s)?;
    prog.bytes().map_err(s)?[..code.len()].copy_from_slice(&code);
    let c = d
        .run(
            &Submit {
                queue: 2,
                program: Some(&prog),
                len: code.len() as u32,
                ..Default::default()
            },
            T,
        )
        .map_err(s)?;
    check(c.status == JobStatus::Done, || {
        format!("loop job: {}", c.status)
    })?;
    let path = format!(
        "/proc/self/fdinfo/{}",
        std::os::fd::AsFd::as_fd(&d).as_raw_fd()
    );
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let key = |k: &str| -> Option<&str> {
        text.lines()
            .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')))
            .map(str::trim)
    };
    check(key("drm-driver") == Some("tern"), || {
        format!("no drm-driver: tern in\n{text}")
    })?;
    let busy: u64 = key("drm-engine-queue2")
        .and_then(|v| v.strip_suffix(" ns"))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no drm-engine-queue2 in ns in\n{text}"))?;
    check(busy >= c.duration.as_nanos() as u64 && busy > 0, || {
        format!(
            "drm-engine-queue2 {busy} ns, the job alone took {:?}",
            c.duration
        )
    })?;
    let total: u64 = key("drm-total-memory")
        .and_then(|v| v.strip_suffix(" KiB"))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no drm-total-memory in KiB in\n{text}"))?;
    check(total >= buf.size() / 1024, || {
        format!("drm-total-memory {total} KiB, below the 1 MiB buffer")
    })?;
    check(
        key("drm-engine-queue0").is_some() && key("tern-context").is_some(),
        || format!("missing keys in\n{text}"),
    )
}

extern "C" fn on_alarm(_: libc::c_int) {}

/// Arms a 20 ms interval timer whose SIGALRM interrupts system calls (no `SA_RESTART`), or
/// disarms it.
fn alarms(on: bool) {
    // SAFETY: a plain sigaction for SIGALRM with a handler that does nothing, and an interval
    // timer; both only affect this process.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = if on {
            on_alarm as extern "C" fn(libc::c_int) as usize
        } else {
            libc::SIG_IGN
        };
        libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut());
        let tick = libc::timeval {
            tv_sec: 0,
            tv_usec: if on { 20_000 } else { 0 },
        };
        let it = libc::itimerval {
            it_interval: tick,
            it_value: tick,
        };
        libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut());
    }
}

pub fn wait_deadline_survives_signals() -> Outcome {
    let d = open()?;
    let (tl, _g, j) = held_nop(&d)?;
    // Signals every 20 ms interrupt the wait; the library retries, as libdrm does, with the
    // same arguments. With an absolute deadline the wait still ends at the deadline.
    let budget = Duration::from_millis(400);
    alarms(true);
    let t0 = std::time::Instant::now();
    let r = d.wait(j, budget);
    let took = t0.elapsed();
    alarms(false);
    check(matches!(r, Err(tern::Error::Timeout { .. })), || {
        format!("wait on a held job: {r:?}, want a timeout")
    })?;
    check(took >= budget && took < budget * 4, || {
        format!("a {budget:?} wait interrupted every 20 ms took {took:?}")
    })?;
    tl.inc(1)?;
    let st = done(&d, j, "the held job")?;
    check(st == JobStatus::Done, || format!("the held job: {st}"))
}

/// The child of `syncobj_and_sync_file_across_processes`: waits for the parent's job through an
/// inherited syncobj descriptor and polls its inherited sync_file.
fn chained_child(
    sync: OwnedFd,
    out: &OwnedFd,
    buf: OwnedFd,
    n: usize,
    want: &[u8],
    up: &OwnedFd,
) -> Outcome {
    let d = open()?;
    let s1 = d.import_syncobj(&sync).map_err(s)?;
    let shared = d.import_buffer(&buf).map_err(s)?;
    let mut dst = d
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    let c = Copier::new(&d, dst.va(), shared.va(), n as u64)?;
    // Only the syncobj orders this job after the parent's: no buffer is declared.
    let j = c.submit(3, &[s1.at(0)], &[], &[], &[])?;
    pending(&d, j, "the child's job behind the parent's")?;
    check(!fence::poll_ready(out, Duration::from_millis(20)), || {
        "the parent's sync_file polls ready while its job is held".into()
    })?;
    send(up);
    check(fence::poll_ready(out, T), || {
        "the parent's sync_file never signalled".into()
    })?;
    let st = done(&d, j, "the child's job")?;
    check(st == JobStatus::Done, || format!("the child's job: {st}"))?;
    check(dst.bytes().map_err(s)?[..n] == want[..], || {
        "the child's job ran before the parent's had written".into()
    })
}

pub fn syncobj_and_sync_file_across_processes() -> Outcome {
    let n = 1 << 20;
    let data = pattern(n, 42);
    let d = open()?;
    let mut src = d
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    src.bytes().map_err(s)?[..n].copy_from_slice(&data);
    let shared = d
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    let c = Copier::new(&d, shared.va(), src.va(), n as u64)?;
    let tl = Timeline::open()?;
    let g = gate(&d, &tl, 1)?;
    let s1 = d.create_syncobj(false).map_err(s)?;
    let (w, out) = d
        .submit_with_fence(&Submit {
            queue: 1,
            program: Some(&c.prog),
            len: c.len,
            waits: &[g.at(0)],
            signals: &[s1.at(0)],
            ..Default::default()
        })
        .map_err(s)?;
    let (sync_fd, buf_fd) = (s1.export().map_err(s)?, shared.export().map_err(s)?);
    let (up_r, up_w) = pipe()?;
    // SAFETY: as in `implicit_sync_between_processes`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err("fork failed".into());
    }
    if pid == 0 {
        let r = chained_child(sync_fd, &out, buf_fd, n, &data, &up_w);
        if let Err(e) = &r {
            eprintln!("chained child: {e}");
        }
        // SAFETY: leaves the child at once, without running the parent's destructors.
        unsafe { libc::_exit(i32::from(r.is_err())) };
    }
    drop((sync_fd, buf_fd, up_w));
    let r = (|| -> Outcome {
        check(recv(&up_r), || {
            "the child died before its job waited".into()
        })?;
        pending(&d, w, "the parent's job behind the gate")?;
        tl.inc(1)?;
        let st = done(&d, w, "the parent's job")?;
        check(st == JobStatus::Done, || format!("the parent's job: {st}"))
    })();
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    r?;
    check(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        || format!("the child failed (status {status:#x}; its stderr is in the log)"),
    )
}

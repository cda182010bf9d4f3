// SPDX-License-Identifier: MIT OR Apache-2.0
//! Thin system-call wrappers: the fuzzer's only `unsafe` besides the mappings.
//!
//! Every pointer handed to the kernel here either points into memory this process owns and
//! that is large enough for what the request encodes, or is deliberately invalid (0, 0x1, a
//! kernel address) to exercise the driver's EFAULT paths. The kernel validates all of them.

use std::os::fd::RawFd;

/// The calling thread's errno after a failed call.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
}

/// `ioctl(fd, req, arg)`: 0 on success, else the errno. Never retried.
pub fn ioctl(fd: RawFd, req: u64, arg: usize) -> i32 {
    // SAFETY: `arg` is an address owned by this process with room for the size `req`
    // encodes, or deliberately invalid; the kernel checks user pointers before use.
    let r = unsafe { libc::ioctl(fd, req as _, arg as *mut libc::c_void) };
    if r < 0 { errno() } else { 0 }
}

/// `mmap(NULL, len, prot, MAP_SHARED, fd, off)`; `fd` < 0 maps anonymous shared memory.
pub fn mmap(fd: RawFd, len: usize, prot: i32, off: u64) -> Result<usize, i32> {
    let flags = if fd < 0 {
        libc::MAP_SHARED | libc::MAP_ANONYMOUS
    } else {
        libc::MAP_SHARED
    };
    // SAFETY: the kernel picks a fresh address, so no existing memory is replaced.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            flags,
            fd,
            off as libc::off_t,
        )
    };
    if p == libc::MAP_FAILED {
        Err(errno())
    } else {
        Ok(p as usize)
    }
}

/// `munmap`, for mappings made by [`mmap`] and owned by the caller.
pub fn munmap(p: usize, len: usize) {
    // SAFETY: the caller owns this mapping and drops every use of it before unmapping.
    unsafe { libc::munmap(p as *mut libc::c_void, len) };
}

/// Makes `len` bytes at `p` (page-aligned, owned by the caller) inaccessible.
pub fn protect_none(p: usize, len: usize) -> i32 {
    // SAFETY: the caller owns the range and never accesses it afterwards.
    let r = unsafe { libc::mprotect(p as *mut libc::c_void, len, libc::PROT_NONE) };
    if r < 0 { errno() } else { 0 }
}

/// `close(fd)` for a descriptor the caller owns and nothing else refers to.
pub fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd`; closing it affects nothing else in this process.
    unsafe { libc::close(fd) };
}

/// `fork()`: the child gets 0.
pub fn fork() -> i32 {
    // SAFETY: the callers' children run only async-signal-safe code (raw system calls on
    // data prepared before the fork) or, when the parent is single-threaded, anything.
    unsafe { libc::fork() }
}

/// Ends the process at once, without running destructors or atexit handlers.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is always safe to call; it does not return.
    unsafe { libc::_exit(code) }
}

/// `waitpid(pid, WNOHANG)`: `Some((pid, status))` when a child changed state.
pub fn try_wait(pid: i32) -> Option<(i32, i32)> {
    let mut st = 0;
    // SAFETY: `st` is a valid out pointer.
    let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
    (r > 0).then_some((r, st))
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: signals only our own children.
    unsafe { libc::kill(pid, sig) };
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process of the run.
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Name of a signal for messages.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGSYS => "SIGSYS",
        libc::SIGTRAP => "SIGTRAP",
        _ => "signal",
    }
}

/// Nanoseconds of `CLOCK_MONOTONIC` now, the clock of the uAPI's deadlines.
pub fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, exclusively borrowed timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec)
}

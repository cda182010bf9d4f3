// SPDX-License-Identifier: GPL-2.0

//! The job ioctls: SUBMIT, WAIT and SET_PRIORITY (`uapi/drm/tern_accel.h`).
//!
//! As in `ioctl.rs`, every handler checks all of its input before it changes anything.

use kernel::{
    cred::{
        self,
        Capability, //
    },
    dma_fence::Fence,
    dma_resv::{
        DmaResv,
        DmaResvSet,
        Usage, //
    },
    drm::{
        gem::BaseObject,
        syncobj::{
            self,
            FenceChain,
            SyncObj, //
        },
    },
    prelude::*,
    sync::aref::ARef,
    sync_file::SyncFileFd,
    time::{
        msecs_to_jiffies,
        Instant,
        Jiffies,
        Monotonic, //
    },
    transmute::FromBytes,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::{
    driver::Hw,
    gem::TernBo,
    ioctl::{
        Dev,
        DrmFile, //
    },
    job::{
        Job,
        JobResult,
        Lookup, //
    },
    queue::{
        Descriptor,
        PendingJob, //
    },
    regs::{
        self,
        NUM_QUEUES, //
    },
    uapi::{
        self,
        UserEntry, //
    },
};

/// Most buffer handles in one submission.
pub(crate) const MAX_SUBMIT_BOS: u32 = 64;

/// Reads `count` entries of type `T` from the user array at `addr`.
pub(crate) fn read_array<T>(addr: u64, count: u32) -> Result<KVec<T>>
where
    UserEntry<T>: FromBytes,
{
    // CAST: At most `DRM_TERN_MAX_SYNCS` or `MAX_SUBMIT_BOS` entries.
    let count = count as usize;
    let mut out = KVec::with_capacity(count, GFP_KERNEL)?;
    // CAST: A user pointer is an address.
    let mut reader =
        UserSlice::new(UserPtr::from_addr(addr as usize), count * size_of::<T>()).reader();
    for _ in 0..count {
        out.push(reader.read::<UserEntry<T>>()?.0, GFP_KERNEL)?;
    }
    Ok(out)
}

/// Adds `fence` to `deps` unless it has signalled without an error (one that failed stays: the
/// job is skipped) or a later fence of its context is there.
fn add_dep(deps: &mut KVec<ARef<Fence>>, fence: ARef<Fence>) -> Result {
    if fence.is_signaled() && fence.status() == Some(Ok(())) {
        return Ok(());
    }
    if let Some(d) = deps.iter_mut().find(|d| d.context() == fence.context()) {
        if fence.is_later(d) {
            *d = fence;
        }
        return Ok(());
    }
    deps.push(fence, GFP_KERNEL)?;
    Ok(())
}

/// A syncobj a job signals, with the chain node of its timeline point.
struct Signal {
    syncobj: ARef<SyncObj>,
    point: Option<(u64, FenceChain)>,
}

/// `DRM_IOCTL_TERN_SUBMIT`.
pub(crate) fn submit(
    _dev: &Dev,
    hw: &Hw<'_>,
    s: &mut uapi::drm_tern_submit,
    file: &DrmFile,
) -> Result<u32> {
    check_submit(s)?;
    queue_job(hw, s, file, true)?;
    Ok(0)
}

/// The checks of SUBMIT's own fields: flags, queue, lengths, offsets, counts, MBZ fields and
/// outputs.
pub(crate) fn check_submit(s: &uapi::drm_tern_submit) -> Result {
    // CAST: 4 queues.
    if s.flags & !uapi::DRM_TERN_SUBMIT_FLAGS != 0
        || s.queue >= NUM_QUEUES as u32
        || s.cmd_len % 8 != 0
        || s.cmd_len > regs::MAX_CMD_LEN
        || s.cmd_offset % 8 != 0
        || s.bo_count > MAX_SUBMIT_BOS
        || s.wait_count > uapi::DRM_TERN_MAX_SYNCS
        || s.signal_count > uapi::DRM_TERN_MAX_SYNCS
        || s.seqno != 0
        || s.out_fence_fd != 0
        || s.pad != 0
    {
        return Err(EINVAL);
    }
    Ok(())
}

/// The arrays a SUBMIT points to, read and checked (usages, sync flags).
struct SubmitArrays {
    refs: KVec<uapi::drm_tern_bo_ref>,
    waits: KVec<uapi::drm_tern_sync>,
    signals: KVec<uapi::drm_tern_sync>,
}

impl SubmitArrays {
    /// Reads the arrays of a checked SUBMIT: `-EFAULT` if unreadable, `-EINVAL` for a bad usage
    /// or sync flags.
    fn read(s: &uapi::drm_tern_submit) -> Result<Self> {
        let refs: KVec<uapi::drm_tern_bo_ref> = read_array(s.bos, s.bo_count)?;
        let waits: KVec<uapi::drm_tern_sync> = read_array(s.waits, s.wait_count)?;
        let signals: KVec<uapi::drm_tern_sync> = read_array(s.signals, s.signal_count)?;
        let bad_usage = |u: u32| u == 0 || u & !uapi::DRM_TERN_BO_USAGE != 0;
        if refs.iter().any(|r| bad_usage(r.usage))
            || waits.iter().any(|w| w.flags != 0)
            || signals.iter().any(|w| w.flags != 0)
        {
            return Err(EINVAL);
        }
        Ok(Self {
            refs,
            waits,
            signals,
        })
    }
}

//@ step batch {
/// Reads the arrays of a checked SUBMIT and looks up its handles, as [`queue_job`] does, but
/// changes nothing: what a batch checks of every entry before it queues any.
pub(crate) fn precheck_submit(s: &uapi::drm_tern_submit, file: &DrmFile) -> Result {
    let SubmitArrays {
        refs,
        waits,
        signals,
    } = SubmitArrays::read(s)?;
    for r in refs.iter() {
        TernBo::lookup_handle(file, r.handle)?;
    }
    for sync in Iterator::chain(waits.iter(), signals.iter()) {
        SyncObj::lookup(file, sync.handle)?;
    }
    if s.cmd_handle != 0 || s.cmd_len != 0 {
        program_bo(s, file)?;
    }
    Ok(())
}
//@ }

/// The buffer holding a SUBMIT's program, which must lie inside it.
fn program_bo(s: &uapi::drm_tern_submit, file: &DrmFile) -> Result<ARef<TernBo>> {
    let bo = TernBo::lookup_handle(file, s.cmd_handle)?;
    // CAST: usize and u64 have the same width on 64-bit machines.
    let size = bo.size() as u64;
    let end = s.cmd_offset.checked_add(u64::from(s.cmd_len));
    if s.cmd_offset >= size || end.is_none_or(|end| end > size) {
        return Err(EINVAL);
    }
    Ok(bo)
}

/// Queues the job of a checked SUBMIT and writes its outputs into `s`; runs the scheduler
/// when `schedule` is set (a batch runs it once, at its end).
///
/// Returns the job's queue. An error changes nothing.
pub(crate) fn queue_job(
    hw: &Hw<'_>,
    s: &mut uapi::drm_tern_submit,
    file: &DrmFile,
    schedule: bool,
) -> Result<usize> {
    // CAST: Checked by `check_submit`.
    let queue_index = s.queue as usize;
    let queue = hw.shared.queues.get(queue_index).ok_or(EINVAL)?;
    // Until the job is recorded, a buffer closed meanwhile keeps its mapping: the job may use
    // its VA.
    let inner = file.inner();
    let _ticket = inner.ctx.begin_submit()?;

    let SubmitArrays {
        refs,
        waits,
        signals,
    } = SubmitArrays::read(s)?;

    // The buffers, each once, with the union of its usages.
    let mut bos: KVec<(ARef<TernBo>, u32)> = KVec::with_capacity(refs.len() + 1, GFP_KERNEL)?;
    for r in refs.iter() {
        let bo = TernBo::lookup_handle(file, r.handle)?;
        match bos.iter_mut().find(|(b, _)| core::ptr::eq(&**b, &*bo)) {
            Some((_, usage)) => *usage |= r.usage,
            None => bos.push((bo, r.usage), GFP_KERNEL)?,
        }
    }

    let mut deps = KVec::new();
    for w in waits.iter() {
        add_dep(&mut deps, syncobj::find_fence(file, w.handle, w.point)?)?;
    }
    let mut outs = KVec::with_capacity(signals.len(), GFP_KERNEL)?;
    for sig in signals.iter() {
        let syncobj = SyncObj::lookup(file, sig.handle)?;
        let point = match sig.point {
            0 => None,
            p => Some((p, FenceChain::new(GFP_KERNEL)?)),
        };
        outs.push(Signal { syncobj, point }, GFP_KERNEL)?;
    }

    let mut desc = Descriptor {
        context: inner.ctx.id(),
        cmd_va: 0,
        cmd_len: s.cmd_len,
        budget: s.budget,
        priority: inner.priority(),
    };
    let mut cmd = None;
    if s.cmd_handle != 0 || s.cmd_len != 0 {
        cmd = Some(program_bo(s, file)?);
    }

    //@ before recovery: // Fails once the device is gone.
    // Fails once the device is gone, and for a banned file. //@ step recovery
    hw.shared.bar.access(hw.pdev.as_ref())?;
    //@ step recovery {
    hw.shared.check_alive()?;
    if inner.jobs.banned() {
        return Err(EIO);
    }
    let program = cmd.as_ref().map(|bo| (bo.clone(), s.cmd_offset));
    //@ }
    let place = queue.reserve(inner.jobs.entity(queue_index))?;
    // Mapping the program's buffer (if this file has not mapped it yet) is the last step before
    // the buffers are locked; if a later step fails, the new mapping goes again.
    let mut mapped_here = None;
    if let Some(bo) = cmd {
        let (va, new) = inner.ctx.va_of(hw.pdev.as_ref(), &bo)?;
        desc.cmd_va = va + s.cmd_offset;
        if new {
            mapped_here = Some(bo.clone());
        }
        match bos.iter_mut().find(|(b, _)| core::ptr::eq(&**b, &*bo)) {
            Some((_, usage)) => *usage |= uapi::DRM_TERN_BO_READ,
            None => {
                let _ = bos.push_within_capacity((bo, uapi::DRM_TERN_BO_READ));
            }
        }
    }
    let unmap = || {
        if let Some(bo) = &mapped_here {
            inner.ctx.discard(bo);
        }
    };
    let writes = |usage: u32| usage & uapi::DRM_TERN_BO_WRITE != 0;

    // Implicit sync: under the buffers' locks, the job waits for their fences and then adds its
    // own, so that every other user of a buffer orders itself against this job.
    let mut objs: KVec<&DmaResv> = KVec::with_capacity(bos.len(), GFP_KERNEL)?;
    for (bo, _) in bos.iter() {
        objs.push(bo.resv(), GFP_KERNEL)?;
    }
    let mut lock = || -> Result<DmaResvSet<'_>> {
        let mut set = DmaResvSet::lock(&objs)?;
        set.reserve_fences(1)?;
        for (obj, (_, usage)) in objs.iter().zip(bos.iter()) {
            let of = if writes(*usage) {
                Usage::Read
            } else {
                Usage::Write
            };
            for f in obj.fences(of)? {
                add_dep(&mut deps, f)?;
            }
        }
        Ok(set)
    };
    let mut set = lock().inspect_err(|_| unmap())?;
    let fence = inner.jobs.add(queue_index).inspect_err(|_| unmap())?;
    let out = if s.flags & uapi::DRM_TERN_SUBMIT_OUT_FENCE_FD != 0 {
        match SyncFileFd::new(&fence) {
            Ok(out) => Some(out),
            Err(e) => {
                inner.jobs.forget(queue_index, fence);
                unmap();
                return Err(e);
            }
        }
    } else {
        None
    };

    // Nothing fails from here on.
    for (i, (_, usage)) in bos.iter().enumerate() {
        let usage = if writes(*usage) {
            Usage::Write
        } else {
            Usage::Read
        };
        // Cannot fail: room for a fence was made under the lock.
        let _ = set.add_fence(i, &fence, usage);
    }
    drop(set);
    drop(objs);
    for sig in outs {
        match sig.point {
            None => sig.syncobj.replace_fence(Some(&fence)),
            Some((point, chain)) => sig.syncobj.add_point(chain, &fence, point),
        }
    }
    let seqno = fence.seqno();
    let job = Job {
        seqno,
        fence,
        owner: inner.jobs.clone(),
        _ctx: inner.ctx.clone(),
        _bos: bos,
        program, //@ step recovery
    };
    place.commit(PendingJob::new(deps, desc, job));
    if schedule {
        queue.schedule(&hw.shared);
    }
    if let Some(out) = out {
        // CAST: Descriptors are small non-negative numbers.
        s.out_fence_fd = out.fd() as i32;
        out.install();
    }
    inner.count_submission();
    s.seqno = seqno;
    Ok(queue_index)
}

/// Copies a job result into the WAIT arguments.
fn fill(w: &mut uapi::drm_tern_wait, r: JobResult) {
    w.status = r.status;
    w.info = r.info;
    w.fault_va = r.fault_va;
    w.duration_ns = r.duration_ns;
}

/// Converts a relative time in nanoseconds into jiffies, rounding up.
fn ns_to_jiffies(ns: i64) -> Jiffies {
    if ns <= 0 {
        return 0;
    }
    // CAST: Positive.
    let ms = (ns as u64).div_ceil(1_000_000);
    msecs_to_jiffies(u32::try_from(ms).unwrap_or(u32::MAX))
}

/// `DRM_IOCTL_TERN_WAIT`.
pub(crate) fn wait(
    _dev: &Dev,
    //@ before recovery: _hw: &Hw<'_>,
    hw: &Hw<'_>, //@ step recovery
    w: &mut uapi::drm_tern_wait,
    file: &DrmFile,
) -> Result<u32> {
    //@ step recovery {
    // A wedged device answers nothing until the driver is rebound.
    hw.shared.check_alive()?;
    //@ }
    // CAST: 4 queues.
    if w.flags != 0
        || w.queue >= NUM_QUEUES as u32
        || w.deadline_ns < 0
        || w.status != 0
        || w.info != 0
        || w.fault_va != 0
        || w.duration_ns != 0
    {
        return Err(EINVAL);
    }
    // CAST: Checked above.
    let queue_index = w.queue as usize;
    let jobs = &file.inner().jobs;

    let fence = match jobs.lookup(queue_index, w.seqno) {
        Lookup::Unknown => return Err(EINVAL),
        Lookup::Done(r) => {
            fill(w, r);
            return Ok(0);
        }
        Lookup::Pending(fence) => fence,
    };
    // The deadline is absolute: a wait restarted after a signal waits for what is left.
    let left = w
        .deadline_ns
        .saturating_sub(Instant::<Monotonic>::now().as_nanos());
    fence.wait_timeout(true, ns_to_jiffies(left))?;
    match jobs.lookup(queue_index, w.seqno) {
        Lookup::Done(r) => {
            fill(w, r);
            Ok(0)
        }
        // The result is stored before the fence signals.
        _ => Err(ENODEV),
    }
}

/// `DRM_IOCTL_TERN_SET_PRIORITY`: the priority of the file's jobs from now on.
pub(crate) fn set_priority(
    _dev: &Dev,
    //@ before recovery: _hw: &Hw<'_>,
    hw: &Hw<'_>, //@ step recovery
    p: &mut uapi::drm_tern_set_priority,
    file: &DrmFile,
) -> Result<u32> {
    hw.shared.check_alive()?; //@ step recovery
    if p.pad != 0 || p.priority > uapi::DRM_TERN_PRIORITY_HIGH {
        return Err(EINVAL);
    }
    // As other DRM drivers do: only a task that may raise CPU priorities gets high priority.
    if p.priority == uapi::DRM_TERN_PRIORITY_HIGH && !cred::capable(Capability::SYS_NICE) {
        return Err(EPERM);
    }
    file.inner().set_priority(p.priority);
    Ok(0)
}

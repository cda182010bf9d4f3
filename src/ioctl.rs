// SPDX-License-Identifier: GPL-2.0

//! The driver's ioctls (`uapi/drm/tern_accel.h`).
//!
//! Every handler checks all of its input before it changes anything, and returns the errno the
//! header documents for each bad input. Output fields must come in as zero, like pads (-EINVAL).

use kernel::{
    page::PAGE_SIZE,
    drm::{
        self,
        gem::{
            shmem::ObjectConfig,
            BaseObject, //
        },
    },
    prelude::*,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::{
    driver::{
        Hw,
        TernDriver, //
    },
    file::File,
    gem::TernBo,
    job::{
        Job,
        JobResult,
        Lookup, //
    },
    mmu::PAGE,
    queue::{
        ns_to_jiffies,
        Descriptor, //
    },
    regs::{
        self,
        NUM_QUEUES, //
    },
    uapi,
    vm::{
        VA_END,
        VA_START, //
    },
};

/// Largest buffer object.
pub(crate) const MAX_BO_SIZE: u64 = 256 << 20;
/// Most buffer handles in one submission.
pub(crate) const MAX_SUBMIT_BOS: u32 = 64;

/// The DRM device as ioctls see it.
type Dev = drm::Device<TernDriver, drm::Registered>;
/// An open file as ioctls see it.
type DrmFile = drm::File<File>;

/// `DRM_IOCTL_TERN_QUERY`.
pub(crate) fn query(
    _dev: &Dev,
    hw: &Hw<'_>,
    q: &mut uapi::drm_tern_query,
    _file: &DrmFile,
) -> Result<u32> {
    // The other fields are outputs: like pads, they must come in as zero.
    let outputs = [
        q.uapi_version,
        q.hw_version,
        q.fw_version,
        q.fw_abi,
        q.queue_count,
        q.max_cmd_len,
        q.max_submit_bos,
    ];
    let wide = [q.caps, q.va_start, q.va_end, q.max_bo_size];
    if q.flags != 0
        || q.pad != 0
        || q.pad2 != 0
        || outputs.iter().any(|&v| v != 0)
        || wide.iter().any(|&v| v != 0)
    {
        return Err(EINVAL);
    }
    q.uapi_version = uapi::DRM_TERN_UAPI_VERSION;
    q.hw_version = hw.hw_version;
    q.fw_version = hw.fw.version;
    q.fw_abi = hw.fw.abi;
    q.caps = u64::from(hw.caps);
    // CAST: 4 queues.
    q.queue_count = NUM_QUEUES as u32;
    q.max_cmd_len = regs::MAX_CMD_LEN;
    q.va_start = VA_START;
    q.va_end = VA_END;
    q.max_bo_size = MAX_BO_SIZE;
    q.max_submit_bos = MAX_SUBMIT_BOS;
    Ok(0)
}

/// `DRM_IOCTL_TERN_BO_CREATE`.
pub(crate) fn bo_create(
    dev: &Dev,
    hw: &Hw<'_>,
    c: &mut uapi::drm_tern_bo_create,
    file: &DrmFile,
) -> Result<u32> {
    // A failed create never hands a handle back, whatever came in.
    do_bo_create(dev, hw, c, file).inspect_err(|_| c.handle = 0)
}

/// `DRM_IOCTL_TERN_BO_CREATE`, except for clearing `handle` on failure.
fn do_bo_create(
    dev: &Dev,
    hw: &Hw<'_>,
    c: &mut uapi::drm_tern_bo_create,
    file: &DrmFile,
) -> Result<u32> {
    // `handle` is an output: it must come in as zero, like a pad.
    if c.flags & !uapi::DRM_TERN_BO_FLAGS != 0
        || c.size == 0
        || c.size > MAX_BO_SIZE
        || c.handle != 0
    {
        return Err(EINVAL);
    }
    // Whole CPU pages: the kernel's page size, which may be larger than the device's.
    // CAST: usize and u64 have the same width on 64-bit machines.
    let size = c.size.next_multiple_of(PAGE_SIZE as u64);
    let fixed = if c.flags & uapi::DRM_TERN_BO_FIXED_VA != 0 {
        let in_range = c.va >= VA_START && c.va.checked_add(size).is_some_and(|end| end <= VA_END);
        if c.va % PAGE != 0 || !in_range {
            return Err(EINVAL);
        }
        Some(c.va)
    } else {
        if c.va != 0 {
            return Err(EINVAL);
        }
        None
    };

    let ctx = &file.inner().ctx;
    let flags = c.flags;
    // CAST: At most `MAX_BO_SIZE`.
    let create = || TernBo::new(dev, size as usize, ObjectConfig::default(), flags);
    let (bo, va) = ctx.create_mapped(hw.pdev.as_ref(), size, fixed, create)?;
    let handle = bo.create_handle(file).inspect_err(|_| ctx.discard(&bo))?;
    c.handle = handle;
    c.va = va;
    Ok(0)
}

/// `DRM_IOCTL_TERN_BO_INFO`.
pub(crate) fn bo_info(
    _dev: &Dev,
    hw: &Hw<'_>,
    i: &mut uapi::drm_tern_bo_info,
    file: &DrmFile,
) -> Result<u32> {
    // The other fields are outputs: they must come in as zero, like pads.
    if i.flags != 0 || i.size != 0 || i.va != 0 || i.mmap_offset != 0 {
        return Err(EINVAL);
    }
    let bo = TernBo::lookup_handle(file, i.handle)?;
    // Before the mapping, the last step that can fail: a failed BO_INFO maps nothing.
    let mmap_offset = bo.create_mmap_offset()?;
    let (va, _) = file.inner().ctx.va_of(hw.pdev.as_ref(), &bo)?;
    i.flags = bo.flags;
    // CAST: usize and u64 have the same width on 64-bit machines.
    i.size = bo.size() as u64;
    i.va = va;
    i.mmap_offset = mmap_offset;
    Ok(0)
}

/// `DRM_IOCTL_TERN_SUBMIT`.
pub(crate) fn submit(
    _dev: &Dev,
    hw: &Hw<'_>,
    s: &mut uapi::drm_tern_submit,
    file: &DrmFile,
) -> Result<u32> {
    // CAST: 4 queues.
    if s.flags != 0
        || s.queue >= NUM_QUEUES as u32
        || s.cmd_len % 8 != 0
        || s.cmd_len > regs::MAX_CMD_LEN
        || s.cmd_offset % 8 != 0
        || s.bo_count > MAX_SUBMIT_BOS
        || s.seqno != 0
    {
        return Err(EINVAL);
    }
    // CAST: Checked above.
    let queue_index = s.queue as usize;
    let queue = hw.shared.queues.get(queue_index).ok_or(EINVAL)?;

    // CAST: At most `MAX_SUBMIT_BOS`.
    let count = s.bo_count as usize;
    let mut bos = KVec::with_capacity(count + 1, GFP_KERNEL)?;
    // CAST: A user pointer is an address.
    let mut reader = UserSlice::new(UserPtr::from_addr(s.bo_handles as usize), count * 4).reader();
    for _ in 0..count {
        let handle: u32 = reader.read()?;
        bos.push(TernBo::lookup_handle(file, handle)?, GFP_KERNEL)?;
    }

    let inner = file.inner();
    let mut desc = Descriptor {
        context: inner.ctx.id(),
        cmd_va: 0,
        cmd_len: s.cmd_len,
        budget: s.budget,
    };
    let mut cmd = None;
    if s.cmd_handle != 0 || s.cmd_len != 0 {
        let bo = TernBo::lookup_handle(file, s.cmd_handle)?;
        // CAST: usize and u64 have the same width on 64-bit machines.
        let size = bo.size() as u64;
        let end = s.cmd_offset.checked_add(u64::from(s.cmd_len));
        if s.cmd_offset >= size || end.is_none_or(|end| end > size) {
            return Err(EINVAL);
        }
        cmd = Some(bo);
    }

    let bar = hw.shared.bar.access(hw.pdev.as_ref())?;
    inner.jobs.reserve(queue_index)?;
    // Mapping the program's buffer (if this file has not mapped it yet) is the last step but
    // the submission itself; if that fails, the new mapping goes again.
    let mut mapped_here = None;
    if let Some(bo) = cmd {
        let (va, new) = inner.ctx.va_of(hw.pdev.as_ref(), &bo)?;
        desc.cmd_va = va + s.cmd_offset;
        if new {
            mapped_here = Some(bo.clone());
        }
        let _ = bos.push_within_capacity(bo);
    }
    let seqno = queue
        .submit(bar, &desc, |seqno| {
            inner.jobs.add(queue_index, seqno)?;
            Ok(Job {
                seqno,
                owner: inner.jobs.clone(),
                _ctx: inner.ctx.clone(),
                _bos: bos,
            })
        })
        .inspect_err(|_| {
            if let Some(bo) = &mapped_here {
                inner.ctx.discard(bo);
            }
        })?;
    inner.count_submission();
    s.seqno = seqno;
    Ok(0)
}

/// Copies a job result into the WAIT arguments.
fn fill(w: &mut uapi::drm_tern_wait, r: JobResult) {
    w.status = r.status;
    w.info = r.info;
    w.fault_va = r.fault_va;
    w.duration_ns = r.duration_ns;
}

/// `DRM_IOCTL_TERN_WAIT`.
pub(crate) fn wait(
    _dev: &Dev,
    hw: &Hw<'_>,
    w: &mut uapi::drm_tern_wait,
    file: &DrmFile,
) -> Result<u32> {
    // CAST: 4 queues.
    if w.flags != 0
        || w.queue >= NUM_QUEUES as u32
        || w.timeout_ns < 0
        || w.status != 0
        || w.info != 0
        || w.fault_va != 0
        || w.duration_ns != 0
    {
        return Err(EINVAL);
    }
    // CAST: Checked above.
    let queue_index = w.queue as usize;
    let queue = hw.shared.queues.get(queue_index).ok_or(EINVAL)?;
    let jobs = &file.inner().jobs;
    fill(w, JobResult::default());

    match jobs.lookup(queue_index, w.seqno) {
        Lookup::Unknown => return Err(EINVAL),
        Lookup::Done(r) => {
            fill(w, r);
            return Ok(0);
        }
        Lookup::Pending => {}
    }

    // CAST: Checked to be non-negative.
    queue.wait(w.seqno, ns_to_jiffies(w.timeout_ns as u64))?;
    match jobs.lookup(queue_index, w.seqno) {
        Lookup::Done(r) => {
            fill(w, r);
            Ok(0)
        }
        // Aborted while the device went away.
        _ => Err(ENODEV),
    }
}

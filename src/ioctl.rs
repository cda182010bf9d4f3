// SPDX-License-Identifier: GPL-2.0

//! The driver's ioctls (`uapi/drm/tern_accel.h`).
//!
//! Every handler checks all of its input before it changes anything, and returns the errno the
//! header documents for each bad input. Output fields must come in as zero, like pads (-EINVAL).

use kernel::{
    drm::{
        self,
        gem::{
            shmem::ObjectConfig,
            BaseObject, //
        },
    },
    page::PAGE_SIZE,
    prelude::*,
};

use crate::{
    driver::{
        Hw,
        TernDriver, //
    },
    file::File,
    gem::TernBo,
    mmu::PAGE,
    regs::{
        self,
        NUM_QUEUES, //
    },
    submit, //@ step jobs
    uapi,
    vm::{
        VA_END,
        VA_START, //
    },
};

/// Largest buffer object.
pub(crate) const MAX_BO_SIZE: u64 = 256 << 20;

/// The DRM device as ioctls see it.
pub(crate) type Dev = drm::Device<TernDriver, drm::Registered>;
/// An open file as ioctls see it.
pub(crate) type DrmFile = drm::File<File>;

/// `DRM_IOCTL_TERN_QUERY`.
pub(crate) fn query(
    _dev: &Dev,
    hw: &Hw<'_>,
    q: &mut uapi::drm_tern_query,
    _file: &DrmFile,
) -> Result<u32> {
    //@ step recovery {
    // A wedged device answers nothing until the driver is rebound.
    hw.shared.check_alive()?;
    //@ }
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
    q.max_submit_bos = submit::MAX_SUBMIT_BOS; //@ step jobs
    Ok(0)
}

/// `DRM_IOCTL_TERN_BO_CREATE`.
pub(crate) fn bo_create(
    dev: &Dev,
    hw: &Hw<'_>,
    c: &mut uapi::drm_tern_bo_create,
    file: &DrmFile,
) -> Result<u32> {
    //@ step recovery {
    // A wedged device answers nothing until the driver is rebound.
    hw.shared.check_alive()?;
    //@ }
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
    //@ step recovery {
    // A wedged device answers nothing until the driver is rebound.
    hw.shared.check_alive()?;
    //@ }
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

// SPDX-License-Identifier: GPL-2.0

//! The buffer ioctls: BO_CREATE and BO_INFO (`uapi/drm/tern_accel.h`).
//!
//! As in `ioctl.rs`, every handler checks all of its input before it changes anything.

use kernel::{
    drm::gem::{
        shmem::ObjectConfig,
        BaseObject, //
    },
    page::PAGE_SIZE,
    prelude::*,
};

use crate::{
    driver::Hw,
    gem::TernBo,
    ioctl::{
        Dev,
        DrmFile, //
    },
    mmu::PAGE,
    uapi,
    vm::{
        VA_END,
        VA_START, //
    },
};

/// Largest buffer object.
pub(crate) const MAX_BO_SIZE: u64 = 256 << 20;

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

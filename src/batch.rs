// SPDX-License-Identifier: GPL-2.0

//! `DRM_IOCTL_TERN_SUBMIT_BATCH`: several jobs in one call, one doorbell per queue
//! (`uapi/drm/tern_accel.h`).
//!
//! Every entry is checked first, as SUBMIT checks its own fields, arrays and handles, so that a
//! bad entry changes nothing. Then the entries are queued in order as SUBMIT queues one job,
//! without running the scheduler; it runs once per queue used at the end, so each queue's new
//! descriptors are published by one doorbell and completed with one interrupt.

use kernel::{
    prelude::*,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::{
    driver::Hw,
    ioctl::{
        Dev,
        DrmFile, //
    },
    regs::NUM_QUEUES,
    submit::{
        check_submit,
        precheck_submit,
        queue_job,
        read_array, //
    },
    uapi,
};

/// Offset of `seqno` in `struct drm_tern_submit`.
const SEQNO_OFFSET: usize = core::mem::offset_of!(uapi::drm_tern_submit, seqno);

/// `DRM_IOCTL_TERN_SUBMIT_BATCH`.
pub(crate) fn submit_batch(
    _dev: &Dev,
    hw: &Hw<'_>,
    b: &mut uapi::drm_tern_submit_batch,
    file: &DrmFile,
) -> Result<u32> {
    // CAST: The size of a small struct.
    let stride = core::mem::size_of::<uapi::drm_tern_submit>() as u32;
    if b.count == 0
        || b.count > uapi::DRM_TERN_MAX_BATCH
        || b.stride != stride
        || b.submitted != 0
        || b.flags != 0
    {
        return Err(EINVAL);
    }
    let mut entries: KVec<uapi::drm_tern_submit> = read_array(b.submits, b.count)?;
    for e in entries.iter() {
        check_submit(e)?;
        if e.flags & uapi::DRM_TERN_SUBMIT_OUT_FENCE_FD != 0 {
            return Err(EINVAL);
        }
    }
    for e in entries.iter() {
        precheck_submit(e, file)?;
    }

    let mut used = [false; NUM_QUEUES];
    let mut result = Ok(());
    for (i, e) in entries.iter_mut().enumerate() {
        match queue_job(hw, e, file, false) {
            Ok(q) => {
                if let Some(u) = used.get_mut(q) {
                    *u = true;
                }
            }
            Err(err) => {
                result = Err(err);
                break;
            }
        }
        b.submitted += 1;
        // CAST: A user pointer is an address; `i` is below `DRM_TERN_MAX_BATCH`.
        let at = b.submits as usize + i * stride as usize + SEQNO_OFFSET;
        let mut w = UserSlice::new(UserPtr::from_addr(at), 8).writer();
        if let Err(err) = w.write(&e.seqno) {
            result = Err(err);
            break;
        }
    }
    for (q, queue) in hw.shared.queues.iter().enumerate() {
        if used.get(q).copied().unwrap_or(false) {
            queue.schedule(&hw.shared);
        }
    }
    result.map(|()| 0)
}

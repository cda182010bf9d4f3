// SPDX-License-Identifier: GPL-2.0

//! The QUERY ioctl and the types every ioctl handler uses (`uapi/drm/tern_accel.h`); the buffer
//! ioctls are in `bo.rs`, the job ioctls in `submit.rs`.
//!
//! Every handler checks all of its input before it changes anything, and returns the errno the
//! header documents for each bad input. Output fields must come in as zero, like pads (-EINVAL).

use kernel::{
    drm,
    prelude::*, //
};

use crate::{
    bo, //@ step buffers
    driver::{
        Hw,
        TernDriver, //
    },
    file::File,
    regs::{
        self,
        NUM_QUEUES, //
    },
    submit, //@ step jobs
    uapi,
    //@ step buffers {
    vm::{
        VA_END,
        VA_START, //
    },
    //@ }
};

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
    q.fw_version = hw.fw.version; //@ step firmware
    q.fw_abi = hw.fw.abi; //@ step firmware
    q.caps = u64::from(hw.caps);
    // CAST: 4 queues.
    q.queue_count = NUM_QUEUES as u32;
    q.max_cmd_len = regs::MAX_CMD_LEN;
    q.va_start = VA_START; //@ step buffers
    q.va_end = VA_END; //@ step buffers
    q.max_bo_size = bo::MAX_BO_SIZE; //@ step buffers
    q.max_submit_bos = submit::MAX_SUBMIT_BOS; //@ step jobs
    Ok(0)
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! DRM_IOCTL_TERN_QUERY.

use tern_uapi as uapi;

use crate::ktap::{Outcome, check};
use crate::raw::{expect_errno, ioctl};

fn open() -> Result<tern::Device, String> {
    tern::Device::open_first().map_err(|e| e.to_string())
}

pub fn query_reports_device() -> Outcome {
    let d = open()?;
    let q = d.query().map_err(|e| e.to_string())?;
    check(q.uapi_version == uapi::DRM_TERN_UAPI_VERSION, || {
        format!("uapi {}", q.uapi_version)
    })?;
    check(q.hw_version == (1, 0), || format!("hw {:?}", q.hw_version))?;
    check(q.fw_version == (1, 0, 0), || {
        format!("firmware {:?}", q.fw_version)
    })?;
    check(q.fw_abi == 1, || format!("ABI {}", q.fw_abi))?;
    check(q.queue_count == 4, || format!("{} queues", q.queue_count))?;
    check(q.cap_names() == ["mmu", "f32", "i32", "timestamp"], || {
        format!("caps {:?}", q.cap_names())
    })?;
    check(
        q.va_range.start > 0 && q.va_range.start < q.va_range.end && q.va_range.end <= 1 << 39,
        || format!("VA range {:#x?}", q.va_range),
    )?;
    check(
        q.max_bo_size >= 1 << 20 && q.max_cmd_len >= 4096 && q.max_submit_bos >= 16,
        || format!("limits {q:?}"),
    )
}

pub fn query_rejects_flags_and_pad() -> Outcome {
    let d = open()?;
    let mut q = uapi::drm_tern_query {
        flags: 1,
        ..Default::default()
    };
    expect_errno(
        "flags=1",
        ioctl(&d, uapi::DRM_IOCTL_TERN_QUERY, &mut q),
        libc::EINVAL,
    )?;
    check(q.uapi_version == 0, || {
        "a failed query filled the struct".into()
    })?;
    let mut q = uapi::drm_tern_query {
        pad: 1,
        ..Default::default()
    };
    expect_errno(
        "pad=1",
        ioctl(&d, uapi::DRM_IOCTL_TERN_QUERY, &mut q),
        libc::EINVAL,
    )?;
    let mut q = uapi::drm_tern_query {
        pad2: 1,
        ..Default::default()
    };
    expect_errno(
        "pad2=1",
        ioctl(&d, uapi::DRM_IOCTL_TERN_QUERY, &mut q),
        libc::EINVAL,
    )?;
    // Output fields must come in as zero too, as the header says.
    type Set = fn(&mut uapi::drm_tern_query);
    let outputs: [(&str, Set); 11] = [
        ("uapi_version", |q| q.uapi_version = 1),
        ("hw_version", |q| q.hw_version = 1),
        ("fw_version", |q| q.fw_version = 1),
        ("fw_abi", |q| q.fw_abi = 1),
        ("caps", |q| q.caps = 1),
        ("queue_count", |q| q.queue_count = 1),
        ("max_cmd_len", |q| q.max_cmd_len = 1),
        ("va_start", |q| q.va_start = 1),
        ("va_end", |q| q.va_end = 1),
        ("max_bo_size", |q| q.max_bo_size = 1),
        ("max_submit_bos", |q| q.max_submit_bos = 1),
    ];
    for (name, set) in outputs {
        let mut q = uapi::drm_tern_query::default();
        set(&mut q);
        expect_errno(
            &format!("output {name} non-zero on input"),
            ioctl(&d, uapi::DRM_IOCTL_TERN_QUERY, &mut q),
            libc::EINVAL,
        )?;
    }
    let mut q = uapi::drm_tern_query::default();
    expect_errno("valid", ioctl(&d, uapi::DRM_IOCTL_TERN_QUERY, &mut q), 0)
}

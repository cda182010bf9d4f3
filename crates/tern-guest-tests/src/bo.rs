// SPDX-License-Identifier: MIT OR Apache-2.0
//! Buffer objects: lifecycle, mmap, fixed VAs, dma-buf, and every bad BO_CREATE/BO_INFO value.

use tern::BufferFlags;
use tern_uapi as uapi;

use crate::ktap::{Outcome, check};
use crate::raw::{expect_errno, ioctl};

fn open() -> Result<tern::Device, String> {
    tern::Device::open_first().map_err(|e| e.to_string())
}

pub fn bo_lifecycle_and_mmap() -> Outcome {
    let d = open()?;
    let q = d.query().map_err(|e| e.to_string())?;
    let mut b = d
        .create_buffer(10_000, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    check(b.size() == 12_288, || {
        format!("size {} not rounded to pages", b.size())
    })?;
    check(q.va_range.contains(&b.va()) && b.va() % 4096 == 0, || {
        format!("VA {:#x}", b.va())
    })?;
    let bytes = b.bytes().map_err(|e| e.to_string())?;
    check(bytes.iter().all(|&x| x == 0), || {
        "new buffer not zero-filled".into()
    })?;
    for (i, x) in bytes.iter_mut().enumerate() {
        *x = (i % 251) as u8;
    }
    let h = b.handle();
    let mut info = uapi::drm_tern_bo_info {
        handle: h,
        ..Default::default()
    };
    crate::raw::expect_errno(
        "BO_INFO",
        ioctl(&d, uapi::DRM_IOCTL_TERN_BO_INFO, &mut info),
        0,
    )?;
    check(
        info.size == 12_288 && info.va == b.va() && info.mmap_offset != 0,
        || format!("{info:?}"),
    )?;
    let again = b.bytes().map_err(|e| e.to_string())?;
    check(
        again.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8),
        || "mmap lost data".into(),
    )?;
    let b2 = d
        .create_buffer(4096, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    check(
        b2.va() >= b.va() + b.size() || b2.va() + b2.size() <= b.va(),
        || "buffers overlap in VA".into(),
    )?;
    drop(b);
    let mut info = uapi::drm_tern_bo_info {
        handle: h,
        ..Default::default()
    };
    expect_errno(
        "BO_INFO after close",
        ioctl(&d, uapi::DRM_IOCTL_TERN_BO_INFO, &mut info),
        libc::ENOENT,
    )
}

pub fn bo_create_rejects_bad_values() -> Outcome {
    let d = open()?;
    let q = d.query().map_err(|e| e.to_string())?;
    let try_create = |what: &str, a: uapi::drm_tern_bo_create, want: i32| -> Outcome {
        let mut a2 = a;
        let r = ioctl(&d, uapi::DRM_IOCTL_TERN_BO_CREATE, &mut a2);
        expect_errno(what, r, want)?;
        check(want != 0 || a2.handle != 0, || format!("{what}: no handle"))?;
        check(want == 0 || a2.handle == 0, || {
            format!("{what}: failed create returned a handle")
        })
    };
    let ok = uapi::drm_tern_bo_create {
        size: 4096,
        ..Default::default()
    };
    try_create(
        "size 0",
        uapi::drm_tern_bo_create { size: 0, ..ok },
        libc::EINVAL,
    )?;
    try_create(
        "size > max",
        uapi::drm_tern_bo_create {
            size: q.max_bo_size + 1,
            ..ok
        },
        libc::EINVAL,
    )?;
    try_create(
        "size u64::MAX",
        uapi::drm_tern_bo_create {
            size: u64::MAX,
            ..ok
        },
        libc::EINVAL,
    )?;
    try_create(
        "unknown flag",
        uapi::drm_tern_bo_create {
            flags: 1 << 7,
            ..ok
        },
        libc::EINVAL,
    )?;
    try_create(
        "IMPORTED (an output-only flag) on input",
        uapi::drm_tern_bo_create {
            flags: uapi::DRM_TERN_BO_IMPORTED,
            ..ok
        },
        libc::EINVAL,
    )?;
    try_create(
        "handle set on input",
        uapi::drm_tern_bo_create { handle: 5, ..ok },
        libc::EINVAL,
    )?;
    try_create(
        "va without FIXED_VA",
        uapi::drm_tern_bo_create {
            va: 0x100_0000,
            ..ok
        },
        libc::EINVAL,
    )?;
    let fixed = |va: u64| uapi::drm_tern_bo_create {
        flags: uapi::DRM_TERN_BO_FIXED_VA,
        va,
        ..ok
    };
    try_create(
        "unaligned fixed VA",
        fixed(q.va_range.start + 8),
        libc::EINVAL,
    )?;
    try_create(
        "fixed VA below range",
        fixed(q.va_range.start.saturating_sub(4096)),
        libc::EINVAL,
    )?;
    try_create("fixed VA past range", fixed(q.va_range.end), libc::EINVAL)?;
    try_create(
        "fixed VA end past range",
        uapi::drm_tern_bo_create {
            size: 8192,
            ..fixed(q.va_range.end - 4096)
        },
        libc::EINVAL,
    )?;
    let va = q.va_range.end - (64 << 20);
    try_create("good fixed VA", fixed(va), 0)?;
    try_create("overlapping fixed VA", fixed(va), libc::EEXIST)?;
    try_create("good", ok, 0)
}

pub fn bo_info_rejects_bad_handles() -> Outcome {
    let d = open()?;
    for h in [0u32, 0xffff, u32::MAX] {
        let mut i = uapi::drm_tern_bo_info {
            handle: h,
            ..Default::default()
        };
        expect_errno(
            &format!("handle {h}"),
            ioctl(&d, uapi::DRM_IOCTL_TERN_BO_INFO, &mut i),
            libc::ENOENT,
        )?;
    }
    let b = d
        .create_buffer(4096, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    let mut i = uapi::drm_tern_bo_info {
        handle: b.handle(),
        flags: 1,
        ..Default::default()
    };
    expect_errno(
        "flags on input",
        ioctl(&d, uapi::DRM_IOCTL_TERN_BO_INFO, &mut i),
        libc::EINVAL,
    )
}

pub fn dmabuf_export_and_self_import() -> Outcome {
    let d = open()?;
    let mut b = d
        .create_buffer(8192, BufferFlags::default())
        .map_err(|e| e.to_string())?;
    b.bytes().map_err(|e| e.to_string())?[..5].copy_from_slice(b"hello");
    let fd = b.export().map_err(|e| e.to_string())?;
    // Importing our own dma-buf gives back the same object.
    let mut again = d.import_buffer(&fd).map_err(|e| e.to_string())?;
    check(again.size() == 8192, || {
        format!("imported size {}", again.size())
    })?;
    let bytes = again.bytes().map_err(|e| e.to_string())?;
    check(&bytes[..5] == b"hello", || {
        "imported buffer has other contents".into()
    })
}

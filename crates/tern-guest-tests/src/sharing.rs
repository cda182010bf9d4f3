// SPDX-License-Identifier: MIT OR Apache-2.0
//! Sharing buffers with other devices: dma-bufs of the system dma-heap, udmabuf, vgem and the
//! VM's second TERN device imported as TERN buffers, data in both directions, implicit sync
//! through the dma-buf's reservation object (a vgem fence, a job of the other device), explicit
//! sync with a sync_file and a syncobj passed between the devices, read-only exports, lifetime
//! (the exporter's fd closed while a job uses the buffer) and the import's errors.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use tern::{Buffer, BufferFlags, Device, DmaBuf, Job, JobStatus, Submit, SyncPoint, monotonic_ns};
use tern_uapi as uapi;

use crate::exporters::{self, Vgem};
use crate::ktap::{Outcome, check};
use crate::raw::{expect_errno, ioctl};

const T: Duration = Duration::from_secs(60);

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Device A (accel0) and, for the tests that need it, device B (accel1).
fn dev(i: usize) -> Result<Device, String> {
    let path = tern::discover()
        .into_iter()
        .nth(i)
        .ok_or_else(|| format!("no TERN device {i}: the VM needs two (TERN_VM_DEVICES=2)"))?;
    Device::open(&path).map_err(s)
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed) ^ ((i >> 8) as u8) | 1)
        .collect()
}

/// Loads `reg` with a 64-bit VA.
fn li(reg: &str, va: u64) -> String {
    format!(
        "        li {reg}, {}\n        lih {reg}, {}\n",
        va & 0xffff_ffff,
        va >> 32
    )
}

/// A program: fill `words` 4-byte words at `fill_va` with `value`, `rounds` times (none if 0),
/// then copy `bytes` from `src` to `dst` (none if 0).
fn program<'d>(
    d: &'d Device,
    fill: Option<(u64, u64, u32, u32)>,
    copy: Option<(u64, u64, u64)>,
) -> Result<(Buffer<'d>, u32), String> {
    let mut src = String::new();
    if let Some((va, words, value, rounds)) = fill {
        src += &li("r1", va);
        src += &format!(
            "        li r2, {value}\n        li r3, {words}\n        li r4, {rounds}\n        li r5, 1\n\
             fl:     fill r1, r2, r3\n        sub r4, r4, r5\n        bnz r4, fl\n"
        );
    }
    if let Some((dst, from, bytes)) = copy {
        src += &li("r6", dst);
        src += &li("r7", from);
        src += &format!("        li r8, {bytes}\n        copy r6, r7, r8\n");
    }
    src += "        halt\n";
    let code = tern_asm::assemble_bytes(&src).map_err(s)?;
    let ro = BufferFlags {
        device_readonly: true,
        fixed_va: None,
    };
    let mut prog = d.create_buffer(code.len() as u64, ro).map_err(s)?;
    prog.bytes().map_err(s)?[..code.len()].copy_from_slice(&code);
    Ok((prog, code.len() as u32))
}

/// Submits `prog` on queue 0 of `d`, declaring `writes` and `reads` (implicit sync).
fn submit<'d>(
    d: &'d Device,
    prog: &(Buffer<'d>, u32),
    writes: &[&Buffer<'d>],
    reads: &[&Buffer<'d>],
    waits: &[SyncPoint],
) -> Result<Job, String> {
    d.submit(&Submit {
        program: Some(&prog.0),
        len: prog.1,
        buffers: writes,
        reads,
        waits,
        ..Default::default()
    })
    .map_err(s)
}

fn done(d: &Device, job: Job, what: &str) -> Outcome {
    match d.wait(job, T) {
        Ok(c) if c.status == JobStatus::Done => Ok(()),
        Ok(c) => Err(format!("{what}: {}", c.status)),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

fn pending(d: &Device, job: Job, what: &str) -> Outcome {
    match d.wait_until(job, monotonic_ns()) {
        Err(tern::Error::Timeout { .. }) => Ok(()),
        other => Err(format!("{what}: should still wait, got {other:?}")),
    }
}

fn same(got: &[u8], want: &[u8], what: &str) -> Outcome {
    match got.iter().zip(want).position(|(a, b)| a != b) {
        None if got.len() == want.len() => Ok(()),
        None => Err(format!("{what}: {} bytes, want {}", got.len(), want.len())),
        Some(i) => Err(format!(
            "{what}: byte {i} is {:#x}, want {:#x}",
            got[i], want[i]
        )),
    }
}

/// The checks every exporter gets: `imp` (imported from it) holds `before`; a TERN job copies
/// it out, and another writes `after` into it. `read_back` reads the exporter's side.
fn both_directions(
    d: &Device,
    imp: &Buffer<'_>,
    before: &[u8],
    after: &[u8],
    read_back: &mut dyn FnMut() -> Result<Vec<u8>, String>,
) -> Outcome {
    let n = before.len() as u64;
    check(imp.is_imported(), || {
        "the buffer is not flagged IMPORTED".into()
    })?;
    check(imp.size() == n, || {
        format!("imported size {}, want {n}", imp.size())
    })?;
    let mut out = d.create_buffer(n, BufferFlags::default()).map_err(s)?;
    let p = program(d, None, Some((out.va(), imp.va(), n)))?;
    done(
        d,
        submit(d, &p, &[&out], &[imp], &[])?,
        "copy out of the import",
    )?;
    same(
        &out.bytes().map_err(s)?[..],
        before,
        "a TERN job reading the import",
    )?;
    let mut src = d.create_buffer(n, BufferFlags::default()).map_err(s)?;
    src.bytes().map_err(s)?.copy_from_slice(after);
    let p = program(d, None, Some((imp.va(), src.va(), n)))?;
    done(
        d,
        submit(d, &p, &[imp], &[&src], &[])?,
        "copy into the import",
    )?;
    same(
        &read_back()?,
        after,
        "the exporter's side after a TERN job wrote it",
    )
}

pub fn import_from_dma_heap() -> Outcome {
    let d = dev(0)?;
    let n = 1 << 20;
    let (before, after) = (pattern(n, 3), pattern(n, 4));
    let heap = DmaBuf::alloc_heap("system", n as u64).map_err(s)?;
    let mut map = heap.map().map_err(s)?;
    heap.begin_cpu_access().map_err(s)?;
    map.bytes().copy_from_slice(&before);
    heap.end_cpu_access().map_err(s)?;
    let imp = d.import_buffer(heap.owned_fd()).map_err(s)?;
    both_directions(&d, &imp, &before, &after, &mut || {
        heap.begin_cpu_access().map_err(s)?;
        let v = map.bytes().to_vec();
        heap.end_cpu_access().map_err(s)?;
        Ok(v)
    })?;
    // The CPU mapping of the import goes to the exporter: the same pages.
    let mut imp = imp;
    same(imp.bytes().map_err(s)?, &after, "mmap of the import")?;
    // A heap rounds sizes up to pages: an unaligned request imports with the rounded size.
    let odd = DmaBuf::alloc_heap("system", 5000).map_err(s)?;
    let b = d.import_buffer(odd.owned_fd()).map_err(s)?;
    check(b.size() == 8192, || {
        format!("5000-byte heap buffer imported as {}", b.size())
    })
}

pub fn import_from_udmabuf() -> Outcome {
    let d = dev(0)?;
    let n = 1 << 20;
    let (before, after) = (pattern(n, 5), pattern(n, 6));
    let memfd = exporters::memfd(n as u64, &before)?;
    let ubuf = DmaBuf::from_memfd(std::os::fd::AsFd::as_fd(&memfd), 0, n as u64).map_err(s)?;
    let imp = d.import_buffer(ubuf.owned_fd()).map_err(s)?;
    both_directions(&d, &imp, &before, &after, &mut || {
        exporters::memfd_read(&memfd, n)
    })?;
    // udmabuf itself refuses ranges that are not whole pages, so no such dma-buf exists.
    match DmaBuf::from_memfd(std::os::fd::AsFd::as_fd(&memfd), 0, 4096 + 100) {
        Err(e) if e.errno() == Some(libc::EINVAL) => Ok(()),
        other => Err(format!("udmabuf of 4196 bytes: {other:?}, want EINVAL")),
    }
}

pub fn import_from_vgem_waits_for_its_fence() -> Outcome {
    // On the second device: a job of device B waits for an external fence here, and for a job
    // of device A in `import_from_other_tern_device`.
    let d = dev(1)?;
    let vgem = Vgem::open()?;
    let n = 256 << 10;
    let bo = vgem.create(n as u64)?;
    let map = vgem.map(&bo)?;
    let (first, second, after) = (pattern(n, 7), pattern(n, 8), pattern(n, 9));
    map.copy_from_slice(&first);
    let imp = d.import_buffer(&vgem.export(&bo)?).map_err(s)?;
    // A write fence of vgem: a TERN job reading the buffer must wait for it.
    let fence = vgem.attach_write_fence(&bo)?;
    let mut out = d
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    let p = program(&d, None, Some((out.va(), imp.va(), n as u64)))?;
    let job = submit(&d, &p, &[&out], &[&imp], &[])?;
    std::thread::sleep(Duration::from_millis(300));
    pending(
        &d,
        job,
        "a job reading a buffer with an unsignalled vgem fence",
    )?;
    // The "writer" vgem's fence stands for finishes its data, then signals.
    map.copy_from_slice(&second);
    vgem.signal(fence)?;
    done(&d, job, "the job after the vgem fence signalled")?;
    same(
        &out.bytes().map_err(s)?[..],
        &second,
        "what the job read after the fence",
    )?;
    both_directions(&d, &imp, &second, &after, &mut || Ok(map.to_vec()))
}

/// The inode of a dma-buf file: every dma-buf has its own.
fn inode(fd: &OwnedFd) -> Result<u64, String> {
    let f = std::fs::File::from(fd.try_clone().map_err(s)?);
    Ok(f.metadata().map_err(s)?.ino())
}

fn raw_import(d: &Device, fd: i32) -> Result<u32, i32> {
    let mut p = uapi::drm_prime_handle {
        fd,
        ..Default::default()
    };
    match ioctl(&d, uapi::DRM_IOCTL_PRIME_FD_TO_HANDLE, &mut p) {
        0 => Ok(p.handle),
        e => Err(e),
    }
}

pub fn import_from_other_tern_device() -> Outcome {
    let (a, b) = (dev(0)?, dev(1)?);
    let n: u64 = 1 << 20;
    let words = n / 4;
    let shared = b.create_buffer(n, BufferFlags::default()).map_err(s)?;
    let exported = shared.export().map_err(s)?;
    let imp = a.import_buffer(&exported).map_err(s)?;
    check(imp.is_imported() && !imp.is_device_readonly(), || {
        "device A's import of device B's buffer has the wrong flags".into()
    })?;
    // Importing the same dma-buf again gives the same handle; re-exporting the import gives
    // back B's dma-buf.
    let again = raw_import(&a, exported.as_raw_fd()).map_err(|e| format!("second import: {e}"))?;
    check(again == imp.handle(), || {
        format!("second import gave handle {again}, first {}", imp.handle())
    })?;
    check(
        inode(&imp.export().map_err(s)?)? == inode(&exported)?,
        || "re-exporting the import made a new dma-buf".into(),
    )?;

    // Implicit sync: A writes (a long job), B reads; B's job waits for A's fence in the
    // dma-buf's reservation object.
    let mut out = b.create_buffer(n, BufferFlags::default()).map_err(s)?;
    let fill = program(&a, Some((imp.va(), words, 0x1111_1111, 400)), None)?;
    let copy = program(&b, None, Some((out.va(), shared.va(), n)))?;
    let ja = submit(&a, &fill, &[&imp], &[], &[])?;
    let jb = submit(&b, &copy, &[&out], &[&shared], &[])?;
    pending(&a, ja, "device A's long writer")?;
    pending(&b, jb, "device B's reader behind device A's writer")?;
    done(&b, jb, "device B's reader")?;
    done(&a, ja, "device A's writer")?;
    check(
        out.bytes().map_err(s)?.chunks(4).all(|w| w == [0x11; 4]),
        || "device B read something else than device A wrote (implicit sync)".into(),
    )?;

    // Explicit sync with a sync_file: B's job lists no buffer and waits for A's fence.
    let (ja, fence) = a
        .submit_with_fence(&Submit {
            program: Some(&program(&a, Some((imp.va(), words, 0x2222_2222, 400)), None)?.0),
            len: fill.1,
            ..Default::default()
        })
        .map_err(s)?;
    let gate = b.create_syncobj(false).map_err(s)?;
    gate.import_sync_file(&fence).map_err(s)?;
    let jb = submit(&b, &copy, &[], &[], &[gate.at(0)])?;
    pending(&b, jb, "device B's job waiting for device A's sync_file")?;
    done(&b, jb, "device B's job after the sync_file")?;
    done(&a, ja, "device A's second writer")?;
    check(
        out.bytes().map_err(s)?.chunks(4).all(|w| w == [0x22; 4]),
        || "device B did not see device A's data after the sync_file".into(),
    )?;

    // Explicit sync with a syncobj moved from A to B as a file descriptor.
    let sa = a.create_syncobj(false).map_err(s)?;
    let p3 = program(&a, Some((imp.va(), words, 0x3333_3333, 400)), None)?;
    let ja = a
        .submit(&Submit {
            program: Some(&p3.0),
            len: p3.1,
            signals: &[sa.at(0)],
            ..Default::default()
        })
        .map_err(s)?;
    let sb = b.import_syncobj(&sa.export().map_err(s)?).map_err(s)?;
    let jb = submit(&b, &copy, &[], &[], &[sb.at(0)])?;
    done(&b, jb, "device B's job after the syncobj")?;
    done(&a, ja, "device A's third writer")?;
    check(
        out.bytes().map_err(s)?.chunks(4).all(|w| w == [0x33; 4]),
        || "device B did not see device A's data after the syncobj".into(),
    )
}

pub fn readonly_export_stays_readonly() -> Outcome {
    let (a, b) = (dev(0)?, dev(1)?);
    let n: u64 = 64 << 10;
    let mut src = b.create_buffer(n, BufferFlags::default()).map_err(s)?;
    let data = pattern(n as usize, 11);
    src.bytes().map_err(s)?.copy_from_slice(&data);
    let imp = a
        .import_buffer(&src.export_readonly().map_err(s)?)
        .map_err(s)?;
    check(imp.is_imported() && imp.is_device_readonly(), || {
        "a read-only dma-buf was imported writable".into()
    })?;
    // The device may read it...
    let mut out = a.create_buffer(n, BufferFlags::default()).map_err(s)?;
    let p = program(&a, None, Some((out.va(), imp.va(), n)))?;
    done(
        &a,
        submit(&a, &p, &[&out], &[&imp], &[])?,
        "reading the read-only import",
    )?;
    same(&out.bytes().map_err(s)?[..], &data, "the read-only import")?;
    // ...but a write faults, and leaves the data alone.
    let p = program(&a, Some((imp.va(), n / 4, 0x7777_7777, 1)), None)?;
    match a
        .wait(submit(&a, &p, &[], &[&imp], &[])?, T)
        .map(|c| c.status)
    {
        Ok(JobStatus::MmuFault { va }) if va >= imp.va() && va < imp.va() + n => {}
        other => return Err(format!("a device write to a read-only import: {other:?}")),
    }
    same(
        &src.bytes().map_err(s)?[..],
        &data,
        "the exporter's data after the refused write",
    )?;
    // The CPU may map it for reading only.
    let mut info = uapi::drm_tern_bo_info {
        handle: imp.handle(),
        ..Default::default()
    };
    expect_errno(
        "BO_INFO",
        ioctl(&a, uapi::DRM_IOCTL_TERN_BO_INFO, &mut info),
        0,
    )?;
    let map = |prot| {
        // SAFETY: a fresh mapping chosen by the kernel, unmapped below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                n as usize,
                prot,
                libc::MAP_SHARED,
                a.as_fd().as_raw_fd(),
                info.mmap_offset as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        } else {
            // SAFETY: `p` maps `n` bytes; it is only read, then unmapped.
            let first = unsafe { *(p as *const u8) };
            // SAFETY: unmapping what was just mapped.
            unsafe { libc::munmap(p, n as usize) };
            Ok(first)
        }
    };
    expect_errno(
        "a writable mapping of a read-only import",
        map(libc::PROT_READ | libc::PROT_WRITE).err().unwrap_or(0),
        libc::EACCES,
    )?;
    match map(libc::PROT_READ) {
        Ok(b0) if b0 == data[0] => Ok(()),
        other => Err(format!("a read-only mapping of the import: {other:?}")),
    }
}

pub fn exporter_closed_while_a_job_uses_the_import() -> Outcome {
    let d = dev(0)?;
    let n = 4 << 20;
    let data = pattern(n, 13);
    let heap = DmaBuf::alloc_heap("system", n as u64).map_err(s)?;
    {
        let mut map = heap.map().map_err(s)?;
        map.bytes().copy_from_slice(&data);
    }
    let imp = d.import_buffer(heap.owned_fd()).map_err(s)?;
    let scratch = d
        .create_buffer(1 << 20, BufferFlags::default())
        .map_err(s)?;
    let mut out = d
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    // A long fill first, then the copy out of the import.
    let p = program(
        &d,
        Some((scratch.va(), 1 << 18, 0x5555_5555, 400)),
        Some((out.va(), imp.va(), n as u64)),
    )?;
    let job = submit(&d, &p, &[&out, &scratch], &[&imp], &[])?;
    pending(&d, job, "the job using the import")?;
    // Every handle on the buffer goes: the exporter's fd, and the import's handle.
    drop(heap);
    drop(imp);
    pending(
        &d,
        job,
        "the job, after the exporter's fd and the handle closed",
    )?;
    done(&d, job, "the job using a buffer whose fds all closed")?;
    same(&out.bytes().map_err(s)?[..], &data, "what the job read")
}

pub fn import_rejects_bad_fds() -> Outcome {
    let d = dev(0)?;
    expect_errno("fd -1", raw_import(&d, -1).err().unwrap_or(0), libc::EBADF)?;
    expect_errno(
        "a closed fd",
        raw_import(&d, 999).err().unwrap_or(0),
        libc::EBADF,
    )?;
    let memfd = exporters::memfd(4096, &[1])?;
    expect_errno(
        "a memfd (not a dma-buf)",
        raw_import(&d, memfd.as_raw_fd()).err().unwrap_or(0),
        libc::EINVAL,
    )?;
    let accel = d.as_fd().try_clone_to_owned().map_err(s)?;
    expect_errno(
        "the device's own fd",
        raw_import(&d, accel.as_raw_fd()).err().unwrap_or(0),
        libc::EINVAL,
    )?;
    // Larger than max_bo_size (vgem allocates its pages lazily, so this costs nothing).
    let vgem = Vgem::open()?;
    let big = vgem.create((256 << 20) + 4096)?;
    let fd = vgem.export(&big)?;
    expect_errno(
        "a dma-buf larger than max_bo_size",
        raw_import(&d, fd.as_raw_fd()).err().unwrap_or(0),
        libc::E2BIG,
    )?;
    // Nothing was created: the next import is fine and the file maps only it.
    let ok = vgem.create(4096)?;
    let b = d.import_buffer(&vgem.export(&ok)?).map_err(s)?;
    check(b.is_imported() && b.size() == 4096, || {
        "a valid import after the refused ones".into()
    })
}

/// The PCI address of the device node `dev`.
fn pci_address(dev: &Device) -> Result<String, String> {
    let name = dev
        .path()
        .file_name()
        .ok_or("device path without a name")?
        .to_string_lossy()
        .into_owned();
    let link = std::fs::canonicalize(format!("/sys/class/accel/{name}/device")).map_err(s)?;
    Ok(link
        .file_name()
        .ok_or("no PCI address")?
        .to_string_lossy()
        .into_owned())
}

pub fn dmabufs_outlive_an_unbind() -> Outcome {
    // The second device: the tests that reach a model use the first.
    let b = dev(1)?;
    let bdf = pci_address(&b)?;
    let n = 256 << 10;
    let data = pattern(n, 17);
    let heap = DmaBuf::alloc_heap("system", n as u64).map_err(s)?;
    heap.map().map_err(s)?.bytes().copy_from_slice(&data);
    let imp = b.import_buffer(heap.owned_fd()).map_err(s)?;
    let vgem = Vgem::open()?;
    let vbo = vgem.create(n as u64)?;
    let vimp = b.import_buffer(&vgem.export(&vbo)?).map_err(s)?;
    // Both imports are mapped for the device (their attachments mapped) by a job using them.
    let p = program(&b, None, Some((vimp.va(), imp.va(), n as u64)))?;
    done(
        &b,
        submit(&b, &p, &[&vimp], &[&imp], &[])?,
        "a copy between two imports",
    )?;
    same(vgem.map(&vbo)?, &data, "the vgem buffer after the copy")?;
    // The importing file goes, then the device: the dma-bufs (the heap's and vgem's, still
    // open here) outlive both, and every attachment is unmapped and detached on the way
    // (DMA-API debugging reports any mapping left behind at unbind). A file kept open across
    // the unbind would leave its page tables behind (docs/driver.md, "Known limits").
    drop((imp, vimp, p));
    drop(b);
    let drv = std::path::Path::new("/sys/bus/pci/drivers/tern");
    std::fs::write(drv.join("unbind"), &bdf).map_err(|e| format!("unbind {bdf}: {e}"))?;
    std::fs::write(drv.join("bind"), &bdf).map_err(|e| format!("bind {bdf}: {e}"))?;
    let deadline = std::time::Instant::now() + T;
    let b = loop {
        if let Ok(d) = dev(1) {
            break d;
        }
        check(std::time::Instant::now() < deadline, || {
            "the second device did not come back".into()
        })?;
        std::thread::sleep(Duration::from_millis(50));
    };
    // The same dma-bufs import again and serve a job.
    let imp = b.import_buffer(heap.owned_fd()).map_err(s)?;
    let mut out = b
        .create_buffer(n as u64, BufferFlags::default())
        .map_err(s)?;
    let p = program(&b, None, Some((out.va(), imp.va(), n as u64)))?;
    done(
        &b,
        submit(&b, &p, &[&out], &[&imp], &[])?,
        "a copy after rebind",
    )?;
    same(
        &out.bytes().map_err(s)?[..],
        &data,
        "the import after rebind",
    )
}

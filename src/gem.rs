// SPDX-License-Identifier: GPL-2.0

//! GEM buffer objects, backed by shmem.
//!
//! Every handle of a file refers to a [`TernBo`]: buffers are created by
//! `DRM_IOCTL_TERN_BO_CREATE`, PRIME import of a dma-buf exported by this device returns the
//! same object, and a dma-buf of any other exporter becomes a new [`TernBo`] that imports it
//! (the shmem abstraction's import path, `kernel/patches/0008-*`; see "Importing dma-bufs" in
//! `docs/driver.md`).

use kernel::{
    drm::gem::{
        self,
        shmem, //
    },
    prelude::*,
};

use crate::{
    bo::MAX_BO_SIZE, //@ step buffers
    driver::{
        TernDevice,
        TernDriver, //
    },
    mmu::PAGE, //@ step buffers
    uapi,      //@ step buffers
};

/// Driver data of a TERN buffer object.
#[pin_data]
pub(crate) struct BoData {
    //@ step buffers {
    /// The `DRM_TERN_BO_*` flags it was created with.
    pub(crate) flags: u32,
    //@ }
}

impl gem::DriverObject for BoData {
    type Driver = TernDriver;
    //@ before buffers: type Args = ();
    type Args = u32; //@ step buffers

    //@ before buffers: fn new(_dev: &TernDevice, _size: usize, _args: ()) -> impl PinInit<Self, Error> {
    //@ before buffers: try_pin_init!(Self {})
    //@ step buffers {
    fn new(_dev: &TernDevice, _size: usize, flags: u32) -> impl PinInit<Self, Error> {
        try_pin_init!(Self { flags })
        //@ }
    }

    //@ step buffers {

    /// A dma-buf of another device becomes a buffer with `DRM_TERN_BO_IMPORTED`, and
    /// `DRM_TERN_BO_DEVICE_READONLY` unless its exporter allows writing; it is refused with
    /// `E2BIG` above the largest buffer object and with `EINVAL` if its size is not a whole
    /// number of device pages (the device would reach past its end).
    fn import_args(_dev: &TernDevice, dma_buf: &gem::ForeignDmaBuf) -> Result<u32> {
        // CAST: usize and u64 have the same width on 64-bit machines.
        let size = dma_buf.size() as u64;
        if size > MAX_BO_SIZE {
            return Err(E2BIG);
        }
        if size == 0 || size % PAGE != 0 {
            return Err(EINVAL);
        }
        Ok(if dma_buf.writable() {
            uapi::DRM_TERN_BO_IMPORTED
        } else {
            uapi::DRM_TERN_BO_IMPORTED | uapi::DRM_TERN_BO_DEVICE_READONLY
        })
    }

    fn open(obj: &TernBo, file: &gem::DriverFile<Self>) -> Result {
        file.inner().ctx.handle_opened(obj)
    }

    fn close(obj: &TernBo, file: &gem::DriverFile<Self>) {
        // The buffer leaves this file's address space with its last handle in the file, once
        // the jobs submitted before have retired (see `vm`).
        file.inner().ctx.handle_closed(obj);
    }
    //@ }
}

/// A TERN buffer object.
pub(crate) type TernBo = shmem::Object<BoData>;

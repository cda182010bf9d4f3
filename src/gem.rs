// SPDX-License-Identifier: GPL-2.0

//! GEM buffer objects, backed by shmem.
//!
//! Every handle of a file refers to a [`TernBo`]: the only objects of this device are created by
//! `DRM_IOCTL_TERN_BO_CREATE`, and PRIME import of a dma-buf exported by this device returns the
//! same object. The device refuses foreign dma-bufs and dumb buffers (see
//! `kernel/patches/0007-*`): the DRM core would otherwise make plain C shmem objects for them,
//! which a handle lookup would take for a [`TernBo`].

use kernel::{
    drm::gem::{
        self,
        shmem, //
    },
    prelude::*,
};

use crate::driver::{
    TernDevice,
    TernDriver, //
};

/// Driver data of a TERN buffer object.
#[pin_data]
pub(crate) struct BoData {
    /// The `DRM_TERN_BO_*` flags it was created with.
    pub(crate) flags: u32,
}

impl gem::DriverObject for BoData {
    type Driver = TernDriver;
    type Args = u32;

    fn new(_dev: &TernDevice, _size: usize, flags: u32) -> impl PinInit<Self, Error> {
        try_pin_init!(Self { flags })
    }

    fn open(obj: &TernBo, file: &gem::DriverFile<Self>) -> Result {
        file.inner().ctx.handle_opened(obj)
    }

    fn close(obj: &TernBo, file: &gem::DriverFile<Self>) {
        // The buffer leaves this file's address space with its last handle in the file, once
        // the jobs submitted before have retired (see `vm`).
        file.inner().ctx.handle_closed(obj);
    }
}

/// A TERN buffer object.
pub(crate) type TernBo = shmem::Object<BoData>;

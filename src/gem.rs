// SPDX-License-Identifier: GPL-2.0

//! GEM buffer objects, backed by shmem.
//!
//! Nothing creates buffer objects yet. Before an ioctl looks up handles as [`TernBo`], foreign
//! dma-buf imports must be refused or made to create a [`TernBo`]: the core's default import
//! creates plain C shmem objects, which are not [`TernBo`]s.

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

/// Driver data of a TERN buffer object. Empty for now.
#[pin_data]
pub(crate) struct BoData {}

impl gem::DriverObject for BoData {
    type Driver = TernDriver;
    type Args = ();

    fn new(_dev: &TernDevice, _size: usize, _args: ()) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {})
    }
}

/// A TERN buffer object.
pub(crate) type TernBo = shmem::Object<BoData>;

// SPDX-License-Identifier: GPL-2.0

//! Per-open-file state.

use kernel::{
    drm,
    prelude::*, //
};

use crate::driver::{
    TernDevice,
    TernDriver, //
};

/// The state of an open `/dev/accel/accelN` file. Empty until the uAPI arrives.
pub(crate) struct File;

impl drm::file::DriverFile for File {
    type Driver = TernDriver;

    fn open(_dev: &TernDevice) -> Result<Pin<KBox<Self>>> {
        Ok(KBox::new(Self, GFP_KERNEL)?.into())
    }
}

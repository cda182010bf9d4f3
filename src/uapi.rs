// SPDX-License-Identifier: GPL-2.0

//! The driver's userspace interface, generated from `tern_accel.h` by bindgen.
//!
//! The structures and constants come from the build (out of tree, `Kbuild` generates them; in
//! the kernel's tree, the `uapi` crate has them); only the ioctl numbers are computed here,
//! because bindgen cannot evaluate the `DRM_IOWR()` macros.

//@ out-of-tree {
#[allow(
    clippy::all,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unreachable_pub
)]
mod generated {
    include!(env!("TERN_UAPI_RS"));
}

pub(crate) use generated::*;
//@ }
//@ in-tree: pub(crate) use kernel::uapi::*;

use kernel::{
    drm::ioctl::IOWR,
    //@ out-of-tree {
    //@ before jobs: transmute::FromBytes,
    //@ }
    transmute::FromBytes,   //@ step jobs
    uapi::DRM_COMMAND_BASE, //
};
//@ out-of-tree {
use kernel::transmute::AsBytes;
//@ }

/// `DRM_IOCTL_TERN_QUERY`.
pub(crate) const DRM_IOCTL_TERN_QUERY: u32 =
    IOWR::<drm_tern_query>(DRM_COMMAND_BASE + DRM_TERN_QUERY);
//@ step buffers {
/// `DRM_IOCTL_TERN_BO_CREATE`.
pub(crate) const DRM_IOCTL_TERN_BO_CREATE: u32 =
    IOWR::<drm_tern_bo_create>(DRM_COMMAND_BASE + DRM_TERN_BO_CREATE);
/// `DRM_IOCTL_TERN_BO_INFO`.
pub(crate) const DRM_IOCTL_TERN_BO_INFO: u32 =
    IOWR::<drm_tern_bo_info>(DRM_COMMAND_BASE + DRM_TERN_BO_INFO);
//@ }
//@ step jobs {
/// `DRM_IOCTL_TERN_SUBMIT`.
pub(crate) const DRM_IOCTL_TERN_SUBMIT: u32 =
    IOWR::<drm_tern_submit>(DRM_COMMAND_BASE + DRM_TERN_SUBMIT);
/// `DRM_IOCTL_TERN_WAIT`.
pub(crate) const DRM_IOCTL_TERN_WAIT: u32 = IOWR::<drm_tern_wait>(DRM_COMMAND_BASE + DRM_TERN_WAIT);
/// `DRM_IOCTL_TERN_SET_PRIORITY`.
pub(crate) const DRM_IOCTL_TERN_SET_PRIORITY: u32 =
    IOWR::<drm_tern_set_priority>(DRM_COMMAND_BASE + DRM_TERN_SET_PRIORITY);
//@ }
//@ step batch {
/// `DRM_IOCTL_TERN_SUBMIT_BATCH`.
pub(crate) const DRM_IOCTL_TERN_SUBMIT_BATCH: u32 =
    IOWR::<drm_tern_submit_batch>(DRM_COMMAND_BASE + DRM_TERN_SUBMIT_BATCH);
//@ }

//@ step jobs {
/// A user array entry of type `T`, read with [`FromBytes`] (implemented for the entries of the
/// arrays an ioctl points to; a wrapper, because the `uapi` structs are foreign types in tree).
#[repr(transparent)]
pub(crate) struct UserEntry<T>(pub(crate) T);

// SAFETY: `drm_tern_submit`, `drm_tern_bo_ref` and `drm_tern_sync` are declared with `__u32`,
// `__u64` and `__s64` fields only, naturally aligned, with explicit pad fields (see the size
// assertions below): every bit pattern is a valid value. `UserEntry` is `repr(transparent)`.
unsafe impl FromBytes for UserEntry<drm_tern_submit> {}
// SAFETY: As above.
unsafe impl FromBytes for UserEntry<drm_tern_bo_ref> {}
// SAFETY: As above.
unsafe impl FromBytes for UserEntry<drm_tern_sync> {}
//@ }

// Out of tree, `declare_drm_ioctls!` takes the argument types as paths and asks for both traits.
//@ out-of-tree {
/// Implements [`FromBytes`] and [`AsBytes`] for ioctl argument structs.
macro_rules! impl_ioctl_arg {
    ($($t:ty),* $(,)?) => {
        $(
            // SAFETY: See the comment at the invocation.
            unsafe impl FromBytes for $t {}
            // SAFETY: See the comment at the invocation.
            unsafe impl AsBytes for $t {}
        )*
    };
}

// SAFETY: The header declares these structs with `__u32`, `__u64` and `__s64` fields only, each
// naturally aligned, with explicit pad fields; the assertions below check that their sizes are the
// sums of their fields. Every bit pattern is therefore a valid value and they have no padding.
impl_ioctl_arg! {
    drm_tern_query,
    drm_tern_bo_create,
    drm_tern_bo_info,
    drm_tern_submit,
    drm_tern_wait,
    drm_tern_bo_ref,
    drm_tern_sync,
    drm_tern_set_priority,
    drm_tern_submit_batch,
}
//@ }

const _: () = {
    use core::mem::size_of;
    assert!(size_of::<drm_tern_query>() == 6 * 4 + 8 + 4 * 2 + 8 * 3 + 4 * 2);
    assert!(size_of::<drm_tern_bo_create>() == 8 + 4 + 4 + 8);
    assert!(size_of::<drm_tern_bo_info>() == 4 + 4 + 8 + 8 + 8);
    assert!(size_of::<drm_tern_submit>() == 4 * 4 + 8 + 8 + 4 + 4 + 8 + 8 + 8 + 4 * 4);
    assert!(size_of::<drm_tern_bo_ref>() == 4 + 4);
    assert!(size_of::<drm_tern_sync>() == 4 + 4 + 8);
    assert!(size_of::<drm_tern_wait>() == 4 + 4 + 8 + 8 + 4 + 4 + 8 + 8);
    assert!(size_of::<drm_tern_set_priority>() == 4 + 4);
    assert!(size_of::<drm_tern_submit_batch>() == 8 + 4 * 4);
};

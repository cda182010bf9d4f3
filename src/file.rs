// SPDX-License-Identifier: GPL-2.0

//! Per-open-file state.

use kernel::{
    drm,
    prelude::*,
    //@ step jobs {
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
    //@ }
    //@ step buffers {
    //@ before jobs: sync::Arc,
    //@ }
};

use crate::{
    driver::{
        TernDevice,
        TernDriver, //
    },
    job::FileJobs,    //@ step jobs
    regs::NUM_QUEUES, //@ step jobs
    shared::Shared,   //@ step buffers
    uapi,             //@ step jobs
    vm::Context,      //@ step buffers
};

/// The state of an open `/dev/accel/accelN` file.
pub(crate) struct File {
    //@ step buffers {
    /// The file's device address space.
    pub(crate) ctx: Arc<Context>,
    //@ }
    //@ step jobs {
    /// The jobs the file submitted and their results.
    pub(crate) jobs: Arc<FileJobs>,
    /// Jobs submitted so far.
    submitted: Atomic<u64>,
    /// `DRM_TERN_PRIORITY_*` of the jobs it submits.
    priority: Atomic<u32>,
    /// The device state, to cancel the file's jobs when it closes.
    shared: Arc<Shared>,
    //@ }
}

//@ step jobs {
impl Drop for File {
    fn drop(&mut self) {
        // Jobs that have not started are cancelled; those on the ring finish.
        for q in 0..NUM_QUEUES {
            if let Some(queue) = self.shared.queues.get(q) {
                queue.cancel(self.jobs.entity(q), &self.shared);
            }
        }
    }
}

impl File {
    /// Counts a submitted job.
    pub(crate) fn count_submission(&self) {
        self.submitted.add(1, Relaxed);
    }

    /// Jobs submitted so far.
    pub(crate) fn submitted(&self) -> u64 {
        self.submitted.load(Relaxed)
    }

    /// The priority of the jobs it submits.
    pub(crate) fn priority(&self) -> u32 {
        self.priority.load(Relaxed)
    }

    /// Sets the priority of the jobs it submits from now on.
    pub(crate) fn set_priority(&self, priority: u32) {
        self.priority.store(priority, Relaxed);
    }
}
//@ }

impl drm::file::DriverFile for File {
    type Driver = TernDriver;

    //@ before buffers: fn open(_dev: &TernDevice) -> Result<Pin<KBox<Self>>> {
    //@ step buffers {
    fn open(dev: &TernDevice) -> Result<Pin<KBox<Self>>> {
        let shared: Arc<Shared> = (**dev).clone();
        //@ }
        let jobs = FileJobs::new()?; //@ step jobs
        let file = Self {
            //@ step buffers {
            //@ before jobs: ctx: Context::new(shared)?,
            //@ }
            //@ step jobs {
            ctx: Context::new(shared.clone(), jobs.clone())?,
            jobs,
            submitted: Atomic::new(0),
            priority: Atomic::new(uapi::DRM_TERN_PRIORITY_NORMAL),
            shared,
            //@ }
        };
        Ok(KBox::new(file, GFP_KERNEL)?.into())
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Per-file device address spaces: an MMU context, its page tables and the buffers mapped in it.
//!
//! Lifetime of a mapping (`docs/driver.md`, "Buffer lifetime"): a buffer stays mapped while the
//! file has a handle to it. When its last handle in the file closes, the mapping is *closed*:
//! it keeps its pages, its page table entries and its VA until every job submitted before the
//! close has retired, since a job may use any VA of its context, not only the buffers it
//! listed. Then the entries are cleared, the device's cached translations are invalidated and
//! the invalidation's completion awaited, and only then are the pages released and the VA
//! reused. Closed mappings are released by the file's next buffer operation, and all of them
//! with the address space.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    drm::gem::BaseObject,
    prelude::*,
    sync::{
        aref::ARef,
        new_mutex,
        Arc,
        Mutex, //
    },
};

use crate::{
    gem::TernBo,
    job::FileJobs, //@ step jobs
    mmu::{
        PageTable,
        PAGE, //
    },
    regs::VA_BITS,
    shared::{
        QueueMarks, //@ step jobs
        Shared,     //
    },
    uapi,
};

/// Lowest device VA a buffer can be mapped at: the first 64 KiB stay unmapped to catch null
/// pointers; the kernel argument block lives at 64 KiB (`docs/hardware.md` 12.4).
pub(crate) const VA_START: u64 = 0x1_0000;
/// First device VA past the usable range: the whole 39-bit address space.
pub(crate) const VA_END: u64 = 1 << VA_BITS;
/// Where the driver starts looking for room when it chooses the VA itself, above the range that
/// userspace conventionally places at fixed addresses.
const VA_AUTO_START: u64 = 0x10_0000;

/// Most buffers one file can have mapped, closed mappings included (`ENOSPC` beyond).
pub(crate) const MAX_FILE_BOS: usize = 4096;
/// Most bytes one file can have mapped, closed mappings included (`ENOSPC` beyond).
pub(crate) const MAX_FILE_BYTES: u64 = 1 << 30;

/// A buffer mapped in an address space.
struct Mapping {
    va: u64,
    size: u64,
    bo: ARef<TernBo>,
    /// Set when the file closed its last handle: what must finish before the mapping goes.
    /// `None` while the file has a handle.
    closed: Option<Closed>,
    /// Set once the page table entries are cleared and only the invalidation is missing.
    unmapped: bool,
}

/// What a closed mapping waits for before it goes.
#[derive(Clone, Copy)]
enum Closed {
    //@ step jobs {
    /// The SUBMITs of the file that started before the close (tickets below this one) and
    /// may still add a job that uses the mapping's VA.
    Submits(u64),
    /// The jobs of the file up to these, once those SUBMITs have ended.
    Jobs(QueueMarks),
    //@ }
    //@ before jobs: /// No job can use it: it goes at once.
    //@ before jobs: Now,
}

//@ step jobs {
/// A SUBMIT under way in the file, from its first look at a handle until its job is recorded;
/// see [`Context::begin_submit`].
pub(crate) struct SubmitTicket<'a> {
    ctx: &'a Context,
    ticket: u64,
}

impl Drop for SubmitTicket<'_> {
    fn drop(&mut self) {
        let mut vm = self.ctx.vm.lock();
        vm.submitting.retain(|t| *t != self.ticket);
    }
}
//@ }

/// The number of handles the file has to a buffer.
struct Handles {
    /// The buffer's address, as a key: compared, never dereferenced.
    bo: usize,
    count: u32,
}

/// The key of `bo` in [`Vm::handles`].
fn key(bo: &TernBo) -> usize {
    core::ptr::from_ref(bo) as usize
}

/// The mutable part of an address space.
struct Vm {
    /// Created on first use, when a bound device is at hand to allocate it.
    pt: Option<PageTable>,
    /// Sorted by VA, without overlaps; closed mappings still hold their VA.
    mappings: KVec<Mapping>,
    /// Handles of the file, per buffer.
    handles: KVec<Handles>,
    /// Number of closed mappings: when 0, releasing has nothing to do (the common case on
    /// the submission path, which must not scan the mappings).
    closed: usize,
    //@ step jobs {
    /// The ticket of the next SUBMIT.
    next_ticket: u64,
    /// The tickets of the SUBMITs under way.
    submitting: KVec<u64>,
    //@ }
}

impl Vm {
    /// Whether `[va, va + size)` overlaps a mapping.
    fn overlaps(&self, va: u64, size: u64) -> bool {
        self.mappings
            .iter()
            .any(|m| va < m.va + m.size && m.va < va + size)
    }

    /// The open (not closed) mapping of `bo`.
    fn open_mapping(&self, bo: &TernBo) -> Option<&Mapping> {
        self.mappings
            .iter()
            .find(|m| m.closed.is_none() && core::ptr::eq(&*m.bo, bo))
    }

    /// Fails with `ENOSPC` if one more buffer of `size` bytes exceeds the file's limits.
    fn check_limits(&self, size: u64) -> Result {
        let bytes: u64 = self.mappings.iter().map(|m| m.size).sum();
        if self.mappings.len() >= MAX_FILE_BOS || bytes + size > MAX_FILE_BYTES {
            return Err(ENOSPC);
        }
        Ok(())
    }

    /// Finds room for `size` bytes, keeping an unmapped guard page after every mapping.
    fn find_room(&self, size: u64) -> Result<u64> {
        let mut va = VA_AUTO_START;
        for m in self.mappings.iter() {
            let end = m.va + m.size + PAGE;
            if end <= va {
                continue;
            }
            if m.va >= va.checked_add(size + PAGE).ok_or(ENOMEM)? {
                break;
            }
            va = end;
        }
        match va.checked_add(size) {
            Some(end) if end <= VA_END => Ok(va),
            _ => Err(ENOMEM),
        }
    }
}

/// The device address space of an open file.
#[pin_data(PinnedDrop)]
pub(crate) struct Context {
    shared: Arc<Shared>,
    //@ step jobs {
    /// The jobs of the file: a closed mapping stays until those submitted before the close
    /// have finished.
    jobs: Arc<FileJobs>,
    //@ }
    id: u32,
    #[pin]
    vm: Mutex<Vm>,
}

impl Context {
    /// Reserves a context id for a new, empty address space.
    //@ before jobs: pub(crate) fn new(shared: Arc<Shared>) -> Result<Arc<Self>> {
    //@ step jobs {
    pub(crate) fn new(shared: Arc<Shared>, jobs: Arc<FileJobs>) -> Result<Arc<Self>> {
        //@ }
        let id = shared.alloc_context()?;
        let owner = shared.clone();
        Arc::pin_init(
            try_pin_init!(Self {
                shared,
                jobs, //@ step jobs
                id,
                vm <- new_mutex!(Vm {
                    pt: None,
                    mappings: KVec::new(),
                    handles: KVec::new(),
                    closed: 0,
                    next_ticket: 0, //@ step jobs
                    submitting: KVec::new(), //@ step jobs
                }),
            }? Error),
            GFP_KERNEL,
        )
        .inspect_err(|_| owner.release_context_id(id))
    }

    /// The MMU context index.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// Creates a buffer with `create` and maps it at `fixed`, or where there is room.
    ///
    /// Returns the buffer and its VA. Fails with `EEXIST` if `fixed` overlaps a mapping,
    /// `ENOMEM` if there is no room and `ENOSPC` beyond the file's limits; then nothing changed.
    pub(crate) fn create_mapped(
        &self,
        dev: &Device<Bound>,
        size: u64,
        fixed: Option<u64>,
        create: impl FnOnce() -> Result<ARef<TernBo>>,
    ) -> Result<(ARef<TernBo>, u64)> {
        self.release_retired();
        let mut vm = self.vm.lock();
        vm.check_limits(size)?;
        let va = match fixed {
            Some(va) if vm.overlaps(va, size) => return Err(EEXIST),
            Some(va) => va,
            None => vm.find_room(size)?,
        };
        let bo = create()?;
        self.map_locked(&mut vm, dev, &bo, va)?;
        Ok((bo, va))
    }

    /// The VA of `bo` in this address space, mapping it first if needed (a buffer imported from
    /// another file of the device). The second value tells whether it was mapped by this call.
    pub(crate) fn va_of(&self, dev: &Device<Bound>, bo: &ARef<TernBo>) -> Result<(u64, bool)> {
        self.release_retired();
        let mut vm = self.vm.lock();
        if let Some(m) = vm.open_mapping(bo) {
            return Ok((m.va, false));
        }
        let size = Self::bo_size(bo);
        vm.check_limits(size)?;
        let va = vm.find_room(size)?;
        self.map_locked(&mut vm, dev, bo, va)?;
        Ok((va, true))
    }

    /// The size of a buffer object in bytes.
    fn bo_size(bo: &TernBo) -> u64 {
        // CAST: usize and u64 have the same width on 64-bit machines.
        bo.size() as u64
    }

    /// Maps the pages of `bo` at `va` and records the mapping.
    fn map_locked(&self, vm: &mut Vm, dev: &Device<Bound>, bo: &ARef<TernBo>, va: u64) -> Result {
        let size = Self::bo_size(bo);
        vm.mappings.reserve(1, GFP_KERNEL)?;
        let pt = match &mut vm.pt {
            Some(pt) => pt,
            pt @ None => {
                let new = PageTable::new(dev)?;
                self.shared.set_context_root(self.id, new.root_dma())?;
                pt.insert(new)
            }
        };
        let writable = bo.flags & uapi::DRM_TERN_BO_DEVICE_READONLY == 0;
        let mut mapped = 0;
        let result = (|| -> Result {
            let sgt = bo.sg_table(dev)?;
            for sg in sgt.iter() {
                let (addr, len) = (sg.dma_address(), sg.dma_len());
                // The table of an imported buffer comes from its exporter: the device maps
                // whole pages only.
                if addr % PAGE != 0 || len % PAGE != 0 {
                    return Err(EINVAL);
                }
                let mut off = 0;
                while off < len && mapped < size {
                    pt.map(dev, va + mapped, addr + off, writable)?;
                    off += PAGE;
                    mapped += PAGE;
                }
            }
            if mapped < size {
                return Err(EINVAL);
            }
            Ok(())
        })();
        if let Err(e) = result {
            let mut off = 0;
            while off < mapped {
                pt.unmap(va + off);
                off += PAGE;
            }
            // No job was told about these entries, but one may have guessed the VA: the pages
            // stay referenced by the caller until the device has forgotten them.
            if let Err(ie) = self.shared.invalidate(self.id) {
                self.log_stuck(ie);
            }
            return Err(e);
        }

        let i = vm.mappings.partition_point(|m| m.va < va);
        vm.mappings
            .insert_within_capacity(
                i,
                Mapping {
                    va,
                    size,
                    bo: bo.clone(),
                    closed: None,
                    unmapped: false,
                },
            )
            .map_err(|_| ENOMEM)?;
        Ok(())
    }

    /// A new handle of the file refers to `bo`.
    pub(crate) fn handle_opened(&self, bo: &TernBo) -> Result {
        let mut vm = self.vm.lock();
        if let Some(h) = vm.handles.iter_mut().find(|h| h.bo == key(bo)) {
            h.count += 1;
            return Ok(());
        }
        vm.handles.push(
            Handles {
                bo: key(bo),
                count: 1,
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }

    /// A handle of the file to `bo` was closed: with the last one, the mapping of `bo` is
    /// closed (see the module documentation).
    pub(crate) fn handle_closed(&self, bo: &TernBo) {
        {
            let mut vm = self.vm.lock();
            if let Some(i) = vm.handles.iter().position(|h| h.bo == key(bo)) {
                let last = vm.handles.get(i).is_some_and(|h| h.count <= 1);
                if !last {
                    if let Some(h) = vm.handles.get_mut(i) {
                        h.count -= 1;
                    }
                    return;
                }
                let _ = vm.handles.remove(i);
            }
            self.close_locked(&mut vm, bo);
        }
        self.release_retired();
    }

    /// Closes the open mapping of `bo`, if any, without a handle count: for a buffer that never
    /// got a handle (a failed create) or a mapping made by an ioctl that then failed.
    pub(crate) fn discard(&self, bo: &TernBo) {
        let mut vm = self.vm.lock();
        self.close_locked(&mut vm, bo);
    }

    /// Marks the open mapping of `bo` closed as of now.
    ///
    /// A SUBMIT of the file that is under way may already have looked up the buffers and
    /// computed VAs, and record its job only later: the mapping waits for those SUBMITs to end
    /// before it takes the file's last jobs as what must finish.
    fn close_locked(&self, vm: &mut Vm, bo: &TernBo) {
        //@ step jobs {
        let closed = if vm.submitting.is_empty() {
            Closed::Jobs(self.jobs.marks())
        } else {
            Closed::Submits(vm.next_ticket)
        };
        //@ }
        //@ before jobs: let closed = Closed::Now;
        if let Some(m) = vm
            .mappings
            .iter_mut()
            .find(|m| m.closed.is_none() && core::ptr::eq(&*m.bo, bo))
        {
            m.closed = Some(closed);
            vm.closed += 1;
        }
    }

    //@ step jobs {
    /// Records a SUBMIT of the file as under way until the ticket is dropped; it must be taken
    /// before the SUBMIT looks up any handle.
    pub(crate) fn begin_submit(&self) -> Result<SubmitTicket<'_>> {
        let mut vm = self.vm.lock();
        let ticket = vm.next_ticket;
        vm.submitting.push(ticket, GFP_KERNEL)?;
        vm.next_ticket += 1;
        Ok(SubmitTicket { ctx: self, ticket })
    }
    //@ }

    /// Releases the closed mappings whose jobs have all retired: clears their entries,
    /// invalidates, and drops the buffers once the device has completed the invalidation.
    fn release_retired(&self) {
        let mut released = KVec::new();
        {
            let mut vm = self.vm.lock();
            let vm = &mut *vm;
            if vm.closed == 0 {
                return;
            }
            let mut cleared = false;
            for m in vm.mappings.iter_mut() {
                //@ step jobs {
                if let Some(Closed::Submits(t)) = m.closed {
                    if vm.submitting.iter().all(|&s| s >= t) {
                        m.closed = Some(Closed::Jobs(self.jobs.marks()));
                    }
                }
                let ready = match &m.closed {
                    Some(Closed::Jobs(marks)) => self.jobs.finished_past(marks),
                    _ => false,
                };
                //@ }
                //@ before jobs: let ready = m.closed.is_some();
                if ready && !m.unmapped {
                    if let Some(pt) = &mut vm.pt {
                        let mut off = 0;
                        while off < m.size {
                            pt.unmap(m.va + off);
                            off += PAGE;
                        }
                    }
                    m.unmapped = true;
                    cleared = true;
                }
            }
            let pending = vm.mappings.iter().filter(|m| m.unmapped).count();
            if !cleared && pending == 0 {
                return;
            }
            // Room to move them out, so that they are dropped outside the lock.
            if released.reserve(pending, GFP_KERNEL).is_err() {
                return;
            }
            // The pages may only be released once the device forgot their translations; if it
            // does not confirm that, they stay (and their VA stays taken) for the next attempt.
            if let Err(e) = self.shared.invalidate(self.id) {
                self.log_stuck(e);
                return;
            }
            let mut i = 0;
            while i < vm.mappings.len() {
                if vm.mappings.get(i).is_some_and(|m| m.unmapped) {
                    if let Ok(m) = vm.mappings.remove(i) {
                        vm.closed -= 1;
                        // Within the capacity reserved above.
                        let _ = released.push_within_capacity(m);
                    }
                } else {
                    i += 1;
                }
            }
        }
        drop(released);
    }

    /// Logs, once per device, that the device did not complete an invalidation.
    fn log_stuck(&self, e: Error) {
        if self.shared.first_stuck() {
            dev_err!(
                self.shared.dev,
                "context {}: the device did not complete an invalidation ({e:?}): \
                the memory it may still use stays allocated\n",
                self.id
            );
        }
    }

    /// Number of buffers mapped (closed ones included) and bytes they cover.
    pub(crate) fn usage(&self) -> (usize, u64) {
        self.release_retired();
        let vm = self.vm.lock();
        (vm.mappings.len(), vm.mappings.iter().map(|m| m.size).sum())
    }
}

#[pinned_drop]
impl PinnedDrop for Context {
    fn drop(self: Pin<&mut Self>) {
        // Every job of the context has retired (each held a reference to it). Before the page
        // tables and the buffers go, the device must have forgotten the context; if it does
        // not confirm that, they are leaked rather than freed under it.
        if let Err(e) = self.shared.free_context(self.id) {
            self.log_stuck(e);
            let mut guard = self.vm.lock();
            let state = core::mem::replace(
                &mut *guard,
                Vm {
                    pt: None,
                    mappings: KVec::new(),
                    handles: KVec::new(),
                    closed: 0,
                    next_ticket: 0,          //@ step jobs
                    submitting: KVec::new(), //@ step jobs
                },
            );
            core::mem::forget(state);
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Per-file device address spaces: an MMU context, its page tables and the buffers mapped in it.

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
    mmu::{
        PageTable,
        PAGE, //
    },
    regs::VA_BITS,
    shared::Shared,
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

/// A buffer mapped in an address space.
struct Mapping {
    va: u64,
    size: u64,
    bo: ARef<TernBo>,
}

/// The mutable part of an address space.
struct Vm {
    /// Created on first use, when a bound device is at hand to allocate it.
    pt: Option<PageTable>,
    /// Sorted by VA, without overlaps.
    mappings: KVec<Mapping>,
}

impl Vm {
    /// Whether `[va, va + size)` overlaps a mapping.
    fn overlaps(&self, va: u64, size: u64) -> bool {
        self.mappings
            .iter()
            .any(|m| va < m.va + m.size && m.va < va + size)
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
    id: u32,
    #[pin]
    vm: Mutex<Vm>,
}

impl Context {
    /// Reserves a context id for a new, empty address space.
    pub(crate) fn new(shared: Arc<Shared>) -> Result<Arc<Self>> {
        let id = shared.alloc_context()?;
        let owner = shared.clone();
        Arc::pin_init(
            try_pin_init!(Self {
                shared,
                id,
                vm <- new_mutex!(Vm {
                    pt: None,
                    mappings: KVec::new(),
                }),
            }? Error),
            GFP_KERNEL,
        )
        .inspect_err(|_| owner.free_context(id))
    }

    /// The MMU context index.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// Creates a buffer with `create` and maps it at `fixed`, or where there is room.
    ///
    /// Returns the buffer and its VA. Fails with `EEXIST` if `fixed` overlaps a mapping and
    /// `ENOMEM` if there is no room; then nothing changed.
    pub(crate) fn create_mapped(
        &self,
        dev: &Device<Bound>,
        size: u64,
        fixed: Option<u64>,
        create: impl FnOnce() -> Result<ARef<TernBo>>,
    ) -> Result<(ARef<TernBo>, u64)> {
        let mut vm = self.vm.lock();
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
    /// another file of the device).
    pub(crate) fn va_of(&self, dev: &Device<Bound>, bo: &ARef<TernBo>) -> Result<u64> {
        let mut vm = self.vm.lock();
        if let Some(m) = vm.mappings.iter().find(|m| core::ptr::eq(&*m.bo, &**bo)) {
            return Ok(m.va);
        }
        let va = vm.find_room(Self::bo_size(bo))?;
        self.map_locked(&mut vm, dev, bo, va)?;
        Ok(va)
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
            self.shared.invalidate(self.id);
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
                },
            )
            .map_err(|_| ENOMEM)?;
        Ok(())
    }

    /// Unmaps `bo` from this address space, if it is mapped.
    pub(crate) fn unmap(&self, bo: &TernBo) {
        let removed = {
            let mut vm = self.vm.lock();
            let Some(i) = vm.mappings.iter().position(|m| core::ptr::eq(&*m.bo, bo)) else {
                return;
            };
            let Ok(m) = vm.mappings.remove(i) else {
                return;
            };
            if let Some(pt) = &mut vm.pt {
                let mut off = 0;
                while off < m.size {
                    pt.unmap(m.va + off);
                    off += PAGE;
                }
            }
            // The pages may only be released once the device forgot their translations.
            self.shared.invalidate(self.id);
            m
        };
        drop(removed);
    }

    /// Number of buffers mapped and bytes they cover.
    pub(crate) fn usage(&self) -> (usize, u64) {
        let vm = self.vm.lock();
        (vm.mappings.len(), vm.mappings.iter().map(|m| m.size).sum())
    }
}

#[pinned_drop]
impl PinnedDrop for Context {
    fn drop(self: Pin<&mut Self>) {
        // Before the page tables are freed: no job may walk them any more.
        self.shared.free_context(self.id);
    }
}

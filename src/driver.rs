// SPDX-License-Identifier: GPL-2.0

//! PCI probe/unbind and the DRM compute-accelerator device.

use core::cell::Cell;

use kernel::{
    device::{
        Bound,
        Core,
        DeviceContext, //
    },
    dma::{
        Device as _,
        DmaMask, //
    },
    drm,
    io::Io,
    irq, pci,
    prelude::*,
    sync::{
        aref::ARef,
        Arc, //
    },
};

use crate::{
    batch, //@ step batch
    bo,    //@ step buffers
    //@ step debugfs {
    debugfs::{
        self,
        Debugfs, //
    },
    //@ }
    event::EventIrq,
    file::File,
    //@ step firmware {
    fw::{
        self,
        FwInfo, //
    },
    //@ }
    gem::TernBo,
    ioctl,
    queue::QueueIrq, //@ step jobs
    regs,
    selftest::SelfTestIrq, //@ step debugfs
    shared::Shared,
    submit, //@ step jobs
    uapi::{
        // In tree, the ioctl table names the argument types of the `uapi` crate.
        //@ out-of-tree {
        self,
        //@ }
        DRM_IOCTL_TERN_BO_CREATE, //@ step buffers
        DRM_IOCTL_TERN_BO_INFO,   //@ step buffers
        DRM_IOCTL_TERN_QUERY,
        DRM_IOCTL_TERN_SET_PRIORITY, //@ step jobs
        DRM_IOCTL_TERN_SUBMIT,       //@ step jobs
        DRM_IOCTL_TERN_SUBMIT_BATCH, //@ step batch
        DRM_IOCTL_TERN_WAIT,         //@ step jobs
    },
};

/// The TERN driver: the PCI driver and the DRM driver of the device.
pub(crate) struct TernDriver;

/// The DRM device of a TERN device.
pub(crate) type TernDevice<Ctx = drm::Normal> = drm::Device<TernDriver, Ctx>;

/// BAR0, the register window.
pub(crate) type Bar0<'a> = pci::Bar<'a, { regs::BAR0_SIZE }>;

/// PCI device ID of TERN devices.
const TERN_DEVICE_ID: u32 = 0x7e50;

/// How long the probe waits for the test interrupt, in milliseconds.
const IRQ_TEST_TIMEOUT_MS: u32 = 1000;

/// Value written to `SCRATCH` by the register self-test.
const SCRATCH_PATTERN: u32 = 0xa5c3_5a3c;

kernel::pci_device_table!(
    PCI_TABLE,
    <TernDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::from_raw(0x1234), TERN_DEVICE_ID),
        ()
    )]
);

const INFO: drm::DriverInfo = drm::DriverInfo {
    major: 0,
    minor: 1,
    patchlevel: 0,
    name: c"tern",
    desc: c"TERN processing accelerator",
};

/// The hardware of a bound device: its interrupt handlers and what the probe found out.
///
/// Owned by the DRM registration: it lives while the DRM device is registered, and ioctls reach
/// it through [`drm::Device::registration_data_with`]. It is dropped after the DRM device has been
/// unplugged: first the device is reset (see [`PinnedDrop`]), then the fields go in declaration
/// order: the interrupt handlers, then the jobs left on the queues.
#[pin_data(PinnedDrop)]
pub(crate) struct Hw<'a> {
    /// The device event interrupt handler (MSI-X vector 0).
    #[pin]
    events: irq::ThreadedRegistration<'a, EventIrq>,
    //@ step jobs {
    /// The queue interrupt handlers (MSI-X vectors 1 to 4).
    #[pin]
    q0: irq::ThreadedRegistration<'a, QueueIrq>,
    #[pin]
    q1: irq::ThreadedRegistration<'a, QueueIrq>,
    #[pin]
    q2: irq::ThreadedRegistration<'a, QueueIrq>,
    #[pin]
    q3: irq::ThreadedRegistration<'a, QueueIrq>,
    //@ }
    //@ step debugfs {
    /// The self-test interrupt handler (MSI-X vector 5), a hard interrupt handler.
    #[pin]
    selftest: irq::Registration<'a, SelfTestIrq>,
    /// Removed before the recovery stops, so that it asks for no more resets.
    _debugfs: Option<Pin<KBox<Debugfs>>>,
    //@ }
    /// Stops the watchdog and the recovery once no interrupt handler can ask for a reset.
    _stop: StopRecovery, //@ step recovery
    //@ step jobs {
    /// Ends the jobs left on the queues once no interrupt handler runs any more.
    _abort: AbortJobs,
    //@ }
    /// The state shared with files, buffers and interrupt handlers.
    pub(crate) shared: Arc<Shared>,
    /// The PCI device.
    pub(crate) pdev: &'a pci::Device<Bound>,
    /// The `HW_VERSION` register.
    pub(crate) hw_version: u32,
    /// The `CAPS` register.
    pub(crate) caps: u32,
    //@ step firmware {
    /// The running firmware.
    pub(crate) fw: FwInfo,
    //@ }
}

#[pinned_drop]
impl PinnedDrop for Hw<'_> {
    fn drop(self: Pin<&mut Self>) {
        // Stop all DMA before anything the device uses is released: every queue is disabled and
        // the jobs in flight end as aborted.
        if let Ok(bar) = self.shared.bar.access(self.pdev.as_ref()) {
            Shared::reset_device(bar);
        }
    }
}

//@ step recovery {
/// Stops the watchdog and the recovery work and waits for them, when dropped.
struct StopRecovery(Arc<Shared>);

impl Drop for StopRecovery {
    fn drop(&mut self) {
        self.0.stop_recovery();
    }
}
//@ }

//@ step jobs {
/// Ends the jobs left on the queues as aborted when dropped.
struct AbortJobs(Arc<Shared>);

impl Drop for AbortJobs {
    fn drop(&mut self) {
        self.0.abort_all();
    }
}
//@ }

/// The steps of the probe that run inside the DRM registration.
#[derive(Clone, Copy)]
enum SetupStep {
    /// Requesting an interrupt.
    Interrupt,
    /// A step that logs its own failure.
    Logged,
    /// Registering the DRM device.
    Register,
}

/// The driver data of a bound PCI device.
#[pin_data]
pub(crate) struct TernData<'bound> {
    /// The state shared with files; told first when the device goes away.
    shared: Arc<Shared>,
    /// Unregisters (unplugs) the DRM device, then drops [`Hw`], on unbind.
    _reg: drm::Registration<'bound, TernDriver>,
}

//@ step jobs {
/// Returns the interrupt request and the queue of the handler of queue `q`.
fn queue_irq<'a>(
    vectors: &'a pci::IrqVectorRegistration<'a>,
    shared: &Arc<Shared>,
    q: usize,
) -> Result<(irq::IrqRequest<'a>, QueueIrq)> {
    let queue = shared.queues.get(q).cloned().ok_or(EINVAL)?;
    Ok((
        vectors.index(1 + q)?.into(),
        QueueIrq::new(queue, shared.clone()),
    ))
}

/// Registers the threaded handler of a queue interrupt.
///
/// # Safety
///
/// The registration must be dropped, never forgotten.
unsafe fn register_queue_irq<'a>(
    (request, handler): (irq::IrqRequest<'a>, QueueIrq),
) -> impl PinInit<irq::ThreadedRegistration<'a, QueueIrq>, Error> + 'a {
    // SAFETY: The caller drops the registration.
    unsafe {
        irq::ThreadedRegistration::new(
            request,
            irq::Flags::TRIGGER_NONE,
            c"tern-queue",
            Ok::<_, Error>(handler),
        )
    }
}
//@ }

impl pci::Driver for TernDriver {
    type IdInfo = ();
    type Data<'bound> = TernData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pdev.enable_device_mem()
            .inspect_err(|e| dev_err!(pdev, "cannot enable the device: {e:?}\n"))?;
        pdev.set_master();
        // Every failing step below has stopped the device before it returned; with bus
        // mastering off as well, nothing of the device reaches memory after a failed probe.
        setup(pdev).inspect_err(|_| pdev.clear_master())
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        let pdev: &pci::Device<Bound> = pdev;
        //@ step recovery {
        // No reset may run while the device goes away.
        this.shared.stop_recovery();
        //@ }
        //@ step jobs {
        // Before the DRM device is unplugged, which waits for running ioctls: no new jobs, and
        // waiters return now instead of at their timeout.
        this.shared.kill();
        //@ }
        // Stop the device, then end every job it still had. This must happen before the DRM
        // device can be released: jobs hold buffer objects, which must not outlive it.
        if let Ok(bar) = this.shared.bar.access(pdev.as_ref()) {
            //@ before buffers: Shared::reset_device(bar);
            this.shared.quiesce(bar); //@ step buffers
        }
        //@ step jobs {
        this.shared.abort_all();
        //@ }
        // The DRM device owns the shared state: break the cycle.
        let drm = this.shared.drm.lock().take();
        drop(drm);
    }
}

/// The probe once the device is enabled: everything that a failure must undo.
fn setup<'bound>(pdev: &'bound pci::Device<Core<'_>>) -> Result<TernData<'bound>> {
    let pdev_bound: &'bound pci::Device<Bound> = pdev;

    let bar = pdev
        .iomap_region_sized::<{ regs::BAR0_SIZE }>(0, c"tern")
        .inspect_err(|e| dev_err!(pdev, "cannot map BAR0: {e:?}\n"))?;

    // The device reaches what a page table entry can hold: address bits 51:12.
    // SAFETY: Nothing allocates or maps DMA memory for this device before `probe` returns.
    unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<{ regs::DMA_BITS }>()) }.inspect_err(
        |e| {
            dev_err!(
                pdev,
                "cannot set a {}-bit DMA mask: {e:?}\n",
                regs::DMA_BITS
            )
        },
    )?;
    // The MMU maps every 4 KiB page on its own: a DMA segment may have any length.
    // SAFETY: As above.
    unsafe { pdev.dma_set_max_seg_size(u32::MAX) };

    let hw_version = check_registers(pdev, &bar)?;
    let caps = bar.read32(regs::CAPS);
    let queue_count = bar.read32(regs::QUEUE_COUNT);
    // CAST: 4 queues.
    if queue_count < regs::NUM_QUEUES as u32 {
        dev_err!(
            pdev,
            "{queue_count} hardware queues, the driver needs {}\n",
            regs::NUM_QUEUES
        );
        return Err(ENODEV);
    }

    let msix = pci::IrqTypes::default().with(pci::IrqType::MsiX);
    let vectors = pdev
        .alloc_irq_vectors(regs::NUM_VECTORS, regs::NUM_VECTORS, msix)
        .and_then(pci::IrqVectorRegistration::into_devres)
        .inspect_err(|e| {
            dev_err!(
                pdev,
                "cannot allocate {} MSI-X vectors: {e:?}\n",
                regs::NUM_VECTORS
            )
        })?;
    // CAST: `VECTOR_EVENTS` is a small constant.
    let events_irq = vectors
        .index(regs::VECTOR_EVENTS as usize)
        .inspect_err(|e| dev_err!(pdev, "no MSI-X vector for device events: {e:?}\n"))?;

    let bar = bar
        .into_devres()
        .inspect_err(|e| dev_err!(pdev, "cannot register BAR0 with devres: {e:?}\n"))?;
    let shared = Shared::new(pdev.as_ref(), bar)
        .inspect_err(|e| dev_err!(pdev, "cannot allocate the device memory: {e:?}\n"))?;

    let drm = drm::UnregisteredDevice::<TernDriver>::new(pdev, Ok::<_, Error>(shared.clone()))
        .inspect_err(|e| dev_err!(pdev, "cannot allocate the DRM device: {e:?}\n"))?;

    //@ step debugfs {
    // CAST: `VECTOR_SELFTEST` is a small constant.
    let selftest_irq = vectors
        .index(regs::VECTOR_SELFTEST as usize)
        .inspect_err(|e| dev_err!(pdev, "no MSI-X vector for the self-test: {e:?}\n"))?;
    //@ }

    //@ step jobs {
    let queue_irqs = [
        queue_irq(vectors, &shared, 0),
        queue_irq(vectors, &shared, 1),
        queue_irq(vectors, &shared, 2),
        queue_irq(vectors, &shared, 3),
    ];
    let [i0, i1, i2, i3] = queue_irqs;
    let irqs = (|| Ok::<_, Error>((i0?, i1?, i2?, i3?)))()
        .inspect_err(|e| dev_err!(pdev, "no MSI-X vectors for the queues: {e:?}\n"))?;
    //@ }

    // The step of the setup below that fails, so that the failure is logged exactly once.
    let step = &Cell::new(SetupStep::Interrupt);
    let sh = &shared;
    let hw = try_pin_init!(Hw {
        // SAFETY: The registration is a field of `Hw`, which is dropped, never forgotten.
        events <- unsafe {
            irq::ThreadedRegistration::new(
                events_irq.into(),
                irq::Flags::TRIGGER_NONE,
                c"tern-events",
                EventIrq::new(pdev.as_ref(), sh.clone()),
            )
        },
        //@ step jobs {
        // SAFETY: The registrations are fields of `Hw`, which is dropped, never forgotten.
        q0 <- unsafe { register_queue_irq(irqs.0) },
        // SAFETY: As above.
        q1 <- unsafe { register_queue_irq(irqs.1) },
        // SAFETY: As above.
        q2 <- unsafe { register_queue_irq(irqs.2) },
        // SAFETY: As above.
        q3 <- unsafe { register_queue_irq(irqs.3) },
        //@ }
        //@ step debugfs {
        // SAFETY: As above.
        selftest <- unsafe {
            irq::Registration::new(
                selftest_irq.into(),
                irq::Flags::TRIGGER_NONE,
                c"tern-selftest",
                Ok::<_, Error>(SelfTestIrq(sh.clone())),
            )
        },
        // Without debugfs the device works; only its debugging files are missing.
        _debugfs: debugfs::create(sh.clone(), caps).ok(),
        //@ }
        _stop: StopRecovery(sh.clone()), //@ step recovery
        _abort: AbortJobs(sh.clone()), //@ step jobs
        shared: sh.clone(),
        pdev: pdev_bound,
        hw_version,
        caps,
        // Runs before the DRM device is registered: userspace never sees a device whose
        // interrupts, firmware or queues do not work.
        _: {
            step.set(SetupStep::Logged);
            irq_self_test(pdev, sh.bar.access(pdev_bound.as_ref())?, events.handler())?;
        },
        //@ step firmware {
        fw: {
            let bar = sh.bar.access(pdev_bound.as_ref())?;
            // A failed boot may leave the device with the event page and the context table:
            // stop it before they are freed.
            fw::boot(pdev, bar, sh, events.handler())
                .inspect_err(|_| Shared::reset_device(bar))?
        },
        //@ }
        _: {
            //@ step jobs {
            let bar = sh.bar.access(pdev_bound.as_ref())?;
            for q in &sh.queues {
                q.enable(bar).inspect_err(|e| {
                    Shared::reset_device(bar);
                    dev_err!(pdev, "cannot enable a hardware queue: {e:?}\n")
                })?;
            }
            //@ }
            step.set(SetupStep::Register);
        },
    }? Error);

    let drm_ref: ARef<TernDevice> = (&*drm).into();
    // SAFETY: `reg` is stored in `TernData`, which is dropped when the driver is unbound; it is
    // never forgotten.
    let reg =
        unsafe { drm::Registration::new(pdev.as_ref(), drm, hw, 0) }.inspect_err(|e| match step
            .get()
        {
            SetupStep::Interrupt => {
                dev_err!(pdev, "cannot set up the device interrupts: {e:?}\n")
            }
            SetupStep::Logged => {}
            SetupStep::Register => dev_err!(pdev, "cannot register the DRM device: {e:?}\n"),
        })?;

    // For uevents; unbind takes it back.
    *shared.drm.lock() = Some(drm_ref);
    Shared::start_watchdog(&shared); //@ step recovery
    Ok(TernData { shared, _reg: reg })
}

/// Checks the identity of the device and that its registers work, and logs its version.
///
/// Returns the `HW_VERSION` register.
fn check_registers(pdev: &pci::Device<Bound>, bar: &Bar0<'_>) -> Result<u32> {
    let id = bar.read32(regs::ID);
    if id != regs::ID_TERN {
        dev_err!(
            pdev,
            "ID register is {id:#010x}, expected {:#010x}: not a TERN device\n",
            regs::ID_TERN
        );
        return Err(ENODEV);
    }

    let hw_version = bar.read32(regs::HW_VERSION);
    dev_info!(
        pdev,
        "TERN hardware version {}.{}\n",
        regs::hw_version_major(hw_version),
        regs::hw_version_minor(hw_version)
    );

    bar.write32(SCRATCH_PATTERN, regs::SCRATCH);
    let scratch = bar.read32(regs::SCRATCH);
    if scratch != SCRATCH_PATTERN {
        dev_err!(
            pdev,
            "SCRATCH register reads {scratch:#010x} after writing {SCRATCH_PATTERN:#010x}\n"
        );
        return Err(EIO);
    }

    Ok(hw_version)
}

/// Asks the device to raise the event interrupt and waits for it.
fn irq_self_test(pdev: &pci::Device<Bound>, bar: &Bar0<'_>, events: &EventIrq) -> Result {
    let seen = events.count();

    bar.write32(regs::VECTOR_EVENTS, regs::IRQ_RAISE);

    events
        .wait_for_more_than(seen, IRQ_TEST_TIMEOUT_MS)
        .inspect_err(|e| {
            dev_err!(
                pdev,
                "interrupt self-test failed: MSI-X vector {} not received within {} ms ({e:?})\n",
                regs::VECTOR_EVENTS,
                IRQ_TEST_TIMEOUT_MS
            )
        })
}

#[vtable]
impl drm::Driver for TernDriver {
    type Data = Arc<Shared>;
    type RegistrationData<'a> = Hw<'a>;
    type File = File;
    type Object = TernBo;
    type ParentDevice<Ctx: DeviceContext> = pci::Device<Ctx>;

    const INFO: drm::DriverInfo = INFO;
    const FEAT_COMPUTE_ACCEL: bool = true;
    const FEAT_SYNCOBJ: bool = true; //@ step jobs
    const FEAT_SYNCOBJ_TIMELINE: bool = true; //@ step jobs

    kernel::declare_drm_ioctls! {
        //@ out-of-tree {
        (TERN_QUERY, uapi::drm_tern_query, 0, ioctl::query),
        (TERN_BO_CREATE, uapi::drm_tern_bo_create, 0, bo::bo_create), //@ step buffers
        (TERN_BO_INFO, uapi::drm_tern_bo_info, 0, bo::bo_info), //@ step buffers
        (TERN_SUBMIT, uapi::drm_tern_submit, 0, submit::submit), //@ step jobs
        (TERN_WAIT, uapi::drm_tern_wait, 0, submit::wait), //@ step jobs
        (TERN_SET_PRIORITY, uapi::drm_tern_set_priority, 0, submit::set_priority), //@ step jobs
        (TERN_SUBMIT_BATCH, uapi::drm_tern_submit_batch, 0, batch::submit_batch), //@ step batch
        //@ }
        //@ in-tree: (TERN_QUERY, drm_tern_query, 0, ioctl::query),
        //@ step buffers {
        //@ in-tree: (TERN_BO_CREATE, drm_tern_bo_create, 0, bo::bo_create),
        //@ in-tree: (TERN_BO_INFO, drm_tern_bo_info, 0, bo::bo_info),
        //@ }
        //@ step jobs {
        //@ in-tree: (TERN_SUBMIT, drm_tern_submit, 0, submit::submit),
        //@ in-tree: (TERN_WAIT, drm_tern_wait, 0, submit::wait),
        //@ in-tree: (TERN_SET_PRIORITY, drm_tern_set_priority, 0, submit::set_priority),
        //@ }
        //@ step batch {
        //@ in-tree: (TERN_SUBMIT_BATCH, drm_tern_submit_batch, 0, batch::submit_batch),
        //@ }
    }

    //@ step buffers {
    fn show_fdinfo(
        _device: &drm::Device<Self, drm::Registered>,
        file: &drm::File<File>,
        printer: &drm::print::Printer,
    ) {
        let inner = file.inner();
        let (buffers, bytes) = inner.ctx.usage();
        // The standard keys (Documentation/gpu/drm-usage-stats.rst) first: busy time of the
        // finished jobs per queue, and the memory mapped for the file, all of it resident (the
        // pages of a mapped buffer are pinned).
        //@ step jobs {
        for (q, ns) in inner.jobs.busy_ns().iter().enumerate() {
            printer.print(fmt!("drm-engine-queue{q}:\t{ns} ns\n"));
        }
        //@ }
        printer.print(fmt!("drm-total-memory:\t{} KiB\n", bytes / 1024));
        printer.print(fmt!("drm-resident-memory:\t{} KiB\n", bytes / 1024));
        printer.print(fmt!("tern-context:\t{}\n", inner.ctx.id()));
        printer.print(fmt!("tern-jobs-submitted:\t{}\n", inner.submitted())); //@ step jobs
        printer.print(fmt!("tern-buffers-mapped:\t{buffers}\n"));
        //@ step jobs {
        printer.print(fmt!("tern-priority:\t{}\n", inner.priority()));
        //@ }
        //@ step recovery {
        printer.print(fmt!("tern-hangs:\t{}\n", inner.jobs.hangs()));
        printer.print(fmt!("tern-banned:\t{}\n", u32::from(inner.jobs.banned())));
        //@ }
        printer.print(fmt!("tern-mapped-memory:\t{bytes}\n"));
    }
    //@ }
}

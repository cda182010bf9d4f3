// SPDX-License-Identifier: GPL-2.0

//! PCI probe/remove and the DRM compute-accelerator device.

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
    irq,
    pci,
    prelude::*, //
};

use crate::{
    event::EventIrq,
    file::File,
    gem::TernBo,
    regs, //
};

/// The TERN driver: the PCI driver and the DRM driver of the device.
pub(crate) struct TernDriver;

/// The DRM device of a TERN device.
pub(crate) type TernDevice<Ctx = drm::Normal> = drm::Device<TernDriver, Ctx>;

/// BAR0, the register window.
type Bar0<'a> = pci::Bar<'a, { regs::BAR0_SIZE }>;

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

/// The hardware of a bound device.
///
/// Owned by the DRM registration: it lives while the DRM device is registered, and ioctls reach
/// it through [`drm::Device::registration_data_with`]. It is dropped after the DRM device has been
/// unplugged, fields in declaration order: the interrupt handler goes before the BAR mapping.
#[pin_data]
pub(crate) struct Hw<'a> {
    /// The device event interrupt handler (MSI-X vector 0).
    #[pin]
    events: irq::ThreadedRegistration<'a, EventIrq>,
    /// The register window.
    bar: Bar0<'a>,
    /// The MSI-X vectors, freed by devres after unbind.
    vectors: &'a pci::IrqVectorRegistration<'a>,
    /// The PCI device.
    pdev: &'a pci::Device<Bound>,
    /// The `HW_VERSION` register.
    hw_version: u32,
}

/// The steps of the probe that run inside the DRM registration.
#[derive(Clone, Copy)]
enum SetupStep {
    /// Requesting the device event interrupt.
    Interrupt,
    /// The interrupt self-test.
    SelfTest,
    /// Registering the DRM device.
    Register,
}

/// The driver data of a bound PCI device.
pub(crate) struct TernData<'bound> {
    /// Unregisters (unplugs) the DRM device, then drops [`Hw`], on unbind.
    _reg: drm::Registration<'bound, TernDriver>,
}

impl pci::Driver for TernDriver {
    type IdInfo = ();
    type Data<'bound> = TernData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let pdev_bound: &'bound pci::Device<Bound> = pdev;

        pdev.enable_device_mem()
            .inspect_err(|e| dev_err!(pdev, "cannot enable the device: {e:?}\n"))?;
        pdev.set_master();

        let bar = pdev
            .iomap_region_sized::<{ regs::BAR0_SIZE }>(0, c"tern")
            .inspect_err(|e| dev_err!(pdev, "cannot map BAR0: {e:?}\n"))?;

        // SAFETY: Nothing allocates or maps DMA memory for this device before `probe` returns.
        unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<64>()) }
            .inspect_err(|e| dev_err!(pdev, "cannot set a 64-bit DMA mask: {e:?}\n"))?;

        let hw_version = check_registers(pdev, &bar)?;

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

        let drm = drm::UnregisteredDevice::<TernDriver>::new(pdev, Ok(()))
            .inspect_err(|e| dev_err!(pdev, "cannot allocate the DRM device: {e:?}\n"))?;

        // The step of the setup below that fails, so that the failure is logged exactly once.
        let step = &Cell::new(SetupStep::Interrupt);
        let hw = try_pin_init!(Hw {
            // SAFETY: The registration is a field of `Hw`, which is dropped, never forgotten.
            events <- unsafe {
                irq::ThreadedRegistration::new(
                    events_irq.into(),
                    irq::Flags::TRIGGER_NONE,
                    c"tern-events",
                    EventIrq::new(),
                )
            },
            bar,
            vectors,
            pdev: pdev_bound,
            hw_version,
            // Runs before the DRM device is registered: userspace never sees a device whose
            // interrupts do not work.
            _: {
                step.set(SetupStep::SelfTest);
                irq_self_test(pdev, bar, events.handler())?;
                step.set(SetupStep::Register);
            },
        }? Error);

        // SAFETY: `reg` is stored in `TernData`, which is dropped when the driver is unbound; it is
        // never forgotten.
        let reg = unsafe { drm::Registration::new(pdev.as_ref(), drm, hw, 0) }.inspect_err(
            |e| match step.get() {
                SetupStep::Interrupt => {
                    dev_err!(pdev, "cannot set up the device event interrupt: {e:?}\n")
                }
                // `irq_self_test()` has logged the failure.
                SetupStep::SelfTest => {}
                SetupStep::Register => dev_err!(pdev, "cannot register the DRM device: {e:?}\n"),
            },
        )?;

        Ok(TernData { _reg: reg })
    }
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
    type Data = ();
    type RegistrationData<'a> = Hw<'a>;
    type File = File;
    type Object = TernBo;
    type ParentDevice<Ctx: DeviceContext> = pci::Device<Ctx>;

    const INFO: drm::DriverInfo = INFO;
    const FEAT_COMPUTE_ACCEL: bool = true;

    // No driver-specific ioctls yet; the DRM core ioctls (e.g. `DRM_IOCTL_VERSION`) still work.
    const IOCTLS: &'static [drm::ioctl::DrmIoctlDescriptor] = &[];
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! DMA windows without an fd: the test is the vfio-user client, maps its memory without an
//! fd, and serves the model's DMA_READ/DMA_WRITE requests from its own buffer while it boots
//! the firmware through BAR0 writes. The interrupt eventfd travels through the proxy as
//! SCM_RIGHTS.

mod common;

use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;

use common::{dma_map_without_fd, eventfd, firmware, wait_irq};
use tern_emu::device::Device;
use tern_emu::wire::{self, Header, Message, REPLY};
use tern_hw::{BootStatus, dev_status, regs};
use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_BAR0_REGION_INDEX,
    VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_MSIX_IRQ_INDEX,
};

const IOVA: u64 = 0x8000_0000;
const MEM: usize = 256 << 10;
/// What the client accepts per message: small, so the image is read in many pieces.
const MAX_XFER: usize = 256;

struct Client {
    s: UnixStream,
    next: u16,
    mem: Vec<u8>,
    reads: usize,
    writes: usize,
    largest: usize,
    /// Answer DMA_READ with an error reply (EFAULT) instead of data.
    fail_reads: bool,
}

impl Client {
    /// Sends a command and returns its reply, serving the model's DMA requests meanwhile.
    fn call(&mut self, command: u16, parts: &[&[u8]], fds: Vec<OwnedFd>) -> Message {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        let h = Header {
            id,
            command,
            ..Default::default()
        };
        let mut m = Message::new(h, parts);
        m.fds = fds;
        wire::send(&self.s, &m).unwrap();
        loop {
            let m = wire::recv(&self.s)
                .unwrap()
                .expect("model closed the socket");
            let h = m.header();
            if h.is_reply() {
                assert_eq!((h.id, h.command), (id, command), "reply to our command");
                assert_eq!(h.flags & wire::ERROR, 0, "command {command} failed");
                return m;
            }
            self.serve_dma(h, m.payload());
        }
    }

    fn serve_dma(&mut self, h: Header, p: &[u8]) {
        let addr = wire::u64_at(p, 0).unwrap();
        let count = wire::u64_at(p, 8).unwrap() as usize;
        assert!(
            count <= MAX_XFER,
            "request of {count} bytes over max_data_xfer_size"
        );
        self.largest = self.largest.max(count);
        let off = (addr - IOVA) as usize;
        assert!(off + count <= MEM, "DMA outside the window");
        let head = [addr.to_le_bytes(), (count as u64).to_le_bytes()].concat();
        let reply = Header {
            id: h.id,
            command: h.command,
            flags: REPLY,
            ..Default::default()
        };
        let r = match h.command {
            wire::DMA_READ if self.fail_reads => {
                self.reads += 1;
                let e = Header {
                    flags: REPLY | wire::ERROR,
                    error: libc::EFAULT as u32,
                    ..reply
                };
                Message::new(e, &[])
            }
            wire::DMA_READ => {
                self.reads += 1;
                Message::new(reply, &[&head, &self.mem[off..off + count]])
            }
            wire::DMA_WRITE => {
                self.writes += 1;
                assert_eq!(p.len(), 16 + count);
                self.mem[off..off + count].copy_from_slice(&p[16..]);
                Message::new(reply, &[&head])
            }
            c => panic!("unexpected request {c} from the model"),
        };
        wire::send(&self.s, &r).unwrap();
    }

    fn region_write(&mut self, region: u32, off: u64, data: &[u8]) {
        let count = data.len() as u32;
        let head = [
            &off.to_le_bytes()[..],
            &region.to_le_bytes(),
            &count.to_le_bytes(),
        ]
        .concat();
        self.call(wire::REGION_WRITE, &[&head, data], Vec::new());
    }

    fn w32(&mut self, off: u64, v: u32) {
        self.region_write(VFIO_PCI_BAR0_REGION_INDEX, off, &v.to_le_bytes());
    }

    fn r32(&mut self, off: u64) -> u32 {
        let head = [
            &off.to_le_bytes()[..],
            &VFIO_PCI_BAR0_REGION_INDEX.to_le_bytes(),
            &4u32.to_le_bytes(),
        ]
        .concat();
        let r = self.call(wire::REGION_READ, &[&head], Vec::new());
        u32::from_le_bytes(r.payload()[16..20].try_into().unwrap())
    }
}

/// A model serving one client on a fresh socket, and that client, negotiated, with its
/// memory mapped without an fd.
fn connect(
    tag: &str,
) -> (
    Client,
    Arc<Device>,
    std::thread::JoinHandle<std::io::Result<()>>,
) {
    let dir = std::env::temp_dir().join(format!("tern-dmamsg-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("tern.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let dev = Arc::new(Device::new());
    let d2 = dev.clone();
    let model = std::thread::spawn(move || {
        let r = tern_emu::proxy::serve(&listener, &d2, true);
        let _ = std::fs::remove_dir_all(&dir);
        r
    });

    let mut c = Client {
        s: UnixStream::connect(&sock).unwrap(),
        next: 0,
        mem: vec![0; MEM],
        reads: 0,
        writes: 0,
        largest: 0,
        fail_reads: false,
    };
    let caps =
        format!("{{\"capabilities\":{{\"max_msg_fds\":8,\"max_data_xfer_size\":{MAX_XFER}}}}}\0");
    let v = c.call(
        wire::VERSION,
        &[&0u16.to_le_bytes(), &1u16.to_le_bytes(), caps.as_bytes()],
        Vec::new(),
    );
    assert_eq!(v.payload()[..2], 0u16.to_le_bytes(), "major version 0");

    // The window, without an fd: readable and writable, offset 0.
    let map = dma_map_without_fd(IOVA, MEM as u64);
    c.call(wire::DMA_MAP, &[&map], Vec::new());
    // Bus master on, as a driver's pci_set_master does.
    c.region_write(VFIO_PCI_CONFIG_REGION_INDEX, 4, &[0x06, 0x00]);
    (c, dev, model)
}

/// Puts the firmware image at IOVA + 0x1000 and points the boot registers at it.
fn load_image(c: &mut Client) -> usize {
    let image = firmware();
    let img = IOVA + 0x1000;
    c.mem[0x1000..0x1000 + image.len()].copy_from_slice(&image);
    c.w32(regs::BOOT_ADDR_LO, img as u32);
    c.w32(regs::BOOT_ADDR_HI, (img >> 32) as u32);
    c.w32(regs::BOOT_SIZE, image.len() as u32);
    image.len()
}

/// Reads DEV_STATUS (serving the model's DMA meanwhile) until the boot ROM is done: it runs
/// after the BOOT_CTRL write (`docs/hardware.md` 9).
fn wait_boot(c: &mut Client) {
    let t0 = std::time::Instant::now();
    while c.r32(regs::DEV_STATUS) & dev_status::BOOTING != 0 {
        assert!(t0.elapsed().as_secs() < 5, "the boot ROM did not finish");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn boot_and_event_page_over_messages() {
    let (mut c, dev, model) = connect("boot");

    // Vector 0 (events) as an eventfd, passed as SCM_RIGHTS through the proxy.
    let irq = eventfd();
    let set = [
        20u32,
        VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
        VFIO_PCI_MSIX_IRQ_INDEX,
        0,
        1,
    ]
    .iter()
    .flat_map(|v| v.to_le_bytes())
    .collect::<Vec<u8>>();
    let fd = OwnedFd::from(irq.try_clone().unwrap());
    c.call(wire::SET_IRQS, &[&set], vec![fd]);

    let len = load_image(&mut c);
    assert!(len > 2 * MAX_XFER, "image spans several messages");
    c.w32(regs::EVENT_ADDR_LO, IOVA as u32);
    c.w32(regs::EVENT_ADDR_HI, (IOVA >> 32) as u32);
    c.w32(regs::BOOT_CTRL, 1);
    wait_boot(&mut c);

    assert_eq!(c.r32(regs::BOOT_STATUS), 1, "the boot ROM read the image");
    assert_eq!(c.r32(regs::DEV_STATUS), dev_status::BOOTED);
    assert!(
        c.reads > len / MAX_XFER,
        "{} DMA_READs for {len} bytes",
        c.reads
    );
    assert_eq!(c.largest, MAX_XFER);
    // The event page is written after BOOTING clears; register reads serve its DMA_WRITEs.
    let count = |c: &Client| u32::from_le_bytes(c.mem[12..16].try_into().unwrap());
    let t0 = std::time::Instant::now();
    while count(&c) == 0 {
        assert!(t0.elapsed().as_secs() < 5, "no event page write");
        c.r32(regs::DEV_STATUS);
    }
    assert!(c.writes >= 1, "the event page came as DMA_WRITE");
    let word = |o: usize| u32::from_le_bytes(c.mem[o..o + 4].try_into().unwrap());
    assert_eq!(word(0), 1, "event page: BOOT_STATUS");
    assert_eq!(word(4), dev_status::BOOTED, "event page: DEV_STATUS");
    assert_eq!(word(12), 1, "event page: event count");
    assert!(
        wait_irq(&irq, 1000) >= 1,
        "boot event on the passed eventfd"
    );

    drop(c);
    model.join().unwrap().unwrap();
    assert_eq!(
        dev.read32(regs::BOOT_STATUS),
        0,
        "reset after the client left"
    );
}

#[test]
fn error_reply_is_a_dma_error() {
    let (mut c, _dev, model) = connect("err");
    load_image(&mut c);
    c.fail_reads = true;
    c.w32(regs::BOOT_CTRL, 1);
    wait_boot(&mut c);
    assert_eq!(
        c.r32(regs::BOOT_STATUS),
        BootStatus::DmaError as u32,
        "a refused DMA_READ faults"
    );
    assert_eq!(c.reads, 1, "the boot ROM stops at the first failed read");
    drop(c);
    model.join().unwrap().unwrap();
}

#[test]
fn client_leaving_mid_request_ends_the_session() {
    let (mut c, dev, model) = connect("gone");
    load_image(&mut c);
    // Ring BOOT_CTRL and leave without answering the model's DMA_READ.
    let head = [
        &regs::BOOT_CTRL.to_le_bytes()[..],
        &VFIO_PCI_BAR0_REGION_INDEX.to_le_bytes(),
        &4u32.to_le_bytes(),
    ]
    .concat();
    let m = Message::new(
        Header {
            id: 999,
            command: wire::REGION_WRITE,
            ..Default::default()
        },
        &[&head, &1u32.to_le_bytes()],
    );
    wire::send(&c.s, &m).unwrap();
    // The write's reply and the boot ROM's first read, which runs after the write (9), in
    // either order.
    let mut got: Vec<(bool, u16)> = (0..2)
        .map(|_| {
            let h = wire::recv(&c.s).unwrap().unwrap().header();
            (h.is_reply(), if h.is_reply() { h.id } else { h.command })
        })
        .collect();
    got.sort();
    assert_eq!(got, [(false, wire::DMA_READ), (true, 999)]);
    let t0 = std::time::Instant::now();
    drop(c);
    model.join().unwrap().unwrap();
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(5),
        "the waiting read failed at once, not by timeout"
    );
    assert_eq!(
        dev.read32(regs::DEV_STATUS),
        0,
        "reset after the client left"
    );
}

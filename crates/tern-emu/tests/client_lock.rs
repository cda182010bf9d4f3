// SPDX-License-Identifier: MIT OR Apache-2.0
//! Register accesses never wait for DMA (`docs/hardware.md` 9), tested with a client built
//! the way QEMU's vfio-user client is: BAR writes are posted; a vCPU holds the client's big
//! lock across a register read until its reply arrives; the model's DMA_READ/DMA_WRITE
//! requests (windows without an fd) are served by another thread, and only under that lock.
//! A model that answers a read only after a DMA of its own would wait for ever: here the read
//! gives up after a few seconds and the test fails.

mod common;

use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{dma_map_without_fd, firmware};
use tern_emu::device::Device;
use tern_emu::wire::{self, Header, Message, NO_REPLY, REPLY};
use tern_hw::regs::{self, q};
use tern_hw::{dev_status, fw};
use vfio_bindings::bindings::vfio::{VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX};

const IOVA: u64 = 0x8000_0000;
const MEM: usize = 256 << 10;
const IMAGE: usize = 0x1000;
const RING: usize = 0x20000;
const COMPL: usize = 0x30000;
const SELFTEST: usize = 0x38000;
/// How long a register read may take before the test calls it stuck.
const READ_LIMIT: Duration = Duration::from_secs(3);

/// The client: the "vCPU" is the test thread; a reader thread dispatches replies to it and
/// requests to the "main loop" thread, which serves them holding `bql`.
struct Client {
    s: UnixStream,
    bql: Arc<Mutex<()>>,
    mem: Arc<Mutex<Vec<u8>>>,
    replies: Receiver<Message>,
    next: u16,
}

impl Client {
    fn send(&mut self, command: u16, flags: u32, parts: &[&[u8]]) -> u16 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        let h = Header {
            id,
            command,
            flags,
            ..Default::default()
        };
        wire::send(&self.s, &Message::new(h, parts)).unwrap();
        id
    }

    /// Sends a command and waits for its reply (set-up commands, no lock held).
    fn call(&mut self, command: u16, parts: &[&[u8]]) -> Message {
        let id = self.send(command, 0, parts);
        let r = self
            .replies
            .recv_timeout(READ_LIMIT)
            .expect("no reply to a set-up command");
        assert_eq!(r.header().id, id);
        assert_eq!(
            r.header().flags & wire::ERROR,
            0,
            "command {command} failed"
        );
        r
    }

    fn region_head(region: u32, off: u64, count: u32) -> Vec<u8> {
        [
            &off.to_le_bytes()[..],
            &region.to_le_bytes(),
            &count.to_le_bytes(),
        ]
        .concat()
    }

    /// A posted BAR0 write, made holding the lock (as a vCPU's MMIO exit does).
    fn w32(&mut self, off: u64, v: u32) {
        let bql = self.bql.clone();
        let _bql = bql.lock().unwrap();
        let head = Self::region_head(VFIO_PCI_BAR0_REGION_INDEX, off, 4);
        self.send(wire::REGION_WRITE, NO_REPLY, &[&head, &v.to_le_bytes()]);
    }

    /// A BAR0 read: the lock is held until the reply arrives.
    fn r32(&mut self, off: u64) -> u32 {
        let bql = self.bql.clone();
        let _bql = bql.lock().unwrap();
        let head = Self::region_head(VFIO_PCI_BAR0_REGION_INDEX, off, 4);
        let id = self.send(wire::REGION_READ, 0, &[&head]);
        let r = match self.replies.recv_timeout(READ_LIMIT) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => panic!(
                "the read of register {off:#x} got no reply in {READ_LIMIT:?}: the model \
                 waits for a DMA that the client serves only once the read is answered"
            ),
            Err(e) => panic!("client reader gone: {e}"),
        };
        assert_eq!(r.header().id, id, "reply to the read");
        u32::from_le_bytes(r.payload()[16..20].try_into().unwrap())
    }

    /// Reads `off` until `done` holds, for at most a second.
    fn poll(&mut self, off: u64, what: &str, done: impl Fn(u32) -> bool) -> u32 {
        let t0 = Instant::now();
        loop {
            let v = self.r32(off);
            if done(v) {
                return v;
            }
            assert!(t0.elapsed() < Duration::from_secs(1), "{what}: {v:#x}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn mem(&self, at: usize, len: usize) -> Vec<u8> {
        self.mem.lock().unwrap()[at..at + len].to_vec()
    }

    /// Waits up to a second for the memory at `at` to hold `want` (written by the model's
    /// DMA, which the main loop thread serves).
    fn wait_mem(&self, at: usize, want: &[u8], what: &str) {
        let t0 = Instant::now();
        while self.mem(at, want.len()) != want {
            assert!(t0.elapsed() < Duration::from_secs(1), "{what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Serves one DMA request from `mem`.
fn serve(s: &UnixStream, mem: &Mutex<Vec<u8>>, m: &Message) {
    let (h, p) = (m.header(), m.payload());
    let addr = wire::u64_at(p, 0).unwrap();
    let count = wire::u64_at(p, 8).unwrap() as usize;
    let off = (addr - IOVA) as usize;
    let head = [addr.to_le_bytes(), (count as u64).to_le_bytes()].concat();
    let reply = Header {
        id: h.id,
        command: h.command,
        flags: REPLY,
        ..Default::default()
    };
    let mut mem = mem.lock().unwrap();
    let r = match h.command {
        wire::DMA_READ => Message::new(reply, &[&head, &mem[off..off + count]]),
        wire::DMA_WRITE => {
            mem[off..off + count].copy_from_slice(&p[16..]);
            Message::new(reply, &[&head])
        }
        c => panic!("unexpected request {c} from the model"),
    };
    wire::send(s, &r).unwrap();
}

fn connect(tag: &str) -> (Client, std::thread::JoinHandle<std::io::Result<()>>) {
    let dir = std::env::temp_dir().join(format!("tern-lock-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("tern.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let model = std::thread::spawn(move || {
        let r = tern_emu::proxy::serve(&listener, &Arc::new(Device::new()), true);
        let _ = std::fs::remove_dir_all(&dir);
        r
    });
    let s = UnixStream::connect(&sock).unwrap();
    let bql = Arc::new(Mutex::new(()));
    let mem = Arc::new(Mutex::new(vec![0u8; MEM]));
    let (to_vcpu, replies) = mpsc::channel();
    let (to_main, requests) = mpsc::channel::<Message>();
    let reader = s.try_clone().unwrap();
    std::thread::spawn(move || {
        while let Ok(Some(m)) = wire::recv(&reader) {
            let sent = if m.header().is_reply() {
                to_vcpu.send(m).is_ok()
            } else {
                to_main.send(m).is_ok()
            };
            if !sent {
                break;
            }
        }
    });
    let (s2, bql2, mem2) = (s.try_clone().unwrap(), bql.clone(), mem.clone());
    std::thread::spawn(move || {
        for m in requests {
            let _bql = bql2.lock().unwrap();
            serve(&s2, &mem2, &m);
        }
    });
    let mut c = Client {
        s,
        bql,
        mem,
        replies,
        next: 0,
    };
    let caps = "{\"capabilities\":{\"max_msg_fds\":8,\"max_data_xfer_size\":4096}}\0";
    c.call(
        wire::VERSION,
        &[&0u16.to_le_bytes(), &1u16.to_le_bytes(), caps.as_bytes()],
    );
    c.call(wire::DMA_MAP, &[&dma_map_without_fd(IOVA, MEM as u64)]);
    let head = Client::region_head(VFIO_PCI_CONFIG_REGION_INDEX, 4, 2);
    c.call(wire::REGION_WRITE, &[&head, &[0x06, 0x00]]);
    (c, model)
}

/// Boots the firmware and selects its ABI, reading status registers right after each write.
fn boot(c: &mut Client) {
    let image = firmware();
    c.mem.lock().unwrap()[IMAGE..IMAGE + image.len()].copy_from_slice(&image);
    let img = IOVA + IMAGE as u64;
    c.w32(regs::EVENT_ADDR_LO, IOVA as u32);
    c.w32(regs::EVENT_ADDR_HI, (IOVA >> 32) as u32);
    c.w32(regs::BOOT_ADDR_LO, img as u32);
    c.w32(regs::BOOT_ADDR_HI, (img >> 32) as u32);
    c.w32(regs::BOOT_SIZE, image.len() as u32);
    c.w32(regs::BOOT_CTRL, 1);
    let st = c.r32(regs::DEV_STATUS);
    assert_ne!(
        st & (dev_status::BOOTING | dev_status::BOOTED),
        0,
        "DEV_STATUS right after BOOT_CTRL: {st:#x}"
    );
    c.poll(regs::DEV_STATUS, "boot", |v| v & dev_status::BOOTED != 0);
    assert_eq!(c.r32(regs::BOOT_STATUS), 1, "the image was read by DMA");
    c.w32(regs::ABI_SELECT, u32::from(fw::HW_ABI_MAX));
    assert_ne!(c.r32(regs::DEV_STATUS) & dev_status::READY, 0, "ready");
}

#[test]
fn a_queue_enable_is_read_back_while_its_completion_area_is_cleared() {
    let (mut c, model) = connect("enable");
    boot(&mut c);
    c.mem.lock().unwrap()[COMPL..COMPL + 24].fill(0xa5);
    let (ring, compl) = (IOVA + RING as u64, IOVA + COMPL as u64);
    let reg = |o: u64| regs::QUEUE_BASE + o;
    c.w32(reg(q::RING_LO), ring as u32);
    c.w32(reg(q::RING_HI), (ring >> 32) as u32);
    c.w32(reg(q::RING_SIZE), 16);
    c.w32(reg(q::COMPL_LO), compl as u32);
    c.w32(reg(q::COMPL_HI), (compl >> 32) as u32);
    c.w32(reg(q::CTRL), q::CTRL_ENABLE);
    assert_eq!(c.r32(reg(q::STATUS)), q::STATUS_ENABLED, "enabled at once");
    c.wait_mem(COMPL, &[0; 24], "completion area not cleared");
    // A queue reset logs a line in the event page: also a DMA.
    c.w32(reg(q::CTRL), q::CTRL_RESET);
    assert_eq!(c.r32(reg(q::STATUS)), 0, "reset: disabled");
    // The reader and main loop threads hold the socket too: end the session for all.
    c.s.shutdown(std::net::Shutdown::Both).unwrap();
    model.join().unwrap().unwrap();
}

#[test]
fn self_test_and_invalidate_do_not_hold_up_reads() {
    let (mut c, model) = connect("selftest");
    boot(&mut c);
    let at = IOVA + SELFTEST as u64;
    c.w32(regs::SELFTEST_ADDR_LO, at as u32);
    c.w32(regs::SELFTEST_ADDR_HI, (at >> 32) as u32);
    c.w32(regs::SELFTEST, 0x5eed_0001);
    assert_eq!(c.r32(regs::SELFTEST_ADDR_LO), at as u32);
    c.wait_mem(
        SELFTEST,
        &0x5eed_0001u32.to_le_bytes(),
        "self-test word not written",
    );
    // With no job running an invalidate completes at once: inval_done in the event page.
    c.w32(regs::CTX_INVALIDATE, 0);
    c.r32(regs::DEV_STATUS);
    let off = tern_hw::events::EVENT_INVAL_DONE as usize;
    c.wait_mem(off, &1u32.to_le_bytes(), "inval_done not written");
    // The reader and main loop threads hold the socket too: end the session for all.
    c.s.shutdown(std::net::Shutdown::Both).unwrap();
    model.join().unwrap().unwrap();
}

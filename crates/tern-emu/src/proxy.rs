// SPDX-License-Identifier: MIT OR Apache-2.0
//! The public vfio-user socket. The `vfio_user` crate's server owns its stream inside
//! `Server::run` and cannot send requests to the client, so the model sits in between: it
//! accepts the client (QEMU) here, connects to a crate server on a private abstract socket,
//! and forwards whole messages both ways, fds included. Replies from the client to the model's
//! own DMA_READ/DMA_WRITE requests are taken out of the stream and handed to the device
//! thread waiting for them ([`Link`], the [`MessagePath`] of fd-less DMA windows).
//!
//! Per session: this thread reads the client; one thread writes to the crate server (so a
//! server stalled on a DMA reply never stalls that reply); one thread forwards the server's
//! replies to the client; one runs `Server::run`.
//!
//! Region accesses (BAR0 and config space: the whole job path) do not take that detour: the
//! reading thread serves them itself and writes the reply ([`serve_region`]), unless
//! messages it forwarded earlier are still in the server (then the access is forwarded too,
//! so that it stays in order). A region access whose handler needs a message-path DMA (a
//! window without an fd) keeps serving the client from the same thread while it waits
//! ([`Pump`]): the reply it waits for arrives on the socket this thread reads.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use vfio_bindings::bindings::vfio::{VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX};
use vfio_user::{Server, ServerBackend};

use crate::backend::{Backend, irqs, regions};
use crate::device::Device;
use crate::dma::MessagePath;
use crate::wire::{
    self, DMA_READ, DMA_WRITE, ERROR, Header, Message, NO_REPLY, REGION_READ, REGION_WRITE, REPLY,
};

/// How long a device thread waits for the client to answer one DMA request.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a waiting device thread looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(2);

#[derive(Default)]
struct Pending {
    next_id: u16,
    waiters: HashMap<u16, mpsc::SyncSender<Message>>,
    closed: bool,
}

/// The model's own request channel to one client.
pub struct Link {
    out: Mutex<UnixStream>,
    pending: Mutex<Pending>,
    client_max: AtomicU32,
    server_max: AtomicU32,
}

impl Link {
    fn new(out: UnixStream) -> Link {
        Link {
            out: Mutex::new(out),
            pending: Mutex::default(),
            client_max: AtomicU32::new(wire::DEFAULT_MAX_XFER),
            server_max: AtomicU32::new(wire::DEFAULT_MAX_XFER),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a whole message to the client (between, never inside, other messages).
    fn send(&self, m: &Message) -> io::Result<()> {
        wire::send(&self.out.lock().unwrap_or_else(|e| e.into_inner()), m)
    }

    /// Largest data count of one request: both sides' `max_data_xfer_size`.
    fn max_xfer(&self) -> usize {
        let c = self.client_max.load(Ordering::Relaxed);
        c.min(self.server_max.load(Ordering::Relaxed)).max(1) as usize
    }

    /// Sends a request to the client and waits for its reply.
    fn request(&self, command: u16, parts: &[&[u8]]) -> io::Result<Message> {
        let (tx, rx) = mpsc::sync_channel(1);
        let id = {
            let mut p = self.pending();
            if p.closed {
                return Err(io::ErrorKind::NotConnected.into());
            }
            while p.waiters.contains_key(&p.next_id) {
                p.next_id = p.next_id.wrapping_add(1);
            }
            let id = p.next_id;
            p.next_id = id.wrapping_add(1);
            p.waiters.insert(id, tx);
            id
        };
        let h = Header {
            id,
            command,
            ..Default::default()
        };
        let sent = self.send(&Message::new(h, parts));
        let reply = sent.and_then(|()| match Pump::pump_until(self, id) {
            Some(r) => r,
            None => wait_reply(&rx),
        });
        self.pending().waiters.remove(&id);
        let reply = reply?;
        let rh = reply.header();
        if rh.flags & ERROR != 0 {
            return Err(match rh.error {
                0 => io::Error::other("client reported an error"),
                e => io::Error::from_raw_os_error(e as i32),
            });
        }
        if rh.command != command {
            return Err(io::Error::other("reply to a different command"));
        }
        Ok(reply)
    }

    /// Hands a reply from the client to the thread waiting for it.
    fn deliver(&self, m: Message) {
        let id = m.header().id;
        match self.pending().waiters.remove(&id) {
            Some(tx) => drop(tx.try_send(m)),
            None => log::warn!("proxy: reply {id} answers no request of ours"),
        }
    }

    /// The client is gone: fail every waiting and future request.
    fn close(&self) {
        let mut p = self.pending();
        p.closed = true;
        p.waiters.clear();
    }
}

/// Waits for a reply, at most [`REPLY_TIMEOUT`], and only while the calling thread's cancel
/// flag (a reset of its queue or of the device) stays clear.
fn wait_reply(rx: &mpsc::Receiver<Message>) -> io::Result<Message> {
    let deadline = std::time::Instant::now() + REPLY_TIMEOUT;
    loop {
        if crate::dma::cancelled() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        match rx.recv_timeout(left.min(CANCEL_POLL)) {
            Ok(m) => return Ok(m),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(io::ErrorKind::NotConnected.into());
            }
        }
    }
}

/// The reading thread's hold on the client while it serves a region access itself: a
/// message-path DMA made by that access waits for its reply by reading the client here,
/// handing other replies to the threads waiting for them and keeping requests for after the
/// access, in order.
struct Pump {
    client: UnixStream,
    deferred: VecDeque<Message>,
}

thread_local! {
    static PUMP: RefCell<Option<Pump>> = const { RefCell::new(None) };
}

impl Pump {
    /// Makes the calling thread the one that reads `client` (`None`: no longer).
    fn install(client: Option<UnixStream>) {
        PUMP.with(|p| {
            *p.borrow_mut() = client.map(|client| Pump {
                client,
                deferred: VecDeque::new(),
            })
        });
    }

    /// The next message a pump kept back, if any.
    fn deferred() -> Option<Message> {
        PUMP.with(|p| p.borrow_mut().as_mut()?.deferred.pop_front())
    }

    /// On the reading thread: reads the client until the reply to request `id` of `link`
    /// arrives, for at most [`REPLY_TIMEOUT`]. `None` on any other thread.
    fn pump_until(link: &Link, id: u16) -> Option<io::Result<Message>> {
        PUMP.with(|p| {
            let mut p = p.try_borrow_mut().ok()?;
            Some(p.as_mut()?.until(link, id))
        })
    }

    fn until(&mut self, link: &Link, id: u16) -> io::Result<Message> {
        let deadline = std::time::Instant::now() + REPLY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            if !readable(&self.client, left)? {
                continue;
            }
            match wire::recv(&self.client)? {
                None => return Err(io::ErrorKind::NotConnected.into()),
                Some(m) if m.header().is_reply() && m.header().id == id => return Ok(m),
                Some(m) if m.header().is_reply() => link.deliver(m),
                Some(m) => self.deferred.push_back(m),
            }
        }
    }
}

/// Waits at most `timeout` for `s` to have something to read.
fn readable(s: &UnixStream, timeout: Duration) -> io::Result<bool> {
    let mut fd = libc::pollfd {
        fd: s.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: `fd` is one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut fd, 1, ms) };
    match n {
        n if n > 0 => Ok(true),
        0 => Ok(false),
        _ => {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

/// Largest region access served: BAR0 and config space are far smaller.
const MAX_REGION_ACCESS: u32 = 1 << 16;

/// Serves a REGION_READ or REGION_WRITE message `m` on `backend`, as the crate's server
/// would, and returns the reply (none for a write that asked for none). A bad message or a
/// failed access gets an error reply with its errno; the session goes on.
fn serve_region(backend: &mut Backend, m: &Message) -> Option<Message> {
    let h = m.header();
    let p = m.payload();
    let reply = |flags: u32, error: u32, parts: &[&[u8]]| {
        let rh = Header {
            id: h.id,
            command: h.command,
            size: 0,
            flags,
            error,
        };
        Message::new(rh, parts)
    };
    let fail = |e: io::Error| {
        let errno = e.raw_os_error().unwrap_or(libc::EIO) as u32;
        reply(REPLY | ERROR, errno, &[])
    };
    let (Some(offset), Some(region), Some(count)) =
        (wire::u64_at(p, 0), wire::u32_at(p, 8), wire::u32_at(p, 12))
    else {
        return Some(fail(io::Error::from_raw_os_error(libc::EINVAL)));
    };
    let head = &p[..16];
    if count > MAX_REGION_ACCESS {
        return Some(fail(io::Error::from_raw_os_error(libc::EINVAL)));
    }
    if h.command == REGION_READ {
        let mut data = vec![0u8; count as usize];
        return Some(match backend.region_read(region, offset, &mut data) {
            Ok(()) => reply(REPLY, 0, &[head, &data]),
            Err(e) => fail(e),
        });
    }
    let data = &p[16..];
    let done = if data.len() == count as usize {
        backend.region_write(region, offset, data)
    } else {
        Err(io::Error::from_raw_os_error(libc::EINVAL))
    };
    if h.flags & NO_REPLY != 0 {
        if let Err(e) = done {
            log::warn!("posted write of region {region} at {offset:#x} failed: {e}");
        }
        return None;
    }
    Some(match done {
        Ok(()) => reply(REPLY, 0, &[head]),
        Err(e) => fail(e),
    })
}

/// What the reading thread forwarded to the crate server and has not seen answered.
#[derive(Default)]
struct InServer {
    /// Forwarded messages whose replies have not been forwarded back yet.
    count: AtomicUsize,
    /// Ids of messages the client sent without wanting a reply: forwarded asking for one (so
    /// that they are counted), their replies are not passed on.
    swallow: Mutex<HashSet<u16>>,
}

impl InServer {
    fn swallow(&self) -> std::sync::MutexGuard<'_, HashSet<u16>> {
        self.swallow.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `m`, about to be forwarded; a message that wants no reply is changed to want one.
    fn forwarding(&self, m: &mut Message) {
        let h = m.header();
        if h.flags & NO_REPLY != 0 {
            self.swallow().insert(h.id);
            let flags = h.flags & !NO_REPLY;
            m.bytes[8..12].copy_from_slice(&flags.to_le_bytes());
        }
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// A reply from the server: uncounts it; whether the client is to see it.
    fn replied(&self, id: u16) -> bool {
        let _ = self
            .count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        !self.swallow().remove(&id)
    }

    /// Whether a region access may be served at once: nothing forwarded is outstanding.
    fn idle(&self) -> bool {
        self.count.load(Ordering::SeqCst) == 0
    }
}

/// Whether `m` is a region access the reading thread serves itself.
fn is_region_access(m: &Message) -> bool {
    let h = m.header();
    let region = wire::u32_at(m.payload(), 8);
    (h.command == REGION_READ || h.command == REGION_WRITE)
        && m.fds.is_empty()
        && matches!(
            region,
            Some(VFIO_PCI_BAR0_REGION_INDEX | VFIO_PCI_CONFIG_REGION_INDEX)
        )
}

fn short_reply() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "DMA reply does not match request",
    )
}

impl MessagePath for Link {
    fn read(&self, addr: u64, buf: &mut [u8]) -> io::Result<()> {
        let max = self.max_xfer();
        for (i, piece) in buf.chunks_mut(max).enumerate() {
            let a = addr + (i * max) as u64;
            let n = piece.len() as u64;
            let r = self.request(DMA_READ, &[&a.to_le_bytes(), &n.to_le_bytes()])?;
            let p = r.payload();
            if wire::u64_at(p, 0) != Some(a)
                || wire::u64_at(p, 8) != Some(n)
                || p.len() != 16 + piece.len()
            {
                return Err(short_reply());
            }
            piece.copy_from_slice(&p[16..]);
        }
        Ok(())
    }

    fn write(&self, addr: u64, buf: &[u8]) -> io::Result<()> {
        let max = self.max_xfer();
        for (i, piece) in buf.chunks(max).enumerate() {
            let a = addr + (i * max) as u64;
            let n = piece.len() as u64;
            let r = self.request(DMA_WRITE, &[&a.to_le_bytes(), &n.to_le_bytes(), piece])?;
            if wire::u64_at(r.payload(), 0) != Some(a) {
                return Err(short_reply());
            }
        }
        Ok(())
    }
}

/// Serves clients of `public` one after another, each on `dev`; forgets a client's memory
/// and eventfds and resets the device when it goes. Returns after one client when `once`.
pub fn serve(public: &UnixListener, dev: &Arc<Device>, once: bool) -> io::Result<()> {
    loop {
        let (client, _) = public.accept()?;
        match session(client, dev) {
            Ok(()) => log::info!("client disconnected"),
            Err(e) => log::warn!("client session ended: {e}"),
        }
        dev.mem.set_path(None);
        dev.disconnect();
        if once {
            return Ok(());
        }
        log::info!("waiting for a new client");
    }
}

/// A listener on a fresh abstract socket name (no file to clean up; gone with the process).
fn private_listener() -> io::Result<(UnixListener, SocketAddr)> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "tern-emu.{}.{}.{nanos:x}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
    Ok((UnixListener::bind_addr(&addr)?, addr))
}

fn session(client: UnixStream, dev: &Arc<Device>) -> io::Result<()> {
    let (listener, addr) = private_listener()?;
    let server = Server::from_owned_fd(listener.into(), true, irqs(), regions());
    let inner = UnixStream::connect_addr(&addr)?;
    let link = Arc::new(Link::new(client.try_clone()?));
    dev.mem.set_path(Some(link.clone()));
    let (to_server, queue) = mpsc::channel::<Message>();
    let (inner_r, inner_w) = (inner.try_clone()?, inner);
    let client_r = client.try_clone()?;
    let in_server = InServer::default();
    let mut here = Backend::new(dev.clone());
    Pump::install(Some(client.try_clone()?));
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            let mut backend = Backend::new(dev.clone());
            if let Err(e) = server.run(&mut backend) {
                log::warn!("vfio-user server: {e}");
            }
        });
        // Client -> server, off the reading thread.
        s.spawn(move || {
            for m in queue {
                if let Err(e) = wire::send(&inner_w, &m) {
                    log::warn!("proxy: to server: {e}");
                    break;
                }
            }
            let _ = inner_w.shutdown(std::net::Shutdown::Write);
        });
        // Server -> client.
        let link2 = link.clone();
        let in_server = &in_server;
        s.spawn(move || {
            loop {
                match wire::recv(&inner_r) {
                    Ok(Some(m)) => {
                        let h = m.header();
                        if h.command == wire::VERSION && h.is_reply() {
                            let v = wire::max_xfer(m.payload()).unwrap_or(wire::DEFAULT_MAX_XFER);
                            link2.server_max.store(v, Ordering::Relaxed);
                        }
                        if h.is_reply() && !in_server.replied(h.id) {
                            continue;
                        }
                        if let Err(e) = link2.send(&m) {
                            log::warn!("proxy: to client: {e}");
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        log::warn!("proxy: from server: {e}");
                        break;
                    }
                }
            }
            // The server ended the session: end it for the client too.
            let _ = client.shutdown(std::net::Shutdown::Both);
        });
        // Client -> here, the server or a waiting DMA request.
        let result = loop {
            let next = match Pump::deferred() {
                Some(m) => Ok(Some(m)),
                None => wire::recv(&client_r),
            };
            match next {
                Ok(Some(mut m)) => {
                    let h = m.header();
                    if h.is_reply() {
                        link.deliver(m);
                        continue;
                    }
                    if is_region_access(&m) && in_server.idle() {
                        if let Some(r) = serve_region(&mut here, &m)
                            && let Err(e) = link.send(&r)
                        {
                            break Err(e);
                        }
                        continue;
                    }
                    if h.command == wire::VERSION {
                        let v = wire::max_xfer(m.payload()).unwrap_or(wire::DEFAULT_MAX_XFER);
                        link.client_max.store(v, Ordering::Relaxed);
                    }
                    in_server.forwarding(&mut m);
                    if to_server.send(m).is_err() {
                        break Ok(());
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        link.close();
        drop(to_server);
        result
    });
    Pump::install(None);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: u16, command: u16, flags: u32, payload: &[u8]) -> Message {
        Message::new(
            Header {
                id,
                command,
                flags,
                ..Default::default()
            },
            &[payload],
        )
    }

    #[test]
    fn forwarded_messages_are_counted_and_posted_ones_swallowed() {
        let s = InServer::default();
        assert!(s.idle());
        let mut wants = msg(1, wire::DMA_MAP, 0, &[0; 32]);
        let mut posted = msg(2, REGION_WRITE, NO_REPLY, &[0; 20]);
        s.forwarding(&mut wants);
        s.forwarding(&mut posted);
        assert_eq!(
            posted.header().flags & NO_REPLY,
            0,
            "forwarded asking for a reply"
        );
        assert!(!s.idle(), "two in the server");
        assert!(s.replied(1), "the client waits for this reply");
        assert!(!s.idle());
        assert!(!s.replied(2), "the client wanted no reply");
        assert!(s.idle(), "both answered");
        assert!(s.replied(3), "an unknown reply still goes to the client");
        assert!(s.idle(), "the count does not go below zero");
    }

    #[test]
    fn region_accesses_are_told_apart() {
        let bar0 = [
            &0u64.to_le_bytes()[..],
            &VFIO_PCI_BAR0_REGION_INDEX.to_le_bytes(),
            &4u32.to_le_bytes(),
        ]
        .concat();
        let rom = [
            &0u64.to_le_bytes()[..],
            &6u32.to_le_bytes(),
            &4u32.to_le_bytes(),
        ]
        .concat();
        assert!(is_region_access(&msg(1, REGION_READ, 0, &bar0)));
        assert!(is_region_access(&msg(
            1,
            REGION_WRITE,
            NO_REPLY,
            &[&bar0[..], &[0; 4]].concat()
        )));
        assert!(
            !is_region_access(&msg(1, REGION_READ, 0, &rom)),
            "other regions go to the server"
        );
        assert!(
            !is_region_access(&msg(1, REGION_READ, 0, &bar0[..8])),
            "short"
        );
        assert!(!is_region_access(&msg(1, wire::DMA_MAP, 0, &bar0)));
    }

    #[test]
    fn served_accesses_reply_like_the_server() {
        let dev = Arc::new(Device::new());
        let mut b = Backend::new(dev);
        let head = |off: u64, count: u32| {
            [
                &off.to_le_bytes()[..],
                &VFIO_PCI_BAR0_REGION_INDEX.to_le_bytes(),
                &count.to_le_bytes(),
            ]
            .concat()
        };
        let id_reg = serve_region(&mut b, &msg(7, REGION_READ, 0, &head(0, 4))).unwrap();
        let h = id_reg.header();
        assert_eq!((h.id, h.command, h.flags), (7, REGION_READ, REPLY));
        assert_eq!(&id_reg.payload()[16..], b"TERN");
        let w = [&head(0x20, 4)[..], &5u32.to_le_bytes()].concat();
        let r = serve_region(&mut b, &msg(8, REGION_WRITE, 0, &w)).unwrap();
        assert_eq!((r.header().flags, r.payload().len()), (REPLY, 16));
        assert!(
            serve_region(&mut b, &msg(9, REGION_WRITE, NO_REPLY, &w)).is_none(),
            "posted"
        );
        let bad = [&head(0x20, 8)[..], &5u32.to_le_bytes()].concat();
        let e = serve_region(&mut b, &msg(10, REGION_WRITE, 0, &bad)).unwrap();
        assert_eq!(
            (e.header().flags, e.header().error),
            (REPLY | ERROR, libc::EINVAL as u32)
        );
        let e = serve_region(&mut b, &msg(11, REGION_READ, 0, &[0; 8])).unwrap();
        assert_eq!(e.header().error, libc::EINVAL as u32, "truncated request");
    }
}

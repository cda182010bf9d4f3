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

use std::collections::HashMap;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use vfio_user::Server;

use crate::backend::{Backend, irqs, regions};
use crate::device::Device;
use crate::dma::MessagePath;
use crate::wire::{self, DMA_READ, DMA_WRITE, ERROR, Header, Message};

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
        let reply = sent.and_then(|()| wait_reply(&rx));
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
    std::thread::scope(|s| {
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
        s.spawn(move || {
            loop {
                match wire::recv(&inner_r) {
                    Ok(Some(m)) => {
                        let h = m.header();
                        if h.command == wire::VERSION && h.is_reply() {
                            let v = wire::max_xfer(m.payload()).unwrap_or(wire::DEFAULT_MAX_XFER);
                            link2.server_max.store(v, Ordering::Relaxed);
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
        // Client -> server or to a waiting DMA request.
        let result = loop {
            match wire::recv(&client_r) {
                Ok(Some(m)) => {
                    let h = m.header();
                    if h.is_reply() {
                        link.deliver(m);
                        continue;
                    }
                    if h.command == wire::VERSION {
                        let v = wire::max_xfer(m.payload()).unwrap_or(wire::DEFAULT_MAX_XFER);
                        link.client_max.store(v, Ordering::Relaxed);
                    }
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
    })
}

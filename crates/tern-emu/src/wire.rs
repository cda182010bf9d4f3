// SPDX-License-Identifier: MIT OR Apache-2.0
//! vfio-user messages on a Unix stream socket: framing by the 16-byte header, and the file
//! descriptors (SCM_RIGHTS) that travel with a message (DMA_MAP, SET_IRQS).

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// Size of the message header.
pub const HEADER: usize = 16;
/// `VFIO_USER_VERSION`.
pub const VERSION: u16 = 1;
/// `VFIO_USER_DMA_MAP`.
pub const DMA_MAP: u16 = 2;
/// `VFIO_USER_DEVICE_SET_IRQS`.
pub const SET_IRQS: u16 = 8;
/// `VFIO_USER_REGION_READ`.
pub const REGION_READ: u16 = 9;
/// `VFIO_USER_REGION_WRITE`.
pub const REGION_WRITE: u16 = 10;
/// `VFIO_USER_DMA_READ` (server to client).
pub const DMA_READ: u16 = 11;
/// `VFIO_USER_DMA_WRITE` (server to client).
pub const DMA_WRITE: u16 = 12;
/// Flags: the message type bits.
pub const TYPE_MASK: u32 = 0xf;
/// Flags: type "reply".
pub const REPLY: u32 = 1;
/// Flags: no reply wanted.
pub const NO_REPLY: u32 = 1 << 4;
/// Flags: the reply reports an error (errno in the header's error field).
pub const ERROR: u32 = 1 << 5;
/// `max_data_xfer_size` when a peer does not state one.
pub const DEFAULT_MAX_XFER: u32 = 1 << 20;
/// Most fds taken from one message.
pub const MAX_FDS: usize = 16;
/// Largest message accepted: the largest transfer a peer may ask for plus headers.
pub const MAX_MESSAGE: u32 = 64 << 20;

/// The message header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Message id, echoed by the reply.
    pub id: u16,
    /// Command.
    pub command: u16,
    /// Size of the whole message, header included.
    pub size: u32,
    /// Type, no-reply and error bits.
    pub flags: u32,
    /// errno of an error reply.
    pub error: u32,
}

impl Header {
    /// Decodes the first [`HEADER`] bytes of `b`.
    pub fn parse(b: &[u8]) -> Header {
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        Header {
            id: u16_at(0),
            command: u16_at(2),
            size: u32_at(4),
            flags: u32_at(8),
            error: u32_at(12),
        }
    }

    /// Encodes the header.
    pub fn bytes(&self) -> [u8; HEADER] {
        let mut b = [0u8; HEADER];
        b[0..2].copy_from_slice(&self.id.to_le_bytes());
        b[2..4].copy_from_slice(&self.command.to_le_bytes());
        b[4..8].copy_from_slice(&self.size.to_le_bytes());
        b[8..12].copy_from_slice(&self.flags.to_le_bytes());
        b[12..16].copy_from_slice(&self.error.to_le_bytes());
        b
    }

    /// True for a reply message.
    pub fn is_reply(&self) -> bool {
        self.flags & TYPE_MASK == REPLY
    }
}

/// One whole message and the fds that came with it.
#[derive(Debug, Default)]
pub struct Message {
    /// Header and payload.
    pub bytes: Vec<u8>,
    /// Descriptors passed with the message.
    pub fds: Vec<OwnedFd>,
}

impl Message {
    /// A message of `parts` after header `h` (whose size is filled in).
    pub fn new(mut h: Header, parts: &[&[u8]]) -> Message {
        let len = HEADER + parts.iter().map(|p| p.len()).sum::<usize>();
        h.size = len as u32;
        let mut bytes = Vec::with_capacity(len);
        bytes.extend_from_slice(&h.bytes());
        parts.iter().for_each(|p| bytes.extend_from_slice(p));
        Message {
            bytes,
            fds: Vec::new(),
        }
    }

    /// The header.
    pub fn header(&self) -> Header {
        Header::parse(&self.bytes)
    }

    /// What follows the header.
    pub fn payload(&self) -> &[u8] {
        &self.bytes[HEADER..]
    }
}

/// Little-endian u64 at `o` of `b`, if there.
pub fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

/// Little-endian u32 at `o` of `b`, if there.
pub fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// One `recvmsg` into `buf`, collecting passed fds. Returns the bytes read (0 at end).
fn recv_some(s: &UnixStream, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u64; 32];
    // SAFETY: an all-zero msghdr is valid (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let n = loop {
        // SAFETY: `msg` points at `iov` (covering `buf`) and `control`, all live for the call.
        let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    // SAFETY: walks the control messages the kernel wrote into `control` (bounded by
    // `msg_controllen`); each SCM_RIGHTS payload holds fds newly installed in this process,
    // which become owned here exactly once.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                let len = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for i in 0..len / size_of::<RawFd>() {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(invalid("too many file descriptors in one message"));
    }
    Ok(n)
}

/// Reads one message. `Ok(None)` when the peer closed the socket between messages.
pub fn recv(s: &UnixStream) -> io::Result<Option<Message>> {
    let mut head = [0u8; HEADER];
    let mut fds = Vec::new();
    let mut got = 0;
    while got < HEADER {
        let n = recv_some(s, &mut head[got..], &mut fds)?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        got += n;
    }
    let h = Header::parse(&head);
    if (h.size as usize) < HEADER || h.size > MAX_MESSAGE {
        return Err(invalid("bad message size"));
    }
    if fds.len() > MAX_FDS {
        return Err(invalid("too many file descriptors in one message"));
    }
    let mut bytes = vec![0u8; h.size as usize];
    bytes[..HEADER].copy_from_slice(&head);
    (&*s).read_exact(&mut bytes[HEADER..])?;
    Ok(Some(Message { bytes, fds }))
}

/// Writes one message, its fds attached to its first byte.
pub fn send(s: &UnixStream, m: &Message) -> io::Result<()> {
    if m.fds.is_empty() {
        return (&*s).write_all(&m.bytes);
    }
    if m.fds.len() > MAX_FDS {
        return Err(invalid("too many file descriptors in one message"));
    }
    let mut iov = libc::iovec {
        iov_base: m.bytes.as_ptr().cast_mut().cast(),
        iov_len: m.bytes.len(),
    };
    let mut control = [0u64; 32];
    let fd_bytes = m.fds.len() * size_of::<RawFd>();
    // SAFETY: an all-zero msghdr is valid (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(fd_bytes as u32) } as _;
    // SAFETY: `control` (256 bytes) holds one cmsghdr with up to MAX_FDS fds, which is what
    // `msg_controllen` announces; the header and data written stay inside it.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
        let data = libc::CMSG_DATA(c).cast::<RawFd>();
        for (i, fd) in m.fds.iter().enumerate() {
            data.add(i).write_unaligned(fd.as_raw_fd());
        }
    }
    let n = loop {
        // SAFETY: `msg` points at `iov` (covering `m.bytes`, only read) and `control`.
        let n = unsafe { libc::sendmsg(s.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    (&*s).write_all(&m.bytes[n..])
}

/// `max_data_xfer_size` from the payload of a VERSION message (major, minor, JSON), if stated.
pub fn max_xfer(version_payload: &[u8]) -> Option<u32> {
    let json = std::str::from_utf8(version_payload.get(4..)?).ok()?;
    let key = "\"max_data_xfer_size\"";
    let rest = json[json.find(key)? + key.len()..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok().filter(|&v| v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_caps() {
        let h = Header {
            id: 7,
            command: DMA_READ,
            size: 32,
            flags: REPLY | ERROR,
            error: 14,
        };
        assert_eq!(Header::parse(&h.bytes()), h);
        assert!(h.is_reply());
        let v = b"\0\0\x01\0{\"capabilities\":{\"max_msg_fds\":1,\"max_data_xfer_size\": 4096}}\0";
        assert_eq!(max_xfer(v), Some(4096));
        assert_eq!(max_xfer(b"\0\0\x01\0{}\0"), None);
    }

    #[test]
    fn fds_travel_with_their_message() {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, _w) = UnixStream::pair().unwrap();
        let plain = Message::new(Header::default(), &[&[1, 2, 3]]);
        let mut with_fd = Message::new(
            Header {
                command: DMA_MAP,
                ..Default::default()
            },
            &[&[9; 32]],
        );
        with_fd.fds.push(OwnedFd::from(r));
        send(&a, &plain).unwrap();
        send(&a, &with_fd).unwrap();
        let m1 = recv(&b).unwrap().unwrap();
        assert_eq!((m1.payload(), m1.fds.len()), (&[1u8, 2, 3][..], 0));
        let m2 = recv(&b).unwrap().unwrap();
        assert_eq!((m2.header().command, m2.fds.len()), (DMA_MAP, 1));
        drop(a);
        assert!(recv(&b).unwrap().is_none());
    }
}

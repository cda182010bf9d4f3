// SPDX-License-Identifier: MIT OR Apache-2.0
//! Running a program with the kernel calling convention of `docs/hardware.md` 12.4: the
//! arguments are u64 values in a block at device VA 0x10000; buffers are passed by VA.

use std::time::Duration;

use crate::buffer::{Buffer, BufferFlags};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::job::{Completion, Submit};

/// Device VA of the argument block.
pub const ARG_BLOCK_VA: u64 = 0x10000;

/// One argument of a program.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A zero-filled buffer of this many bytes.
    Zeroed(u64),
    /// A buffer holding these bytes.
    Data(Vec<u8>),
    /// An integer.
    Int(u64),
}

impl Arg {
    /// Parses `buf:SIZE`, `file:PATH`, `int:N` (numbers decimal or 0x hex).
    pub fn parse(s: &str) -> std::result::Result<Arg, String> {
        let num = |v: &str| -> std::result::Result<u64, String> {
            let r = match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => v.parse(),
            };
            r.map_err(|_| format!("'{v}' is not a number"))
        };
        match s.split_once(':') {
            Some(("buf", v)) => Ok(Arg::Zeroed(num(v)?)),
            Some(("int", v)) => Ok(Arg::Int(num(v)?)),
            Some(("file", p)) => std::fs::read(p)
                .map(Arg::Data)
                .map_err(|e| format!("cannot read '{p}': {e}")),
            _ => Err(format!("'{s}': expected buf:SIZE, file:PATH or int:N")),
        }
    }
}

/// A program with its buffers, ready to run again and again.
pub struct Prepared<'d> {
    dev: &'d Device,
    _args: Buffer<'d>,
    program: Buffer<'d>,
    len: u32,
    /// The buffers, in argument order (None for integer arguments).
    pub buffers: Vec<Option<Buffer<'d>>>,
    /// The size asked for each argument, in bytes (0 for integers); buffers are page-rounded.
    pub sizes: Vec<usize>,
}

/// Allocates the argument block, the program and the buffers.
pub fn prepare<'d>(dev: &'d Device, code: &[u8], args: &[Arg]) -> Result<Prepared<'d>> {
    if args.len() > 512 {
        return Err(Error::Invalid(
            "at most 512 arguments fit the argument block",
        ));
    }
    let mut block = dev.create_buffer(
        4096,
        BufferFlags {
            device_readonly: true,
            fixed_va: Some(ARG_BLOCK_VA),
        },
    )?;
    let mut program = dev.create_buffer(
        code.len().max(8) as u64,
        BufferFlags {
            device_readonly: true,
            fixed_va: None,
        },
    )?;
    program.bytes()?[..code.len()].copy_from_slice(code);
    let mut buffers = Vec::new();
    let mut words = Vec::new();
    let sizes = args
        .iter()
        .map(|a| match a {
            Arg::Int(_) => 0,
            Arg::Zeroed(n) => *n as usize,
            Arg::Data(d) => d.len(),
        })
        .collect();
    for a in args {
        match a {
            Arg::Int(v) => {
                words.push(*v);
                buffers.push(None);
            }
            Arg::Zeroed(n) => {
                let b = dev.create_buffer((*n).max(1), BufferFlags::default())?;
                words.push(b.va());
                buffers.push(Some(b));
            }
            Arg::Data(d) => {
                let mut b = dev.create_buffer(d.len().max(1) as u64, BufferFlags::default())?;
                b.bytes()?[..d.len()].copy_from_slice(d);
                words.push(b.va());
                buffers.push(Some(b));
            }
        }
    }
    let bytes = block.bytes()?;
    for (i, w) in words.iter().enumerate() {
        bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    Ok(Prepared {
        dev,
        _args: block,
        program,
        len: code.len() as u32,
        buffers,
        sizes,
    })
}

impl Prepared<'_> {
    /// Runs the program on `queue` and waits up to `timeout`.
    pub fn run(&self, queue: u32, timeout: Duration) -> Result<Completion> {
        let bufs: Vec<&Buffer<'_>> = self.buffers.iter().flatten().collect();
        let s = Submit {
            queue,
            program: Some(&self.program),
            len: self.len,
            buffers: &bufs,
            ..Default::default()
        };
        self.dev.run(&s, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_args() {
        assert_eq!(Arg::parse("buf:4096"), Ok(Arg::Zeroed(4096)));
        assert_eq!(Arg::parse("int:0x10"), Ok(Arg::Int(16)));
        assert!(Arg::parse("int:x").is_err());
        assert!(
            Arg::parse("file:/nonexistent/x")
                .unwrap_err()
                .contains("cannot read")
        );
        assert!(Arg::parse("blob:1").is_err());
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! The firmware source language (`firmware/tern-fw.src`): a line-based description of what
//! the image carries.
//!
//! ```text
//! version 1.0.0          # major.minor.patch
//! abi 1 1                # lowest and highest firmware ABI
//! note "free text"
//! decode MNEMONIC ENGINE_OP   # one line per opcode the firmware implements
//! ```

use tern_isa::{EngineOp, Opcode};

use crate::image::Manifest;

/// A source error, with its 1-based line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {msg}")]
pub struct SourceError {
    /// Line number.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

fn num(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses firmware source into a manifest.
pub fn parse(src: &str) -> Result<Manifest, SourceError> {
    let mut version = None;
    let mut abi = None;
    let mut note = String::new();
    let mut decode = [EngineOp::ILLEGAL; 256];
    for (i, raw) in src.lines().enumerate() {
        let err = |msg: String| SourceError { line: i + 1, msg };
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[0] {
            "version" => {
                let p: Vec<u32> = words
                    .get(1)
                    .map_or(vec![], |v| v.split('.').filter_map(num).collect());
                if words.len() != 2 || p.len() != 3 || p[0] > 255 || p[1] > 255 || p[2] > 0xffff {
                    return Err(err("expected 'version MAJOR.MINOR.PATCH'".into()));
                }
                version = Some(p[0] << 24 | p[1] << 16 | p[2]);
            }
            "abi" => {
                let v: Vec<u32> = words[1..].iter().filter_map(|w| num(w)).collect();
                if words.len() != 3 || v.len() != 2 || v[0] > v[1] || v[1] > 0xffff {
                    return Err(err("expected 'abi MIN MAX' with MIN <= MAX".into()));
                }
                abi = Some((v[0] as u16, v[1] as u16));
            }
            "note" => {
                let rest = line["note".len()..].trim();
                note = rest.trim_matches('"').to_owned();
            }
            "decode" => {
                if words.len() != 3 {
                    return Err(err("expected 'decode MNEMONIC ENGINE_OP'".into()));
                }
                let op = Opcode::from_mnemonic(words[1])
                    .ok_or_else(|| err(format!("unknown mnemonic '{}'", words[1])))?;
                let eng = num(words[2])
                    .filter(|&v| v <= 0xffff && EngineOp(v as u16).opcode() == Some(op))
                    .ok_or_else(|| {
                        err(format!(
                            "'{}' is not the engine operation of {}",
                            words[2], words[1]
                        ))
                    })?;
                if decode[op as usize] != EngineOp::ILLEGAL {
                    return Err(err(format!("'{}' decoded twice", words[1])));
                }
                decode[op as usize] = eng as u16;
            }
            w => return Err(err(format!("unknown directive '{w}'"))),
        }
    }
    let err = |msg: &str| SourceError {
        line: src.lines().count(),
        msg: msg.into(),
    };
    let version = version.ok_or_else(|| err("no 'version' line"))?;
    let (abi_min, abi_max) = abi.ok_or_else(|| err("no 'abi' line"))?;
    Ok(Manifest {
        version,
        abi_min,
        abi_max,
        decode,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let m = parse("version 1.2.3\nabi 1 1\nnote \"x\"\ndecode halt 0x0102 # stop\n").unwrap();
        assert_eq!(m.version, 0x0102_0003);
        assert_eq!(m.decode[1], 0x0102);
        assert_eq!(m.decode[0], EngineOp::ILLEGAL);
        assert_eq!(parse("version 1.2\n").unwrap_err().line, 1);
        assert_eq!(
            parse("version 1.0.0\nabi 1 1\ndecode halt 0x0101\n")
                .unwrap_err()
                .line,
            3
        );
        assert_eq!(
            parse("version 1.0.0\nabi 1 1\ndecode hlt 0x0102\n")
                .unwrap_err()
                .line,
            3
        );
        assert!(parse("version 1.0.0\n").is_err());
        assert!(parse("abi 2 1\n").is_err());
        assert!(parse("bogus\n").is_err());
    }
}

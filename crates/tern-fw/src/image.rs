// SPDX-License-Identifier: MIT OR Apache-2.0
//! Firmware images: building them, and checking them exactly as the boot ROM does.

use sha2::{Digest, Sha256};
use tern_hw::BootStatus;
use tern_hw::fw::*;
use tern_isa::EngineOp;

/// What an image declares about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Firmware version, `major << 24 | minor << 16 | patch`.
    pub version: u32,
    /// Lowest firmware ABI spoken.
    pub abi_min: u16,
    /// Highest firmware ABI spoken.
    pub abi_max: u16,
    /// Decode table: ISA opcode -> engine operation (`EngineOp::ILLEGAL` for none).
    pub decode: [u16; 256],
    /// Build note.
    pub note: String,
}

/// A checked image, as the boot ROM keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// Firmware version.
    pub version: u32,
    /// ABI range.
    pub abi: (u16, u16),
    /// Decode table.
    pub decode: [u16; 256],
}

fn put16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}
fn get16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn get32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// SHA-256 of `image` with the digest field taken as zero.
pub fn digest(image: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = Sha256::new();
    h.update(&image[..DIGEST_OFFSET]);
    h.update([0u8; DIGEST_LEN]);
    h.update(&image[DIGEST_OFFSET + DIGEST_LEN..]);
    h.finalize().into()
}

/// Builds the image for `m`: header, section table (decode, note), payloads, digest. The
/// output depends only on `m`, so builds are reproducible.
pub fn build(m: &Manifest) -> Vec<u8> {
    let nsec = 2usize;
    let hdr = HEADER_FIXED + SECTION_ENTRY * nsec;
    let decode: Vec<u8> = m.decode.iter().flat_map(|e| e.to_le_bytes()).collect();
    let note = m.note.as_bytes();
    let total = hdr + decode.len() + note.len();
    let mut b = vec![0u8; total];
    put32(&mut b, 0x00, MAGIC);
    put16(&mut b, 0x04, HEADER_VERSION);
    put16(&mut b, 0x06, hdr as u16);
    put32(&mut b, 0x08, m.version);
    put16(&mut b, 0x0c, m.abi_min);
    put16(&mut b, 0x0e, m.abi_max);
    put32(&mut b, 0x10, total as u32);
    put32(&mut b, 0x14, nsec as u32);
    let sections = [
        (SECTION_DECODE, hdr, decode.len()),
        (SECTION_NOTE, hdr + decode.len(), note.len()),
    ];
    for (i, (ty, off, len)) in sections.iter().enumerate() {
        let e = HEADER_FIXED + SECTION_ENTRY * i;
        put32(&mut b, e, *ty);
        put32(&mut b, e + 4, *off as u32);
        put32(&mut b, e + 8, *len as u32);
    }
    b[hdr..hdr + decode.len()].copy_from_slice(&decode);
    b[hdr + decode.len()..].copy_from_slice(note);
    let d = digest(&b);
    b[DIGEST_OFFSET..DIGEST_OFFSET + DIGEST_LEN].copy_from_slice(&d);
    b
}

/// The boot ROM's checks (`docs/hardware.md` 4.3), in the manual's order. `boot_size` is the
/// value of `BOOT_SIZE`; `image` holds the bytes read from memory (at most `boot_size`).
pub fn check(image: &[u8], boot_size: u32) -> Result<Loaded, BootStatus> {
    if image.len() < 4 || get32(image, 0) != MAGIC {
        return Err(BootStatus::BadMagic);
    }
    if image.len() < 6 || get16(image, 4) != HEADER_VERSION {
        return Err(BootStatus::BadHeaderVersion);
    }
    if boot_size == 0 || boot_size > MAX_IMAGE || image.len() < HEADER_FIXED {
        return Err(BootStatus::BadSize);
    }
    let total = get32(image, 0x10);
    let nsec = get32(image, 0x14);
    let hdr = get16(image, 6) as usize;
    if total != boot_size
        || total as usize != image.len()
        || nsec == 0
        || nsec > MAX_SECTIONS
        || hdr != HEADER_FIXED + SECTION_ENTRY * nsec as usize
        || hdr > image.len()
    {
        return Err(BootStatus::BadSize);
    }
    if image[DIGEST_OFFSET..DIGEST_OFFSET + DIGEST_LEN] != digest(image) {
        return Err(BootStatus::BadDigest);
    }
    let (abi_min, abi_max) = (get16(image, 0x0c), get16(image, 0x0e));
    if abi_min > abi_max || abi_max < HW_ABI_MIN || abi_min > HW_ABI_MAX {
        return Err(BootStatus::AbiUnsupported);
    }
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut decode = None;
    for i in 0..nsec as usize {
        let e = HEADER_FIXED + SECTION_ENTRY * i;
        let (ty, off, len) = (
            get32(image, e),
            get32(image, e + 4) as usize,
            get32(image, e + 8) as usize,
        );
        let end = off.checked_add(len).ok_or(BootStatus::BadSection)?;
        if off < hdr || end > image.len() || get32(image, e + 12) != 0 {
            return Err(BootStatus::BadSection);
        }
        if ranges.iter().any(|&(o, e2)| off < e2 && o < end) {
            return Err(BootStatus::BadSection);
        }
        ranges.push((off, end));
        match ty {
            SECTION_DECODE => {
                if decode.is_some() || len != DECODE_SIZE as usize {
                    return Err(BootStatus::BadSection);
                }
                let mut t = [0u16; 256];
                for (k, slot) in t.iter_mut().enumerate() {
                    let v = get16(image, off + 2 * k);
                    if v != EngineOp::ILLEGAL && EngineOp(v).opcode().is_none() {
                        return Err(BootStatus::BadSection);
                    }
                    *slot = v;
                }
                decode = Some(t);
            }
            SECTION_NOTE => {}
            _ => return Err(BootStatus::BadSection),
        }
    }
    let decode = decode.ok_or(BootStatus::MissingSection)?;
    Ok(Loaded {
        version: get32(image, 8),
        abi: (abi_min, abi_max),
        decode,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let mut decode = [EngineOp::ILLEGAL; 256];
        for &o in tern_isa::Opcode::ALL {
            decode[o as usize] = o.engine_op().0;
        }
        Manifest {
            version: 0x0100_0000,
            abi_min: 1,
            abi_max: 1,
            decode,
            note: "test".into(),
        }
    }

    fn redigest(mut b: Vec<u8>) -> Vec<u8> {
        let d = digest(&b);
        b[DIGEST_OFFSET..DIGEST_OFFSET + DIGEST_LEN].copy_from_slice(&d);
        b
    }

    #[test]
    fn good_image_loads() {
        let img = build(&manifest());
        let l = check(&img, img.len() as u32).unwrap();
        assert_eq!(l.version, 0x0100_0000);
        assert_eq!(l.decode[0x60], tern_isa::Opcode::Gemm.engine_op().0);
        assert_eq!(build(&manifest()), img, "builds are reproducible");
    }

    #[test]
    fn each_bad_image_gets_its_status() {
        let img = build(&manifest());
        let n = img.len() as u32;
        let mut b = img.clone();
        b[0] = b'X';
        assert_eq!(check(&b, n), Err(BootStatus::BadMagic));
        let mut b = img.clone();
        b[4] = 2;
        assert_eq!(check(&b, n), Err(BootStatus::BadHeaderVersion));
        assert_eq!(check(&img, n + 1), Err(BootStatus::BadSize));
        assert_eq!(check(&img, 0), Err(BootStatus::BadSize));
        assert_eq!(
            check(&img[..img.len() - 1], n - 1),
            Err(BootStatus::BadSize)
        );
        let mut b = img.clone();
        *b.last_mut().unwrap() ^= 1;
        assert_eq!(check(&b, n), Err(BootStatus::BadDigest));
        let mut b = img.clone();
        b[0x0c] = 2;
        b[0x0e] = 3;
        assert_eq!(check(&redigest(b), n), Err(BootStatus::AbiUnsupported));
        let mut b = img.clone();
        b[HEADER_FIXED + 8] = 0xff; // decode section length
        assert_eq!(check(&redigest(b), n), Err(BootStatus::BadSection));
        let mut b = img.clone();
        b[HEADER_FIXED + 16 + 5] = 0; // note offset 0x260 -> 0x60: inside the decode table
        assert_eq!(check(&redigest(b), n), Err(BootStatus::BadSection));
        let mut b = img.clone();
        let dec = HEADER_FIXED + 32;
        b[dec] = 0x34;
        b[dec + 1] = 0x12; // engine op 0x1234 does not exist
        assert_eq!(check(&redigest(b), n), Err(BootStatus::BadSection));
        let mut b = img.clone();
        b[HEADER_FIXED] = SECTION_NOTE as u8; // decode section retyped as a note
        assert_eq!(check(&redigest(b), n), Err(BootStatus::MissingSection));
    }
}

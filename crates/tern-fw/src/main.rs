// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern-fw`: builds and inspects TERN firmware images.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use sha2::Digest;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn usage() -> ! {
    eprintln!(
        "usage: tern-fw build SOURCE -o IMAGE   build an image, print its SHA-256\n       \
         tern-fw check IMAGE             run the boot ROM's checks on an image"
    );
    std::process::exit(2)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["build", src, "-o", out] => {
            let text = std::fs::read_to_string(src).with_context(|| format!("reading {src}"))?;
            let m = tern_fw::parse(&text).with_context(|| src.to_string())?;
            let img = tern_fw::build(&m);
            let out = PathBuf::from(out);
            if let Some(dir) = out.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&out, &img).with_context(|| format!("writing {}", out.display()))?;
            // sha256sum's format, so `sha256sum -c` checks the output.
            println!("{}  {}", hex(&sha2::Sha256::digest(&img)), out.display());
        }
        ["check", image] => {
            let img = std::fs::read(image).with_context(|| format!("reading {image}"))?;
            match tern_fw::check(&img, img.len() as u32) {
                Ok(l) => println!(
                    "OK: firmware {}.{}.{}, ABI {}..{}",
                    l.version >> 24,
                    (l.version >> 16) & 0xff,
                    l.version & 0xffff,
                    l.abi.0,
                    l.abi.1
                ),
                Err(s) => bail!("{image}: boot ROM status {} ({})", s as u32, s.name()),
            }
        }
        _ => usage(),
    }
    Ok(())
}

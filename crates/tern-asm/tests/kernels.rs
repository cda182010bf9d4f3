// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel library in `kernels/` at the repository root assembles and round-trips.

use std::path::PathBuf;

use tern_asm::{assemble_bytes, disassemble};

#[test]
fn every_kernel_assembles() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../kernels");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "s") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = assemble_bytes(&src).unwrap_or_else(|e| panic!("{name}:{e}"));
        assert!(!bytes.is_empty(), "{name}");
        let text = disassemble(&bytes).unwrap();
        assert!(!text.contains(".word"), "{name}");
        assert_eq!(assemble_bytes(&text).unwrap(), bytes, "{name}");
        names.push(name);
    }
    names.sort();
    let want = [
        "copy.s",
        "fill.s",
        "gemm_f32.s",
        "relu_f32.s",
        "sum_f32.s",
        "vadd_f32.s",
    ];
    for w in want {
        assert!(names.iter().any(|n| n == w), "missing kernels/{w}");
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
//! Generates the uAPI structs from `uapi/drm/tern_accel.h`. The DRM core header `drm.h` comes
//! from libdrm's copy of the kernel uAPI (`/usr/include/libdrm`, Debian's `libdrm-dev`), or
//! from `TERN_DRM_INCLUDE` when set.

use std::env;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let header = root.join("uapi/drm/tern_accel.h");
    let drm_inc = env::var("TERN_DRM_INCLUDE").unwrap_or_else(|_| "/usr/include/libdrm".into());
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-env-changed=TERN_DRM_INCLUDE");
    if !PathBuf::from(&drm_inc).join("drm.h").exists() {
        panic!("drm.h not found in {drm_inc}: install libdrm-dev or set TERN_DRM_INCLUDE");
    }
    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_arg(format!("-I{drm_inc}"))
        .allowlist_item("(drm|DRM)_(tern|TERN)_.*")
        .allowlist_type("drm_version|drm_gem_close|drm_gem_flink|drm_gem_open|drm_prime_handle")
        .allowlist_type("drm_get_cap|drm_syncobj_.*")
        .allowlist_var("DRM_SYNCOBJ_.*|DRM_CAP_SYNCOBJ.*")
        .derive_default(true)
        .use_core()
        .layout_tests(true)
        .generate()
        .unwrap_or_else(|e| panic!("bindgen failed on {}: {e}", header.display()));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("bindings.rs");
    bindings.write_to_file(&out).expect("write bindings");
}

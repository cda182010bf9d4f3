// SPDX-License-Identifier: MIT OR Apache-2.0
//! The shipped firmware builds to the same bytes every time, and those bytes are the ones
//! recorded in `firmware/tern-fw-v1.bin.sha256`.

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn firmware_digest_is_the_recorded_one() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../firmware");
    let src = std::fs::read_to_string(format!("{root}/tern-fw.src")).expect("firmware source");
    let m = tern_fw::parse(&src).expect("firmware source parses");
    let a = tern_fw::build(&m);
    let b = tern_fw::build(&tern_fw::parse(&src).expect("parses"));
    assert_eq!(a, b, "two builds differ");
    let want =
        std::fs::read_to_string(format!("{root}/tern-fw-v1.bin.sha256")).expect("recorded digest");
    let want = want.split_whitespace().next().expect("digest");
    use sha2::Digest;
    assert_eq!(
        hex(&sha2::Sha256::digest(&a)),
        want,
        "firmware changed: update firmware/tern-fw-v1.bin.sha256"
    );
    assert!(tern_fw::check(&a, a.len() as u32).is_ok());
}

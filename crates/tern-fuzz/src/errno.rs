// SPDX-License-Identifier: MIT OR Apache-2.0
//! The errnos a DRM accel driver may sanely return, and their names.

const NAMES: &[(i32, &str)] = &[
    (libc::EINVAL, "EINVAL"),
    (libc::ENOTTY, "ENOTTY"),
    (libc::EFAULT, "EFAULT"),
    (libc::ENOENT, "ENOENT"),
    (libc::EBUSY, "EBUSY"),
    (libc::ENOMEM, "ENOMEM"),
    (libc::ENOSPC, "ENOSPC"),
    (libc::EPERM, "EPERM"),
    (libc::EACCES, "EACCES"),
    (libc::EOPNOTSUPP, "EOPNOTSUPP"),
    (libc::ETIME, "ETIME"),
    (libc::ETIMEDOUT, "ETIMEDOUT"),
    (libc::EINTR, "EINTR"),
    (libc::EAGAIN, "EAGAIN"),
    (libc::ENODEV, "ENODEV"),
    (libc::EEXIST, "EEXIST"),
    (libc::E2BIG, "E2BIG"),
    (libc::ERANGE, "ERANGE"),
    (libc::EBADF, "EBADF"),
    (libc::ENOSYS, "ENOSYS"),
    (libc::EOVERFLOW, "EOVERFLOW"),
    (libc::ECANCELED, "ECANCELED"),
    (libc::EIO, "EIO"),
    (libc::EMFILE, "EMFILE"),
    (libc::ENXIO, "ENXIO"),
];

/// Whether `e` is an errno the driver may return for a call; EIO only for job results
/// (`job_result`: a WAIT).
pub fn sane(e: i32, job_result: bool) -> bool {
    match e {
        libc::EIO => job_result,
        libc::EMFILE | libc::ENXIO => false,
        _ => NAMES.iter().any(|&(n, _)| n == e),
    }
}

/// `EINVAL`, or `errno N` for unnamed ones.
pub fn name(e: i32) -> String {
    if e == 0 {
        return "ok".into();
    }
    NAMES
        .iter()
        .find(|&&(n, _)| n == e)
        .map_or_else(|| format!("errno {e}"), |&(_, s)| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_set() {
        assert!(sane(libc::EINVAL, false));
        assert!(sane(libc::ENOTTY, false));
        assert!(!sane(libc::EIO, false));
        assert!(sane(libc::EIO, true));
        assert!(!sane(libc::EMFILE, false));
        assert!(!sane(libc::EXDEV, false));
        assert_eq!(name(libc::EFAULT), "EFAULT");
        assert_eq!(name(libc::EXDEV), format!("errno {}", libc::EXDEV));
    }
}

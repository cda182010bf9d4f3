/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * TERN processing accelerator: userspace interface of the tern accel driver.
 *
 * This header is the single source of truth for the interface: the kernel module and the
 * userspace library both generate their structures from it.
 */
#ifndef _TERN_ACCEL_H_
#define _TERN_ACCEL_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DRM_TERN_UAPI_VERSION - version of this interface.
 *
 * Bumped when an ioctl, a flag or a field is added. Userspace compares it with the value
 * DRM_IOCTL_TERN_QUERY reports to learn what the running driver understands.
 */
#define DRM_TERN_UAPI_VERSION 1

/** DRM_TERN_DRIVER_NAME - name the driver reports through DRM_IOCTL_VERSION. */
#define DRM_TERN_DRIVER_NAME "tern"

#if defined(__cplusplus)
}
#endif

#endif /* _TERN_ACCEL_H_ */

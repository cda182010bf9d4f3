/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * TERN processing accelerator: userspace interface of the tern accel driver.
 *
 * This header is the single source of truth for the interface: the kernel module and the
 * userspace library both generate their structures from it with bindgen.
 *
 * Rules common to every ioctl:
 *  - every pad field, every reserved flag bit and every output field must be zero on input
 *    (-EINVAL otherwise);
 *  - an ioctl that fails changes nothing;
 *  - once the device is gone (unbound, removed) or its firmware has crashed, ioctls that need
 *    it return -ENODEV;
 *  - structures only grow at the end; the DRM core zero-extends a shorter structure from
 *    older userspace, and new fields are defined so that zero keeps the old behaviour.
 *
 * Limits: opening the device fails with -EBUSY when 4095 files have it open (one device
 * address space each). One file maps at most 4096 buffers and 1 GiB (-ENOSPC from BO_CREATE,
 * BO_INFO and SUBMIT beyond); a closed buffer counts until the jobs submitted before its close
 * have retired. A file has at most 255 jobs in flight per queue (-EBUSY).
 *
 * Buffer lifetime: closing a file's last handle to a buffer keeps its pages, its mapping and
 * its VA for as long as a job submitted before the close may run (a job may use any VA of its
 * file's address space, not only the buffers it lists); only then is the VA given to another
 * buffer. A job submitted after the close that uses the old VA may see the old buffer or fault.
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
 * Bumped when an ioctl, a flag or a field is added. DRM_IOCTL_TERN_QUERY reports the version
 * the running driver implements.
 */
#define DRM_TERN_UAPI_VERSION 1

/** DRM_TERN_DRIVER_NAME - name the driver reports through DRM_IOCTL_VERSION. */
#define DRM_TERN_DRIVER_NAME "tern"

#define DRM_TERN_QUERY 0x00
#define DRM_TERN_BO_CREATE 0x01
#define DRM_TERN_BO_INFO 0x02
#define DRM_TERN_SUBMIT 0x03
#define DRM_TERN_WAIT 0x04

/* Capability bits of &drm_tern_query.caps, as the hardware reports them in CAPS. */
/** DRM_TERN_CAP_MMU - per-context device address spaces. */
#define DRM_TERN_CAP_MMU (1ULL << 0)
/** DRM_TERN_CAP_F32 - f32 elementwise, reduction and GEMM instructions. */
#define DRM_TERN_CAP_F32 (1ULL << 1)
/** DRM_TERN_CAP_I32 - i32 elementwise and reduction instructions. */
#define DRM_TERN_CAP_I32 (1ULL << 2)
/** DRM_TERN_CAP_TIMESTAMP - the TS instruction. */
#define DRM_TERN_CAP_TIMESTAMP (1ULL << 3)

/**
 * struct drm_tern_query - what the device and driver offer (DRM_IOCTL_TERN_QUERY).
 * @flags: must be zero.
 * @pad: must be zero.
 * @uapi_version: DRM_TERN_UAPI_VERSION of the driver.
 * @hw_version: hardware version, major in bits 31:16, minor in 15:0.
 * @fw_version: running firmware, major in 31:24, minor in 23:16, patch in 15:0.
 * @fw_abi: firmware ABI version the driver negotiated.
 * @caps: DRM_TERN_CAP_* bits.
 * @queue_count: hardware queues; DRM_IOCTL_TERN_SUBMIT takes 0 .. queue_count - 1.
 * @max_cmd_len: longest command buffer in bytes.
 * @va_start: lowest device VA a buffer can be mapped at.
 * @va_end: first device VA past the usable range.
 * @max_bo_size: largest buffer object in bytes.
 * @max_submit_bos: most buffer handles in one submission.
 * @pad2: zero.
 */
struct drm_tern_query {
	__u32 flags;
	__u32 pad;
	__u32 uapi_version;
	__u32 hw_version;
	__u32 fw_version;
	__u32 fw_abi;
	__u64 caps;
	__u32 queue_count;
	__u32 max_cmd_len;
	__u64 va_start;
	__u64 va_end;
	__u64 max_bo_size;
	__u32 max_submit_bos;
	__u32 pad2;
};

/** DRM_TERN_BO_DEVICE_READONLY - the device may read but not write the buffer. */
#define DRM_TERN_BO_DEVICE_READONLY (1U << 0)
/** DRM_TERN_BO_FIXED_VA - map the buffer at &drm_tern_bo_create.va instead of a chosen VA. */
#define DRM_TERN_BO_FIXED_VA (1U << 1)
#define DRM_TERN_BO_FLAGS (DRM_TERN_BO_DEVICE_READONLY | DRM_TERN_BO_FIXED_VA)

/**
 * struct drm_tern_bo_create - create a buffer object (DRM_IOCTL_TERN_BO_CREATE).
 * @size: size in bytes, rounded up to the page size; 1 .. max_bo_size.
 * @flags: DRM_TERN_BO_* bits; others must be zero.
 * @handle: out: GEM handle of the new buffer.
 * @va: in with DRM_TERN_BO_FIXED_VA: the page-aligned device VA to map the buffer at
 *      (-EEXIST if it overlaps a mapping, -EINVAL if outside va_start..va_end); otherwise
 *      must be zero. Out: the device VA the buffer is mapped at in this file's address space.
 *
 * The buffer is zero-filled, mapped for the device in the calling file's address space and
 * nowhere else. Buffers exported with PRIME can be imported by another TERN file (it gets its
 * own mapping); importing a dma-buf of another device fails with -EOPNOTSUPP.
 */
struct drm_tern_bo_create {
	__u64 size;
	__u32 flags;
	__u32 handle;
	__u64 va;
};

/**
 * struct drm_tern_bo_info - describe a buffer object (DRM_IOCTL_TERN_BO_INFO).
 * @handle: GEM handle.
 * @flags: out: the DRM_TERN_BO_* flags it was created with.
 * @size: out: size in bytes.
 * @va: out: device VA in this file's address space.
 * @mmap_offset: out: offset to pass to mmap() on the device file to map it for the CPU.
 */
struct drm_tern_bo_info {
	__u32 handle;
	__u32 flags;
	__u64 size;
	__u64 va;
	__u64 mmap_offset;
};

/**
 * struct drm_tern_submit - run a command buffer on a hardware queue (DRM_IOCTL_TERN_SUBMIT).
 * @queue: hardware queue, 0 .. queue_count - 1.
 * @flags: must be zero.
 * @cmd_handle: buffer holding the program.
 * @cmd_len: program length in bytes: a multiple of 8, 0 .. max_cmd_len; 0 submits a no-op job.
 * @cmd_offset: offset of the program in @cmd_handle, a multiple of 8; the program must lie
 *              inside the buffer.
 * @bo_handles: user pointer to an array of __u32 GEM handles the job uses; they stay alive
 *              until the job completes.
 * @bo_count: entries in @bo_handles, 0 .. max_submit_bos.
 * @budget: instruction budget (0: the device default); the job ends with
 *          DRM_TERN_JOB_WATCHDOG when it runs out.
 * @seqno: out: the job's sequence number on @queue, for DRM_IOCTL_TERN_WAIT.
 *
 * Errors: -EINVAL for a bad value, -ENOENT for an unknown handle, -EFAULT for an unreadable
 * @bo_handles, -EBUSY when the queue's ring is full (wait for a job first), -ENODEV when the
 * device is gone.
 */
struct drm_tern_submit {
	__u32 queue;
	__u32 flags;
	__u32 cmd_handle;
	__u32 cmd_len;
	__u64 cmd_offset;
	__u64 bo_handles;
	__u32 bo_count;
	__u32 budget;
	__u64 seqno;
};

/* Job status reported by DRM_IOCTL_TERN_WAIT. */
/** DRM_TERN_JOB_PENDING - not finished (the wait timed out: the ioctl returns -ETIME). */
#define DRM_TERN_JOB_PENDING 0
/** DRM_TERN_JOB_DONE - completed. */
#define DRM_TERN_JOB_DONE 1
/** DRM_TERN_JOB_MMU_FAULT - touched memory not mapped for it; @fault_va says where. */
#define DRM_TERN_JOB_MMU_FAULT 2
/** DRM_TERN_JOB_ILLEGAL - illegal instruction; @info is its index. */
#define DRM_TERN_JOB_ILLEGAL 3
/** DRM_TERN_JOB_WATCHDOG - ran out of its instruction budget. */
#define DRM_TERN_JOB_WATCHDOG 4
/** DRM_TERN_JOB_ABORTED - stopped by a device reset or recovery; it may be submitted again. */
#define DRM_TERN_JOB_ABORTED 5

/**
 * struct drm_tern_wait - wait for a job (DRM_IOCTL_TERN_WAIT).
 * @queue: the queue the job was submitted to.
 * @flags: must be zero.
 * @seqno: the job's sequence number; it must be a job of this file (-EINVAL otherwise). The
 *         driver remembers the results of the last 4096 jobs of a file per queue; older
 *         ones are forgotten (-EINVAL).
 * @timeout_ns: how long to wait, relative; 0 polls, negative is -EINVAL. -ETIME when it
 *              expires first, -EINTR when a signal arrives.
 * @status: out: DRM_TERN_JOB_*.
 * @info: out: status detail (instruction index for DRM_TERN_JOB_ILLEGAL).
 * @fault_va: out: faulting device VA for DRM_TERN_JOB_MMU_FAULT.
 * @duration_ns: out: execution time measured by the device.
 */
struct drm_tern_wait {
	__u32 queue;
	__u32 flags;
	__u64 seqno;
	__s64 timeout_ns;
	__u32 status;
	__u32 info;
	__u64 fault_va;
	__u64 duration_ns;
};

#define DRM_IOCTL_TERN_QUERY DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_QUERY, struct drm_tern_query)
#define DRM_IOCTL_TERN_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_BO_CREATE, struct drm_tern_bo_create)
#define DRM_IOCTL_TERN_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_BO_INFO, struct drm_tern_bo_info)
#define DRM_IOCTL_TERN_SUBMIT DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_SUBMIT, struct drm_tern_submit)
#define DRM_IOCTL_TERN_WAIT DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_WAIT, struct drm_tern_wait)

#if defined(__cplusplus)
}
#endif

#endif /* _TERN_ACCEL_H_ */

/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
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
 * have retired. A file has at most 1024 jobs per queue that wait to run (-EBUSY beyond).
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
 *
 * Version 2: jobs are DMA fences. SUBMIT takes buffers with their usage (struct
 * drm_tern_bo_ref, replacing the bare handle array of version 1), syncobjs to wait for and to
 * signal, and can return a sync_file; jobs wait for the fences of their buffers (implicit
 * sync); a full ring no longer fails SUBMIT. WAIT takes an absolute CLOCK_MONOTONIC deadline
 * and is restarted after a signal. The DRM core's syncobj ioctls work on the device.
 *
 * Version 3: recovery and priorities. A job that makes no progress ends with ETIMEDOUT, one
 * running at a firmware crash with EIO (DRM_TERN_JOB_ABORTED); a file can be banned (SUBMIT
 * fails with -EIO); a wedged device fails every ioctl with -ENODEV. DRM_IOCTL_TERN_SET_PRIORITY
 * sets the priority of a file's jobs.
 *
 * Version 4: dma-bufs of other devices can be imported (DRM_TERN_BO_IMPORTED).
 *
 * Version 5: DRM_IOCTL_TERN_SUBMIT_BATCH queues several jobs with one call.
 */
#define DRM_TERN_UAPI_VERSION 5

/** DRM_TERN_DRIVER_NAME - name the driver reports through DRM_IOCTL_VERSION. */
#define DRM_TERN_DRIVER_NAME "tern"

#define DRM_TERN_QUERY 0x00
#define DRM_TERN_BO_CREATE 0x01
#define DRM_TERN_BO_INFO 0x02
#define DRM_TERN_SUBMIT 0x03
#define DRM_TERN_WAIT 0x04
#define DRM_TERN_SET_PRIORITY 0x05
#define DRM_TERN_SUBMIT_BATCH 0x06

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
 * DRM_TERN_BO_IMPORTED - output only (&drm_tern_bo_info.flags): the buffer imports a dma-buf
 * exported by another device; its pages belong to the exporter.
 */
#define DRM_TERN_BO_IMPORTED (1U << 2)

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
 * own mapping).
 *
 * Importing dma-bufs (DRM_IOCTL_PRIME_FD_TO_HANDLE): a dma-buf this device exported gives the
 * exporting buffer. A dma-buf of any other exporter (a dma-heap, vgem, udmabuf, another TERN
 * device) becomes a buffer with DRM_TERN_BO_IMPORTED, and with DRM_TERN_BO_DEVICE_READONLY
 * when the dma-buf's file is not open for writing (a PRIME export without DRM_RDWR): device
 * writes to it fault. Importing the same dma-buf again gives the same handle; exporting an
 * imported buffer gives back the original dma-buf. Errors: -EBADF for a closed fd, -EINVAL
 * for an fd that is not a dma-buf or a dma-buf whose size is not a multiple of 4 KiB, -E2BIG
 * for a dma-buf larger than max_bo_size. The buffer is mapped for the device on its first
 * BO_INFO (or use as a SUBMIT's command buffer), with -ENOSPC beyond the file's limits. The
 * exporter keeps the buffer in place (the import pins it) until the last handle is closed and
 * the last job that may use it has retired. CPU mmap() at its BO_INFO offset maps the dma-buf
 * through its exporter; a shared writable mapping of a read-only dma-buf fails with -EACCES.
 * Jobs that list an imported buffer synchronize through the dma-buf's reservation object, so
 * they wait for, and are waited for by, every device that uses the buffer.
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
 * @flags: out: the DRM_TERN_BO_* flags it was created with, or for an imported buffer
 *         DRM_TERN_BO_IMPORTED with DRM_TERN_BO_DEVICE_READONLY if the dma-buf is read-only.
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

/* Usage of a buffer by a job, in &drm_tern_bo_ref.usage. */
/** DRM_TERN_BO_READ - the job reads the buffer: it waits for the buffer's writers. */
#define DRM_TERN_BO_READ (1 << 0)
/** DRM_TERN_BO_WRITE - the job writes the buffer: it waits for every user of the buffer. */
#define DRM_TERN_BO_WRITE (1 << 1)
#define DRM_TERN_BO_USAGE (DRM_TERN_BO_READ | DRM_TERN_BO_WRITE)

/**
 * struct drm_tern_bo_ref - a buffer a job uses.
 * @handle: GEM handle; the buffer stays alive until the job has finished.
 * @usage: DRM_TERN_BO_READ, DRM_TERN_BO_WRITE or both; nothing else (-EINVAL).
 *
 * Implicit synchronisation: the job waits for the fences of the buffer's reservation object
 * (the write fences for a reader, all of them for a writer), and its own fence is added to it
 * with its usage, so that another process or device sharing the buffer (through PRIME) waits
 * for it in turn. The program buffer of a job counts as read.
 */
struct drm_tern_bo_ref {
	__u32 handle;
	__u32 usage;
};

/**
 * struct drm_tern_sync - a syncobj a job waits for or signals.
 * @handle: syncobj handle of this file (-ENOENT if there is none).
 * @flags: must be zero.
 * @point: timeline point; 0 for a binary syncobj.
 *
 * Waiting: the job runs after the fence the syncobj holds (for @point on a timeline). There
 * must be one: a binary syncobj that was never signalled or was reset, a point not submitted
 * yet, or a point on a syncobj that is not a timeline are -EINVAL.
 *
 * Signalling: when SUBMIT returns, a binary syncobj holds the job's fence (replacing the old
 * one) and a timeline has @point, signalled by the job's fence.
 */
struct drm_tern_sync {
	__u32 handle;
	__u32 flags;
	__u64 point;
};

/** DRM_TERN_MAX_SYNCS - most entries in each of &drm_tern_submit.waits and .signals. */
#define DRM_TERN_MAX_SYNCS 64

/** DRM_TERN_SUBMIT_OUT_FENCE_FD - return the job's fence as a sync_file in @out_fence_fd. */
#define DRM_TERN_SUBMIT_OUT_FENCE_FD (1 << 0)
#define DRM_TERN_SUBMIT_FLAGS DRM_TERN_SUBMIT_OUT_FENCE_FD

/**
 * struct drm_tern_submit - queue a job on a hardware queue (DRM_IOCTL_TERN_SUBMIT).
 * @queue: hardware queue, 0 .. queue_count - 1.
 * @flags: DRM_TERN_SUBMIT_*.
 * @cmd_handle: buffer holding the program.
 * @cmd_len: program length in bytes: a multiple of 8, 0 .. max_cmd_len; 0 submits a no-op job.
 * @cmd_offset: offset of the program in @cmd_handle, a multiple of 8; the program must lie
 *              inside the buffer.
 * @bos: user pointer to an array of &struct drm_tern_bo_ref, the buffers the job uses.
 * @bo_count: entries in @bos, 0 .. max_submit_bos.
 * @budget: instruction budget (0: the device default); the job ends with
 *          DRM_TERN_JOB_WATCHDOG when it runs out.
 * @seqno: out: the job's sequence number on @queue, for DRM_IOCTL_TERN_WAIT. It is also the
 *         seqno of the job's fence; each file has one fence context per queue.
 * @waits: user pointer to an array of &struct drm_tern_sync the job waits for.
 * @signals: user pointer to an array of &struct drm_tern_sync the job signals.
 * @wait_count: entries in @waits, 0 .. DRM_TERN_MAX_SYNCS.
 * @signal_count: entries in @signals, 0 .. DRM_TERN_MAX_SYNCS.
 * @out_fence_fd: out: with DRM_TERN_SUBMIT_OUT_FENCE_FD, a new close-on-exec sync_file
 *                descriptor of the job's fence; must be zero on input.
 * @pad: must be zero.
 *
 * The job is queued and SUBMIT returns at once. It runs once every fence it waits for (its
 * syncobjs and its buffers' fences) has signalled and there is room on the ring; jobs of one
 * file on one queue run in submission order, and a job that waits holds up only the jobs of
 * its own file and queue. Closing the file cancels its jobs that have not started.
 *
 * The job's fence signals when it finishes, with an error unless it completed:
 * -EFAULT (DRM_TERN_JOB_MMU_FAULT), -EILSEQ (DRM_TERN_JOB_ILLEGAL), -ETIME
 * (DRM_TERN_JOB_WATCHDOG), -ECANCELED (cancelled by closing the file), -ETIMEDOUT (it made no
 * progress for the driver's timeout and was stopped by a queue reset), -EIO (it was running
 * when the firmware crashed; the device was reset), -ENODEV (the device went away). The
 * errno is also DRM_TERN_JOB_ABORTED's info. A job whose dependency signalled with an error
 * does not run: it ends as DRM_TERN_JOB_SKIPPED and its fence carries the dependency's error.
 * Jobs that had not started when their queue or the device was reset run afterwards.
 *
 * A file is banned after 3 of its jobs were stopped for making no progress, or after 64 of
 * its jobs in a row ended with an MMU fault: its SUBMITs then fail with -EIO.
 *
 * Errors: -EINVAL for a bad value, -ENOENT for an unknown buffer or syncobj handle, -EFAULT
 * for an unreadable array, -EBUSY when 1024 jobs of this file already wait to run on @queue,
 * -EMFILE when no descriptor is free for @out_fence_fd, -EINTR/-ERESTARTSYS when a signal
 * interrupts the locking of the buffers, -EIO when the file is banned, -ENODEV when the
 * device is gone or wedged (every ioctl fails so until the driver is rebound). On error nothing is
 * queued, no syncobj changes and no descriptor is created.
 */
struct drm_tern_submit {
	__u32 queue;
	__u32 flags;
	__u32 cmd_handle;
	__u32 cmd_len;
	__u64 cmd_offset;
	__u64 bos;
	__u32 bo_count;
	__u32 budget;
	__u64 seqno;
	__u64 waits;
	__u64 signals;
	__u32 wait_count;
	__u32 signal_count;
	__s32 out_fence_fd;
	__u32 pad;
};

/** DRM_TERN_MAX_BATCH - most jobs in one DRM_IOCTL_TERN_SUBMIT_BATCH. */
#define DRM_TERN_MAX_BATCH 64

/**
 * struct drm_tern_submit_batch - queue several jobs (DRM_IOCTL_TERN_SUBMIT_BATCH).
 * @submits: user pointer to an array of @count &struct drm_tern_submit, each one job as for
 *           DRM_IOCTL_TERN_SUBMIT; the driver writes each entry's @seqno.
 * @count: entries in @submits, 1 .. DRM_TERN_MAX_BATCH.
 * @stride: sizeof(struct drm_tern_submit); other values are refused.
 * @submitted: out: the number of entries queued, from the first; must be zero on input.
 * @flags: must be zero.
 *
 * The jobs are queued in array order, with the same meaning as that many SUBMITs one after
 * another (an entry may wait for a syncobj point an earlier entry signals), but each queue
 * they use gets one doorbell for all of them, and the device raises one interrupt for a run
 * of them that completes together. The entries may not ask for DRM_TERN_SUBMIT_OUT_FENCE_FD
 * (signal a syncobj instead).
 *
 * Errors: before anything is queued every entry's own fields are checked as SUBMIT checks
 * them (-EINVAL; -EFAULT when @submits or an entry's arrays are unreadable; -ENOENT for an
 * unknown buffer or syncobj handle): such an error changes nothing, and @submitted stays 0.
 * An error found while entry i is being queued (as SUBMIT reports it: -EBUSY, -ENOMEM, -EIO,
 * -ENODEV, -EINTR/-ERESTARTSYS, -EINVAL for a wait on a point nothing signals yet) stops the
 * batch there: the ioctl fails with it, entries 0 .. i - 1 are queued (@submitted is i, their
 * @seqno written) and entry i and those after it change nothing. -EFAULT when an entry's
 * @seqno cannot be written back: that entry is queued and counted.
 */
struct drm_tern_submit_batch {
	__u64 submits;
	__u32 count;
	__u32 stride;
	__u32 submitted;
	__u32 flags;
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
/**
 * DRM_TERN_JOB_ABORTED - stopped by a reset or cancelled before it ran (@info is the errno:
 * ETIMEDOUT made no progress, EIO running at a firmware crash, ECANCELED cancelled, ENODEV
 * the device went away); it may be submitted again.
 */
#define DRM_TERN_JOB_ABORTED 5
/** DRM_TERN_JOB_SKIPPED - not run: a dependency failed; @info is its errno (positive). */
#define DRM_TERN_JOB_SKIPPED 6

/**
 * struct drm_tern_wait - wait for a job (DRM_IOCTL_TERN_WAIT).
 * @queue: the queue the job was submitted to.
 * @flags: must be zero.
 * @seqno: the job's sequence number; it must be a job of this file (-EINVAL otherwise). The
 *         driver remembers the results of the last 4096 jobs of a file per queue; older
 *         ones are forgotten (-EINVAL).
 * @deadline_ns: absolute CLOCK_MONOTONIC time until which to wait; a time in the past polls,
 *               negative is -EINVAL. -ETIME when it passes first. A signal interrupts the wait,
 *               which the kernel restarts with the same arguments (or -EINTR).
 * @status: out: DRM_TERN_JOB_*.
 * @info: out: status detail (instruction index for DRM_TERN_JOB_ILLEGAL, errno for
 *        DRM_TERN_JOB_SKIPPED and DRM_TERN_JOB_ABORTED).
 * @fault_va: out: faulting device VA for DRM_TERN_JOB_MMU_FAULT.
 * @duration_ns: out: execution time measured by the device.
 */
struct drm_tern_wait {
	__u32 queue;
	__u32 flags;
	__u64 seqno;
	__s64 deadline_ns;
	__u32 status;
	__u32 info;
	__u64 fault_va;
	__u64 duration_ns;
};

/* Scheduling priorities, for DRM_IOCTL_TERN_SET_PRIORITY. */
#define DRM_TERN_PRIORITY_LOW 0
#define DRM_TERN_PRIORITY_NORMAL 1
#define DRM_TERN_PRIORITY_HIGH 2

/**
 * struct drm_tern_set_priority - set the priority of the file's jobs
 * (DRM_IOCTL_TERN_SET_PRIORITY).
 * @priority: DRM_TERN_PRIORITY_LOW, DRM_TERN_PRIORITY_NORMAL (a new file's) or
 *            DRM_TERN_PRIORITY_HIGH.
 * @pad: must be zero.
 *
 * Jobs the file submits afterwards run at @priority: on each queue the driver moves ready jobs
 * of higher priority onto the ring before those of lower priority, and the device runs the
 * instructions of a queue whose ring holds jobs of higher priority before those of the other
 * queues (docs/hardware.md 5.7; a job waits at its next instruction while one of higher
 * priority runs). Jobs already submitted keep their priority.
 *
 * Errors: -EINVAL for an unknown priority or a non-zero @pad, -EPERM for
 * DRM_TERN_PRIORITY_HIGH without CAP_SYS_NICE, -ENODEV when the device is gone. On error the
 * priority does not change.
 */
struct drm_tern_set_priority {
	__u32 priority;
	__u32 pad;
};

#define DRM_IOCTL_TERN_QUERY DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_QUERY, struct drm_tern_query)
#define DRM_IOCTL_TERN_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_BO_CREATE, struct drm_tern_bo_create)
#define DRM_IOCTL_TERN_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_BO_INFO, struct drm_tern_bo_info)
#define DRM_IOCTL_TERN_SUBMIT DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_SUBMIT, struct drm_tern_submit)
#define DRM_IOCTL_TERN_WAIT DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_WAIT, struct drm_tern_wait)
#define DRM_IOCTL_TERN_SET_PRIORITY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_SET_PRIORITY, struct drm_tern_set_priority)
#define DRM_IOCTL_TERN_SUBMIT_BATCH \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TERN_SUBMIT_BATCH, struct drm_tern_submit_batch)

#if defined(__cplusplus)
}
#endif

#endif /* _TERN_ACCEL_H_ */

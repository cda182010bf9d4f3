; SPDX-License-Identifier: MIT OR Apache-2.0
; sum_f32: dst[0] = src[0] + src[1] + ... + src[n-1], f32, summed strictly left to right.
;
; Argument block: an array of u64 at device VA 0x10000 (docs/hardware.md 12.4).
;   arg0 (+0)   dst VA (one f32)
;   arg1 (+8)   src VA
;   arg2 (+16)  n, in elements, at most 2^26 (more ends the job with ILLEGAL)
; n = 0 stores 0.0.

        li   r15, 0x10000       ; argument block
        ld   r1, r15, 0         ; dst
        ld   r2, r15, 8         ; src
        ld   r3, r15, 16        ; n
        bz   r3, empty
        red.f32.sum r1, r2, r3
        halt
empty:  li   r4, 1
        fill r1, r0, r4         ; one element of 0.0
        halt

; SPDX-License-Identifier: MIT OR Apache-2.0
; copy: copy n bytes from src to dst; the ranges must not overlap.
;
; Argument block: an array of u64 at device VA 0x10000 (docs/hardware.md 12.4).
;   arg0 (+0)   dst VA
;   arg1 (+8)   src VA
;   arg2 (+16)  n, in bytes
; Copies in pieces of 2^26 bytes, so any n works.

        li   r15, 0x10000       ; argument block
        ld   r1, r15, 0         ; dst
        ld   r2, r15, 8         ; src
        ld   r3, r15, 16        ; n
        li   r5, 0x4000000      ; piece: 2^26 bytes
loop:   blt  r3, r5, tail       ; less than a piece left
        copy r1, r2, r5
        add  r1, r1, r5
        add  r2, r2, r5
        sub  r3, r3, r5
        jmp  loop
tail:   copy r1, r2, r3
        halt

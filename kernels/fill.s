; SPDX-License-Identifier: MIT OR Apache-2.0
; fill: dst[i] = value for i < n, 4-byte elements (an f32 or i32 bit pattern).
;
; Argument block: an array of u64 at device VA 0x10000 (docs/hardware.md 12.4).
;   arg0 (+0)   dst VA
;   arg1 (+8)   value, low 32 bits used
;   arg2 (+16)  n, in elements
; Fills in pieces of 2^26 elements, so any n works.

        li   r15, 0x10000       ; argument block
        ld   r1, r15, 0         ; dst
        ld   r2, r15, 8         ; value
        ld   r3, r15, 16        ; n
        li   r5, 0x4000000      ; piece: 2^26 elements
        shl  r6, r5, 2          ; piece in bytes
loop:   blt  r3, r5, tail       ; less than a piece left
        fill r1, r2, r5
        add  r1, r1, r6
        sub  r3, r3, r5
        jmp  loop
tail:   fill r1, r2, r3
        halt

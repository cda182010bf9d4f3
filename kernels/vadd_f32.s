; SPDX-License-Identifier: MIT OR Apache-2.0
; vadd_f32: dst[i] = a[i] + b[i] for i < n, f32 (elementwise).
;
; Argument block: an array of u64 at device VA 0x10000 (docs/hardware.md 12.4).
;   arg0 (+0)   dst VA
;   arg1 (+8)   a VA
;   arg2 (+16)  b VA
;   arg3 (+24)  n, in elements
; Works in pieces of 2^26 elements, so any n works.

        li   r15, 0x10000       ; argument block
        ld   r1, r15, 0         ; dst
        ld   r2, r15, 8         ; a
        ld   r3, r15, 16        ; b
        ld   r4, r15, 24        ; n
        li   r5, 0x4000000      ; piece: 2^26 elements
        shl  r6, r5, 2          ; piece in bytes
loop:   blt  r4, r5, tail       ; less than a piece left
        ew.f32.add r1, r2, r3, r5
        add  r1, r1, r6
        add  r2, r2, r6
        add  r3, r3, r6
        sub  r4, r4, r5
        jmp  loop
tail:   ew.f32.add r1, r2, r3, r4
        halt

; SPDX-License-Identifier: MIT OR Apache-2.0
; gemm_f32: C = A x B, f32, row-major, densely packed; A is MxK, B is KxN, C is MxN.
;
; Argument block: an array of u64 at device VA 0x10000 (docs/hardware.md 12.4).
;   arg0 (+0)   C VA
;   arg1 (+8)   A VA
;   arg2 (+16)  B VA
;   arg3 (+24)  M
;   arg4 (+32)  N
;   arg5 (+40)  K
; M, N, K >= 1 and M*N, M*K, K*N <= 2^24, otherwise the job ends with ILLEGAL (8.4).

        li   r15, 0x10000       ; argument block
        ld   r1, r15, 0         ; C
        ld   r2, r15, 8         ; A
        ld   r3, r15, 16        ; B
        ld   r4, r15, 24        ; M   (gemm reads M, N, K from r4, r5, r6)
        ld   r5, r15, 32        ; N
        ld   r6, r15, 40        ; K
        gemm r1, r2, r3, r4
        halt

//go:build amd64 && !purego && !noasm

#include "textflag.h"

// Written by hand, not by _generate: VCVTNEPS2BF16 (AVX512_BF16) is known
// to neither avo nor Go's assembler, so it is encoded with BYTE.

// The folding constants of a 128-bit lane carried 512 and 256 bits (as
// foldk512 and foldk256 of asm_amd64.s; TestRoundedBF16CVT checks the
// CRC-32s the kernel gives).
DATA cvtk512<>+0(SB)/8, $0x154442bd4
DATA cvtk512<>+8(SB)/8, $0x1c6e41596
GLOBL cvtk512<>(SB), RODATA|NOPTR, $16
DATA cvtk256<>+0(SB)/8, $0xf1da05aa
DATA cvtk256<>+8(SB)/8, $0x15a546366
GLOBL cvtk256<>(SB), RODATA|NOPTR, $16

// func roundedBF16CVTAVX512(master *byte, module *byte, n int, z *[2][64]byte) int
// Requires: AVX512F, AVX512BW, AVX512VL, AVX512DQ, AVX512_BF16, VPCLMULQDQ
//
// Over n elements (a multiple of 16, at least 16): returns the number of
// module values that are not the master value rounded to bfloat16, as
// roundedBF16AVX512 counts them. A vector of 16 bit-for-bit matches with
// VCVTNEPS2BF16's rounding (nearest even) and no denormal master (which
// the instruction flushes to zero) takes the short path: the usual case (a
// NaN master matches the NaN the conversion gives it). Any other vector is
// compared out of line with roundedBF16AVX512's integer rounding, exact
// for every input (±0 matches ∓0, NaN any NaN). It folds the 4n bytes of
// master into z[0] and the 2n of module into the first 32 bytes of z[1]
// for their CRC-32s, as roundedBF16CRCAVX512 does.
TEXT ·roundedBF16CVTAVX512(SB), NOSPLIT, $0-40
	MOVQ master+0(FP), AX
	MOVQ module+8(FP), CX
	MOVQ n+16(FP), DX
	MOVQ z+24(FP), SI
	XORQ BX, BX
	VBROADCASTI32X4 cvtk512<>+0(SB), Z0
	VMOVDQU64       (SI), Z1
	VPXORD          (AX), Z1, Z1
	VBROADCASTI128  cvtk256<>+0(SB), Y2
	VMOVDQU         64(SI), Y3
	VPXOR           (CX), Y3, Y3
	MOVL            $0x00000001, DI
	VPBROADCASTD    DI, Z12
	MOVL            $0x00007fff, DI
	VPBROADCASTD    DI, Z13
	MOVL            $0x00007f80, DI
	VPBROADCASTD    DI, Z15

loop:
	VMOVUPS (AX), Z4
	// VCVTNEPS2BF16 Z4, Y5
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xec
	VPCMPEQW    (CX), Y5, K1
	VFPCLASSPSZ $0x20, Z4, K2 // denormal
	KANDNW      K1, K2, K1
	KORTESTW    K1, K1
	JCC         exact

join:
	ADDQ       $64, AX
	ADDQ       $32, CX
	SUBQ       $16, DX
	JZ         done
	VPCLMULQDQ $0x11, Z0, Z1, Z7
	VPCLMULQDQ $0x00, Z0, Z1, Z1
	VPTERNLOGD $0x96, (AX), Z7, Z1
	VPCLMULQDQ $0x11, Y2, Y3, Y7
	VPCLMULQDQ $0x00, Y2, Y3, Y3
	VPTERNLOGD $0x96, (CX), Y7, Y3
	JMP        loop

done:
	VMOVDQU64 Z1, (SI)
	VMOVDQU   Y3, 64(SI)
	MOVQ      BX, ret+32(FP)
	VZEROUPPER
	RET

	// r = (x + 0x7fff + ((x >> 16) & 1)) >> 16, and
	// match = ((r == g | both ±0) &^ master NaN) | (master NaN & module NaN)
exact:
	VPMOVZXWD   (CX), Z8
	VPSRLD      $0x10, Z4, Z9
	VPANDD      Z12, Z9, Z9
	VPADDD      Z4, Z9, Z9
	VPADDD      Z13, Z9, Z9
	VPSRLD      $0x10, Z9, Z9
	VFPCLASSPSZ $0x81, Z4, K2
	VPCMPEQD    Z9, Z8, K1
	VPORD       Z9, Z8, Z14
	VPTESTNMD   Z13, Z14, K4
	VPANDD      Z13, Z8, Z14
	VPCMPUD     $0x06, Z15, Z14, K3
	KORW        K1, K4, K1
	KANDNW      K1, K2, K1
	KANDW       K2, K3, K3
	KORW        K3, K1, K1
	KMOVW       K1, DI
	NOTL        DI
	ANDL        $0xffff, DI
	POPCNTL     DI, DI
	ADDQ        DI, BX
	JMP         join

//go:build amd64 && !purego && !noasm

#include "textflag.h"

// Folding constants of the reflected CRC-32 (IEEE) polynomial for a
// 128-bit lane moved D bits forward: the low quadword multiplies the
// lane's low half, rev32(x^(D+32) mod P) << 1; the high one its high
// half, rev32(x^(D-32) mod P) << 1 (the layout of hash/crc32's r2r1,
// which is D = 512). TestConstants recomputes them.
DATA k2048<>+0(SB)/8, $0x11542778a
DATA k2048<>+8(SB)/8, $0x1322d1430
GLOBL k2048<>(SB), RODATA, $16
DATA k1536<>+0(SB)/8, $0x1821d8bc0
DATA k1536<>+8(SB)/8, $0x12e958ac4
GLOBL k1536<>(SB), RODATA, $16
DATA k1024<>+0(SB)/8, $0x1e88ef372
DATA k1024<>+8(SB)/8, $0x14a7fe880
GLOBL k1024<>(SB), RODATA, $16
DATA k512<>+0(SB)/8, $0x154442bd4
DATA k512<>+8(SB)/8, $0x1c6e41596
GLOBL k512<>(SB), RODATA, $16

// func foldAVX512(init uint32, p *byte, n int, z *[64]byte)
// n is a positive multiple of 256. Four accumulators of four lanes each
// fold 256 bytes per step, so that the multiplications of one step do
// not wait on each other.
TEXT ·foldAVX512(SB), NOSPLIT, $0-32
	MOVL init+0(FP), AX
	MOVQ p+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ z+24(FP), DI

	VMOVDQU64 (SI), Z1
	VMOVDQU64 64(SI), Z2
	VMOVDQU64 128(SI), Z3
	VMOVDQU64 192(SI), Z4
	VPXORQ    Z10, Z10, Z10
	VMOVD     AX, X10
	VPXORQ    Z10, Z1, Z1
	ADDQ      $256, SI
	SUBQ      $256, CX

	VBROADCASTI32X4 k2048<>+0(SB), Z0

loop:
	CMPQ CX, $256
	JLT  combine
	VPCLMULQDQ $0x11, Z0, Z1, Z5
	VPCLMULQDQ $0x00, Z0, Z1, Z1
	VPCLMULQDQ $0x11, Z0, Z2, Z6
	VPCLMULQDQ $0x00, Z0, Z2, Z2
	VPCLMULQDQ $0x11, Z0, Z3, Z7
	VPCLMULQDQ $0x00, Z0, Z3, Z3
	VPCLMULQDQ $0x11, Z0, Z4, Z8
	VPCLMULQDQ $0x00, Z0, Z4, Z4
	VMOVDQU64  (SI), Z11
	VMOVDQU64  64(SI), Z12
	VMOVDQU64  128(SI), Z13
	VMOVDQU64  192(SI), Z14
	VPTERNLOGD $0x96, Z11, Z5, Z1
	VPTERNLOGD $0x96, Z12, Z6, Z2
	VPTERNLOGD $0x96, Z13, Z7, Z3
	VPTERNLOGD $0x96, Z14, Z8, Z4
	ADDQ       $256, SI
	SUBQ       $256, CX
	JMP        loop

combine:
	// Move the first three accumulators onto the fourth's place.
	VBROADCASTI32X4 k1536<>+0(SB), Z0
	VPCLMULQDQ      $0x11, Z0, Z1, Z5
	VPCLMULQDQ      $0x00, Z0, Z1, Z1
	VPTERNLOGD      $0x96, Z5, Z1, Z4
	VBROADCASTI32X4 k1024<>+0(SB), Z0
	VPCLMULQDQ      $0x11, Z0, Z2, Z6
	VPCLMULQDQ      $0x00, Z0, Z2, Z2
	VPTERNLOGD      $0x96, Z6, Z2, Z4
	VBROADCASTI32X4 k512<>+0(SB), Z0
	VPCLMULQDQ      $0x11, Z0, Z3, Z7
	VPCLMULQDQ      $0x00, Z0, Z3, Z3
	VPTERNLOGD      $0x96, Z7, Z3, Z4
	VMOVDQU64       Z4, (DI)
	VZEROUPPER
	RET

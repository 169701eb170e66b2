// Vector kernels of dnas/nn on 8 float32 lanes (AVX2 + FMA): the SiLU
// forward of silu.go, the exponentials of the attention softmax and the
// GroupNorm loops. Go wrappers with the tails and the portable fallbacks are
// in vector.go; every kernel handles n a multiple of 8 (n = 0 allowed). The constants below are 8 copies of one float32 each, written
// as bit patterns: see fastexp.go for what they are (signbit flips x to -x,
// clamplo/clamphi bound the exponent's argument, log2e and magic round
// x*log2(e) to an integer k, ln2hi+ln2lo is ln 2 in two parts, c6..c2 and one
// are the Taylor coefficients 1/720 .. 1/2, 1, and expbias = bits(magic) - 127
// turns the bits of k+magic into the exponent field of 2^k).

#include "textflag.h"

DATA signbit<>+0(SB)/4, $0x80000000
DATA signbit<>+4(SB)/4, $0x80000000
DATA signbit<>+8(SB)/4, $0x80000000
DATA signbit<>+12(SB)/4, $0x80000000
DATA signbit<>+16(SB)/4, $0x80000000
DATA signbit<>+20(SB)/4, $0x80000000
DATA signbit<>+24(SB)/4, $0x80000000
DATA signbit<>+28(SB)/4, $0x80000000
GLOBL signbit<>(SB), RODATA|NOPTR, $32

DATA clamplo<>+0(SB)/4, $0xc2ae0000
DATA clamplo<>+4(SB)/4, $0xc2ae0000
DATA clamplo<>+8(SB)/4, $0xc2ae0000
DATA clamplo<>+12(SB)/4, $0xc2ae0000
DATA clamplo<>+16(SB)/4, $0xc2ae0000
DATA clamplo<>+20(SB)/4, $0xc2ae0000
DATA clamplo<>+24(SB)/4, $0xc2ae0000
DATA clamplo<>+28(SB)/4, $0xc2ae0000
GLOBL clamplo<>(SB), RODATA|NOPTR, $32

DATA clamphi<>+0(SB)/4, $0x42b00000
DATA clamphi<>+4(SB)/4, $0x42b00000
DATA clamphi<>+8(SB)/4, $0x42b00000
DATA clamphi<>+12(SB)/4, $0x42b00000
DATA clamphi<>+16(SB)/4, $0x42b00000
DATA clamphi<>+20(SB)/4, $0x42b00000
DATA clamphi<>+24(SB)/4, $0x42b00000
DATA clamphi<>+28(SB)/4, $0x42b00000
GLOBL clamphi<>(SB), RODATA|NOPTR, $32

DATA log2e<>+0(SB)/4, $0x3fb8aa3b
DATA log2e<>+4(SB)/4, $0x3fb8aa3b
DATA log2e<>+8(SB)/4, $0x3fb8aa3b
DATA log2e<>+12(SB)/4, $0x3fb8aa3b
DATA log2e<>+16(SB)/4, $0x3fb8aa3b
DATA log2e<>+20(SB)/4, $0x3fb8aa3b
DATA log2e<>+24(SB)/4, $0x3fb8aa3b
DATA log2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e<>(SB), RODATA|NOPTR, $32

DATA magic<>+0(SB)/4, $0x4b400000
DATA magic<>+4(SB)/4, $0x4b400000
DATA magic<>+8(SB)/4, $0x4b400000
DATA magic<>+12(SB)/4, $0x4b400000
DATA magic<>+16(SB)/4, $0x4b400000
DATA magic<>+20(SB)/4, $0x4b400000
DATA magic<>+24(SB)/4, $0x4b400000
DATA magic<>+28(SB)/4, $0x4b400000
GLOBL magic<>(SB), RODATA|NOPTR, $32

DATA ln2hi<>+0(SB)/4, $0x3f317200
DATA ln2hi<>+4(SB)/4, $0x3f317200
DATA ln2hi<>+8(SB)/4, $0x3f317200
DATA ln2hi<>+12(SB)/4, $0x3f317200
DATA ln2hi<>+16(SB)/4, $0x3f317200
DATA ln2hi<>+20(SB)/4, $0x3f317200
DATA ln2hi<>+24(SB)/4, $0x3f317200
DATA ln2hi<>+28(SB)/4, $0x3f317200
GLOBL ln2hi<>(SB), RODATA|NOPTR, $32

DATA ln2lo<>+0(SB)/4, $0x35bfbe8e
DATA ln2lo<>+4(SB)/4, $0x35bfbe8e
DATA ln2lo<>+8(SB)/4, $0x35bfbe8e
DATA ln2lo<>+12(SB)/4, $0x35bfbe8e
DATA ln2lo<>+16(SB)/4, $0x35bfbe8e
DATA ln2lo<>+20(SB)/4, $0x35bfbe8e
DATA ln2lo<>+24(SB)/4, $0x35bfbe8e
DATA ln2lo<>+28(SB)/4, $0x35bfbe8e
GLOBL ln2lo<>(SB), RODATA|NOPTR, $32

DATA c6<>+0(SB)/4, $0x3ab60b61
DATA c6<>+4(SB)/4, $0x3ab60b61
DATA c6<>+8(SB)/4, $0x3ab60b61
DATA c6<>+12(SB)/4, $0x3ab60b61
DATA c6<>+16(SB)/4, $0x3ab60b61
DATA c6<>+20(SB)/4, $0x3ab60b61
DATA c6<>+24(SB)/4, $0x3ab60b61
DATA c6<>+28(SB)/4, $0x3ab60b61
GLOBL c6<>(SB), RODATA|NOPTR, $32

DATA c5<>+0(SB)/4, $0x3c088889
DATA c5<>+4(SB)/4, $0x3c088889
DATA c5<>+8(SB)/4, $0x3c088889
DATA c5<>+12(SB)/4, $0x3c088889
DATA c5<>+16(SB)/4, $0x3c088889
DATA c5<>+20(SB)/4, $0x3c088889
DATA c5<>+24(SB)/4, $0x3c088889
DATA c5<>+28(SB)/4, $0x3c088889
GLOBL c5<>(SB), RODATA|NOPTR, $32

DATA c4<>+0(SB)/4, $0x3d2aaaab
DATA c4<>+4(SB)/4, $0x3d2aaaab
DATA c4<>+8(SB)/4, $0x3d2aaaab
DATA c4<>+12(SB)/4, $0x3d2aaaab
DATA c4<>+16(SB)/4, $0x3d2aaaab
DATA c4<>+20(SB)/4, $0x3d2aaaab
DATA c4<>+24(SB)/4, $0x3d2aaaab
DATA c4<>+28(SB)/4, $0x3d2aaaab
GLOBL c4<>(SB), RODATA|NOPTR, $32

DATA c3<>+0(SB)/4, $0x3e2aaaab
DATA c3<>+4(SB)/4, $0x3e2aaaab
DATA c3<>+8(SB)/4, $0x3e2aaaab
DATA c3<>+12(SB)/4, $0x3e2aaaab
DATA c3<>+16(SB)/4, $0x3e2aaaab
DATA c3<>+20(SB)/4, $0x3e2aaaab
DATA c3<>+24(SB)/4, $0x3e2aaaab
DATA c3<>+28(SB)/4, $0x3e2aaaab
GLOBL c3<>(SB), RODATA|NOPTR, $32

DATA c2<>+0(SB)/4, $0x3f000000
DATA c2<>+4(SB)/4, $0x3f000000
DATA c2<>+8(SB)/4, $0x3f000000
DATA c2<>+12(SB)/4, $0x3f000000
DATA c2<>+16(SB)/4, $0x3f000000
DATA c2<>+20(SB)/4, $0x3f000000
DATA c2<>+24(SB)/4, $0x3f000000
DATA c2<>+28(SB)/4, $0x3f000000
GLOBL c2<>(SB), RODATA|NOPTR, $32

DATA one<>+0(SB)/4, $0x3f800000
DATA one<>+4(SB)/4, $0x3f800000
DATA one<>+8(SB)/4, $0x3f800000
DATA one<>+12(SB)/4, $0x3f800000
DATA one<>+16(SB)/4, $0x3f800000
DATA one<>+20(SB)/4, $0x3f800000
DATA one<>+24(SB)/4, $0x3f800000
DATA one<>+28(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $32

DATA expbias<>+0(SB)/4, $0x4b3fff81
DATA expbias<>+4(SB)/4, $0x4b3fff81
DATA expbias<>+8(SB)/4, $0x4b3fff81
DATA expbias<>+12(SB)/4, $0x4b3fff81
DATA expbias<>+16(SB)/4, $0x4b3fff81
DATA expbias<>+20(SB)/4, $0x4b3fff81
DATA expbias<>+24(SB)/4, $0x4b3fff81
DATA expbias<>+28(SB)/4, $0x4b3fff81
GLOBL expbias<>(SB), RODATA|NOPTR, $32

// SIGMOID sets Y5 = σ(Y0) = 1/(1+e^-Y0), lane by lane, using Y1-Y4. It
// expects Y8 = signbit, Y9 = clamplo, Y10 = clamphi, Y11 = magic, Y12 = one.
#define SIGMOID \
	VXORPS  Y8, Y0, Y1; \
	VMAXPS  Y1, Y9, Y1; \
	VMINPS  Y1, Y10, Y1; \
	VMOVAPS Y11, Y2; \
	VFMADD231PS log2e<>(SB), Y1, Y2; \
	VSUBPS  Y11, Y2, Y3; \
	VFNMADD231PS ln2hi<>(SB), Y3, Y1; \
	VFNMADD231PS ln2lo<>(SB), Y3, Y1; \
	VMOVUPS c6<>(SB), Y4; \
	VFMADD213PS c5<>(SB), Y1, Y4; \
	VFMADD213PS c4<>(SB), Y1, Y4; \
	VFMADD213PS c3<>(SB), Y1, Y4; \
	VFMADD213PS c2<>(SB), Y1, Y4; \
	VFMADD213PS Y12, Y1, Y4; \
	VFMADD213PS Y12, Y1, Y4; \
	VPSUBD  expbias<>(SB), Y2, Y2; \
	VPSLLD  $23, Y2, Y2; \
	VMULPS  Y2, Y4, Y4; \
	VADDPS  Y12, Y4, Y4; \
	VDIVPS  Y4, Y12, Y5

// Steps of SIGMOID: z = -x (signbit flip), clamp z to [-87, 88],
// t = z*log2e + magic (k + magic, rounded once), k = t - magic,
// r = z - k*ln2hi - k*ln2lo, p = e^r by Horner (c6 .. c2, 1, 1),
// 2^k from the bits of t (minus expbias, shifted into the exponent field),
// e^z = p*2^k, σ = 1/(1 + e^z).

#define SIGMOID_CONSTANTS \
	VMOVUPS signbit<>(SB), Y8; \
	VMOVUPS clamplo<>(SB), Y9; \
	VMOVUPS clamphi<>(SB), Y10; \
	VMOVUPS magic<>(SB), Y11; \
	VMOVUPS one<>(SB), Y12

// func siluAVX2(x, y *float32, n int)
// y[i] = x[i]*σ(x[i]) for i < n (n a multiple of 8).
TEXT ·siluAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DX
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   done
	SIGMOID_CONSTANTS

loop:
	VMOVUPS (SI), Y0
	SIGMOID
	VMULPS  Y5, Y0, Y6
	VMOVUPS Y6, (DX)
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func siluBackAVX2(x, dy, dx *float32, n int)
// dx[i] = dy[i]*s*(1 + x[i]*(1-s)), s = σ(x[i]), for i < n (n a multiple of 8).
TEXT ·siluBackAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ dy+8(FP), DI
	MOVQ dx+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   bdone
	SIGMOID_CONSTANTS

bloop:
	VMOVUPS (SI), Y0
	SIGMOID
	VSUBPS  Y5, Y12, Y6        // 1 - s
	VMULPS  Y6, Y0, Y6         // x*(1-s)
	VADDPS  Y12, Y6, Y6        // 1 + x*(1-s)
	VMULPS  Y5, Y6, Y6         // s*(1 + x*(1-s))
	VMULPS  (DI), Y6, Y6       // * dy
	VMOVUPS Y6, (DX)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  bloop

bdone:
	VZEROUPPER
	RET

// func expShiftAVX2(x *float32, n int, m float32) float32
// For i < n (n a multiple of 8): x[i] = e^(x[i]-m); returns the sum of the new x[i].
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y13
	VXORPS Y7, Y7, Y7          // running sum
	SHRQ $3, CX
	JZ   expdone
	VMOVUPS clamplo<>(SB), Y9
	VMOVUPS clamphi<>(SB), Y10
	VMOVUPS magic<>(SB), Y11
	VMOVUPS one<>(SB), Y12

exploop:
	VMOVUPS (SI), Y1
	VSUBPS  Y13, Y1, Y1        // z = x - m
	VMAXPS  Y1, Y9, Y1
	VMINPS  Y1, Y10, Y1
	VMOVAPS Y11, Y2
	VFMADD231PS log2e<>(SB), Y1, Y2
	VSUBPS  Y11, Y2, Y3
	VFNMADD231PS ln2hi<>(SB), Y3, Y1
	VFNMADD231PS ln2lo<>(SB), Y3, Y1
	VMOVUPS c6<>(SB), Y4
	VFMADD213PS c5<>(SB), Y1, Y4
	VFMADD213PS c4<>(SB), Y1, Y4
	VFMADD213PS c3<>(SB), Y1, Y4
	VFMADD213PS c2<>(SB), Y1, Y4
	VFMADD213PS Y12, Y1, Y4
	VFMADD213PS Y12, Y1, Y4
	VPSUBD  expbias<>(SB), Y2, Y2
	VPSLLD  $23, Y2, Y2
	VMULPS  Y2, Y4, Y4         // e^z
	VMOVUPS Y4, (SI)
	VADDPS  Y4, Y7, Y7
	ADDQ $32, SI
	DECQ CX
	JNZ  exploop

expdone:
	VEXTRACTF128 $1, Y7, X1
	VADDPS  X1, X7, X7
	VHADDPS X7, X7, X7
	VHADDPS X7, X7, X7
	MOVSS   X7, ret+24(FP)
	VZEROUPPER
	RET

// func sumAVX2(x *float32, n int) float32
// Returns Σ x[i] over i < n.
TEXT ·sumAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ $3, CX
	JZ   sumdone
	TESTQ $1, CX
	JZ   sumpairs
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JZ   sumdone

sumpairs:
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	ADDQ $64, SI
	SUBQ $2, CX
	JNZ  sumpairs

sumdone:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS  X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS   X0, ret+16(FP)
	VZEROUPPER
	RET

// func sqDevSumAVX2(x *float32, n int, m float32) float32
// Returns Σ (x[i]-m)² over i < n.
TEXT ·sqDevSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ $3, CX
	JZ   sqdone
	TESTQ $1, CX
	JZ   sqpairs
	VMOVUPS (SI), Y2
	VSUBPS  Y13, Y2, Y2
	VFMADD231PS Y2, Y2, Y0
	ADDQ $32, SI
	DECQ CX
	JZ   sqdone

sqpairs:
	VMOVUPS (SI), Y2
	VMOVUPS 32(SI), Y3
	VSUBPS  Y13, Y2, Y2
	VSUBPS  Y13, Y3, Y3
	VFMADD231PS Y2, Y2, Y0
	VFMADD231PS Y3, Y3, Y1
	ADDQ $64, SI
	SUBQ $2, CX
	JNZ  sqpairs

sqdone:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS  X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS   X0, ret+24(FP)
	VZEROUPPER
	RET

// func affineAVX2(x, y *float32, n int, a, b float32)
// y[i] = x[i]*a + b for i < n.
TEXT ·affineAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y13
	VBROADCASTSS b+28(FP), Y14
	SHRQ $3, CX
	JZ   affdone

affloop:
	VMOVUPS (SI), Y0
	VFMADD213PS Y14, Y13, Y0   // x*a + b
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  affloop

affdone:
	VZEROUPPER
	RET

// func sumDotDevAVX2(d, x *float32, n int, m float32) (sd, sdx float32)
// Returns Σ d[i] and Σ d[i]*(x[i]-m) over i < n.
TEXT ·sumDotDevAVX2(SB), NOSPLIT, $0-40
	MOVQ d+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS m+24(FP), Y13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ $3, CX
	JZ   sddone

sdloop:
	VMOVUPS (SI), Y2
	VMOVUPS (DI), Y3
	VADDPS  Y2, Y0, Y0
	VSUBPS  Y13, Y3, Y3
	VFMADD231PS Y2, Y3, Y1
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  sdloop

sddone:
	VEXTRACTF128 $1, Y0, X2
	VADDPS  X2, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS   X0, sd+32(FP)
	VEXTRACTF128 $1, Y1, X2
	VADDPS  X2, X1, X1
	VHADDPS X1, X1, X1
	VHADDPS X1, X1, X1
	MOVSS   X1, sdx+36(FP)
	VZEROUPPER
	RET

// func normBackAVX2(d, x, dx *float32, n int, a, b, c, m float32)
// dx[i] = a*d[i] + b*(x[i]-m) + c for i < n.
TEXT ·normBackAVX2(SB), NOSPLIT, $0-48
	MOVQ d+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ dx+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS a+32(FP), Y12
	VBROADCASTSS b+36(FP), Y13
	VBROADCASTSS c+40(FP), Y14
	VBROADCASTSS m+44(FP), Y15
	SHRQ $3, CX
	JZ   nbdone

nbloop:
	VMOVUPS (DI), Y1
	VSUBPS  Y15, Y1, Y1        // x - m
	VMOVAPS Y14, Y2
	VFMADD231PS Y1, Y13, Y2    // b*(x-m) + c
	VFMADD231PS (SI), Y12, Y2  // + a*d
	VMOVUPS Y2, (DX)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  nbloop

nbdone:
	VZEROUPPER
	RET

// func affineSiluAVX2(x, y *float32, n int, a, b float32)
// z = x[i]*a + b; y[i] = z*σ(z) for i < n (GroupNorm's affine step fused with SiLU).
TEXT ·affineSiluAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DX
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y13
	VBROADCASTSS b+28(FP), Y14
	SHRQ $3, CX
	JZ   asdone
	SIGMOID_CONSTANTS

asloop:
	VMOVUPS (SI), Y0
	VFMADD213PS Y14, Y13, Y0   // z = x*a + b
	SIGMOID
	VMULPS  Y5, Y0, Y6
	VMOVUPS Y6, (DX)
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ  asloop

asdone:
	VZEROUPPER
	RET

// func affineSiluBackAVX2(x, dy, dz *float32, n int, a, b, m float32) (sdz, sdzx float32)
// z = x[i]*a + b, s = σ(z), dz[i] = dy[i]*s*(1 + z*(1-s)) for i < n;
// returns Σ dz[i] and Σ dz[i]*(x[i]-m).
TEXT ·affineSiluBackAVX2(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ dy+8(FP), DI
	MOVQ dz+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS a+32(FP), Y13
	VBROADCASTSS b+36(FP), Y14
	VBROADCASTSS m+40(FP), Y15
	VXORPS Y6, Y6, Y6          // Σ dz
	VXORPS Y7, Y7, Y7          // Σ dz*(x-m)
	SHRQ $3, CX
	JZ   absdone
	SIGMOID_CONSTANTS

absloop:
	VMOVUPS (SI), Y0
	VFMADD213PS Y14, Y13, Y0   // z
	SIGMOID
	VSUBPS  Y5, Y12, Y1        // 1 - s
	VMULPS  Y1, Y0, Y1         // z*(1-s)
	VADDPS  Y12, Y1, Y1        // 1 + z*(1-s)
	VMULPS  Y5, Y1, Y1         // s*(1 + z*(1-s))
	VMULPS  (DI), Y1, Y1       // dz
	VMOVUPS Y1, (DX)
	VADDPS  Y1, Y6, Y6
	VMOVUPS (SI), Y2
	VSUBPS  Y15, Y2, Y2        // x - m
	VFMADD231PS Y1, Y2, Y7
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  absloop

absdone:
	VEXTRACTF128 $1, Y6, X2
	VADDPS  X2, X6, X6
	VHADDPS X6, X6, X6
	VHADDPS X6, X6, X6
	MOVSS   X6, sdz+48(FP)
	VEXTRACTF128 $1, Y7, X2
	VADDPS  X2, X7, X7
	VHADDPS X7, X7, X7
	VHADDPS X7, X7, X7
	MOVSS   X7, sdzx+52(FP)
	VZEROUPPER
	RET

// func adamAVX2(param, grad, mom, vel *float32, n int, b1, c1, b2, c2, wd, step, ibc2, eps float32)
// One Adam step on i < n (n a multiple of 8), with c1 = 1-b1, c2 = 1-b2,
// ibc2 = 1/sqrt(1-b2^t):
//   gi = g + wd*p; m = b1*m + c1*gi; v = b2*v + c2*gi²; p -= step*m/(sqrt(v)*ibc2 + eps)
TEXT ·adamAVX2(SB), NOSPLIT, $0-72
	MOVQ param+0(FP), SI
	MOVQ grad+8(FP), DI
	MOVQ mom+16(FP), DX
	MOVQ vel+24(FP), BX
	MOVQ n+32(FP), CX
	VBROADCASTSS b1+40(FP), Y8
	VBROADCASTSS c1+44(FP), Y9
	VBROADCASTSS b2+48(FP), Y10
	VBROADCASTSS c2+52(FP), Y11
	VBROADCASTSS wd+56(FP), Y12
	VBROADCASTSS step+60(FP), Y13
	VBROADCASTSS ibc2+64(FP), Y14
	VBROADCASTSS eps+68(FP), Y15
	SHRQ $3, CX
	JZ   adone

aloop:
	VMOVUPS (SI), Y1           // p
	VMOVUPS (DI), Y0           // g
	VFMADD231PS Y1, Y12, Y0    // gi = g + wd*p
	VMULPS  (DX), Y8, Y2       // b1*m
	VFMADD231PS Y0, Y9, Y2     // m = b1*m + c1*gi
	VMOVUPS Y2, (DX)
	VMULPS  Y0, Y0, Y4         // gi²
	VMULPS  (BX), Y10, Y3      // b2*v
	VFMADD231PS Y4, Y11, Y3    // v = b2*v + c2*gi²
	VMOVUPS Y3, (BX)
	VSQRTPS Y3, Y4
	VFMADD213PS Y15, Y14, Y4   // sqrt(v)*ibc2 + eps
	VDIVPS  Y4, Y2, Y5         // m / denom
	VFNMADD231PS Y5, Y13, Y1   // p -= step * m/denom
	VMOVUPS Y1, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  aloop

adone:
	VZEROUPPER
	RET

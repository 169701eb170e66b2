//go:build !amd64

package nn

// useAVX512 is false off amd64: the direct convolution's micro-kernels are
// written in amd64 assembly only (AVX-512 and AVX2), and convolutions take
// their BLAS paths.
var useAVX512 = false

func directConv8x48(x *float32, offs *int64, w *float32, n int, bias *float32, y *float32, ldy int) {
	panic("nn: directConv8x48 has no implementation on this architecture")
}

func directConv4x24(x *float32, offs *int64, w *float32, n int, bias *float32, y *float32, ldy int) {
	panic("nn: directConv4x24 has no implementation on this architecture")
}

func dwGrad4x3(dy *float32, x *float32, offs *int64, ldo, n, ns, sdy, sx int, dw *float32, ldw int) {
	panic("nn: dwGrad4x3 has no implementation on this architecture")
}

func dwGrad4x1(dy *float32, x *float32, offs *int64, ldo, n, ns, sdy, sx int, dw *float32, ldw int) {
	panic("nn: dwGrad4x1 has no implementation on this architecture")
}

func winoInput24(x *float32, plane, ws int, v *float32, ldv int) {
	panic("nn: winoInput24 has no implementation on this architecture")
}

func winoDeint(even, odd, src *float32, n int) {
	panic("nn: winoDeint has no implementation on this architecture")
}

func winoInt(dst, a, b *float32, n int) {
	panic("nn: winoInt has no implementation on this architecture")
}

func winoOutput24(m *float32, lde int, y *float32, ldy int, bias *float32) {
	panic("nn: winoOutput24 has no implementation on this architecture")
}

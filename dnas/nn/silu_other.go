//go:build !amd64

package nn

// siluVector is false: only amd64 has a vector SiLU kernel.
var siluVector = false

func siluAVX2(x, sig, y *float32, n int) { panic("nn: siluAVX2 on a CPU without it") }

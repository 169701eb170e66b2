//go:build !amd64

package nn

// useAVX2 is false: the vector kernels exist for amd64 only, and these
// stand-ins are never called.
var useAVX2 = false

func siluAVX2(x, y *float32, n int)                                   { panic(noVector) }
func siluBackAVX2(x, dy, dx *float32, n int)                          { panic(noVector) }
func expShiftAVX2(x *float32, n int, m float32) float32               { panic(noVector) }
func sumAVX2(x *float32, n int) float32                               { panic(noVector) }
func sqDevSumAVX2(x *float32, n int, m float32) float32               { panic(noVector) }
func affineAVX2(x, y *float32, n int, a, b float32)                   { panic(noVector) }
func sumDotDevAVX2(d, x *float32, n int, m float32) (sd, sdx float32) { panic(noVector) }
func normBackAVX2(d, x, dx *float32, n int, a, b, c, m float32)       { panic(noVector) }

const noVector = "nn: vector kernel called on a CPU without it"

func affineSiluAVX2(x, y *float32, n int, a, b float32) { panic(noVector) }
func affineSiluBackAVX2(x, dy, dz *float32, n int, a, b, m float32) (sdz, sdzx float32) {
	panic(noVector)
}

func adamAVX2(param, grad, mom, vel *float32, n int, b1, c1, b2, c2, wd, step, ibc2, eps float32) {
	panic(noVector)
}

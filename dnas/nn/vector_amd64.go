package nn

import "golang.org/x/sys/cpu"

// useAVX2 says whether the AVX2+FMA kernels of vector_amd64.s may run (every
// x86-64 CPU since 2013-2015). Tests switch it off to compare them with the
// Go loops of vector.go.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The kernels below take n a multiple of 8; the wrappers of vector.go pass
// the rest of a slice to Go loops. They are implemented in vector_amd64.s.

// siluAVX2: y[i] = x[i]·σ(x[i]), with fastExp's exponential.
//
//go:noescape
func siluAVX2(x, y *float32, n int)

// siluBackAVX2: dx[i] = dy[i]·σ(x[i])·(1 + x[i]·(1-σ(x[i]))).
//
//go:noescape
func siluBackAVX2(x, dy, dx *float32, n int)

// expShiftAVX2: x[i] = e^(x[i]-m); returns Σ of the results.
//
//go:noescape
func expShiftAVX2(x *float32, n int, m float32) float32

// sumAVX2 returns Σ x[i].
//
//go:noescape
func sumAVX2(x *float32, n int) float32

// sqDevSumAVX2 returns Σ (x[i]-m)².
//
//go:noescape
func sqDevSumAVX2(x *float32, n int, m float32) float32

// affineAVX2: y[i] = x[i]·a + b.
//
//go:noescape
func affineAVX2(x, y *float32, n int, a, b float32)

// sumDotDevAVX2 returns Σ d[i] and Σ d[i]·(x[i]-m).
//
//go:noescape
func sumDotDevAVX2(d, x *float32, n int, m float32) (sd, sdx float32)

// normBackAVX2: dx[i] = a·d[i] + b·(x[i]-m) + c.
//
//go:noescape
func normBackAVX2(d, x, dx *float32, n int, a, b, c, m float32)

// affineSiluAVX2: z = x[i]·a + b, y[i] = z·σ(z).
//
//go:noescape
func affineSiluAVX2(x, y *float32, n int, a, b float32)

// affineSiluBackAVX2: z = x[i]·a + b, s = σ(z), dz[i] = dy[i]·s·(1 + z·(1-s));
// returns Σ dz and Σ dz·(x-m).
//
//go:noescape
func affineSiluBackAVX2(x, dy, dz *float32, n int, a, b, m float32) (sdz, sdzx float32)

// adamAVX2 is Adam.Update's loop over a parameter p, its gradient g and
// moments m (mom), v (vel): with c1 = 1-b1, c2 = 1-b2 and ibc2 = 1/sqrt(1-b2^t),
// gi = g + wd·p, m = b1·m + c1·gi, v = b2·v + c2·gi², p -= step·m/(sqrt(v)·ibc2 + eps).
// (The pointer arguments are not named p, g: g is a register in Go assembly.)
//
//go:noescape
func adamAVX2(param, grad, mom, vel *float32, n int, b1, c1, b2, c2, wd, step, ibc2, eps float32)

package nn

import "golang.org/x/sys/cpu"

// siluVector says whether siluAVX2 may run: it needs AVX2 and FMA (every
// x86-64 CPU since 2013-2015). Tests switch it off to compare with the Go loop.
var siluVector = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// siluAVX2 computes, for i < n (a multiple of 8), sig[i] = σ(x[i]) and
// y[i] = x[i]·sig[i], with the same exponential as fastExp, 8 lanes at a time.
// Implemented in silu_amd64.s.
//
//go:noescape
func siluAVX2(x, sig, y *float32, n int)

package nn

// Benchmarks of the normalisation, activation and attention layers at the
// shapes of the default MNIST teacher (batch 64): 32 channels at 28x28 and
// 64 channels at 7x7 (where attention runs), plus 14x14 attention of the tiny
// preset. Each iteration is one Forward and one Backward.
//
//	go test ./dnas/nn -run '^$' -bench . -benchtime 20x

import (
	"fmt"
	"testing"

	"dnas/dnas/tensor"
)

var benchShapes = [][4]int{{64, 32, 28, 28}, {64, 64, 14, 14}, {64, 64, 7, 7}}

func BenchmarkGroupNorm(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("%dx%dx%dx%d", s[0], s[1], s[2], s[3]), func(b *testing.B) {
			rng := testRNG()
			g, _ := NewGroupNorm("gn", 8, s[1])
			x, dy := randTensor(rng, s[:]...), randTensor(rng, s[:]...)
			g.Forward(x)
			g.Backward(dy)
			b.ReportAllocs()
			b.SetBytes(int64(4 * len(x.Data)))
			b.ResetTimer()
			for range b.N {
				g.Forward(x)
				g.Backward(dy)
			}
		})
	}
}

// BenchmarkGroupNormSiLU compares GroupNorm then SiLU as two layers with the
// fused layer (GroupNorm.SiLU).
func BenchmarkGroupNormSiLU(b *testing.B) {
	s := benchShapes[0]
	for _, fused := range []bool{false, true} {
		b.Run(fmt.Sprintf("fused=%v", fused), func(b *testing.B) {
			rng := testRNG()
			g, _ := NewGroupNorm("gn", 8, s[1])
			g.SiLU = fused
			act := &SiLU{}
			x, dy := randTensor(rng, s[:]...), randTensor(rng, s[:]...)
			step := func() {
				if fused {
					g.Forward(x)
					g.Backward(dy)
					return
				}
				act.Forward(g.Forward(x))
				g.Backward(act.Backward(dy))
			}
			step()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				step()
			}
		})
	}
}

func BenchmarkSiLU(b *testing.B) {
	for _, s := range benchShapes[:1] {
		b.Run(fmt.Sprintf("%dx%dx%dx%d", s[0], s[1], s[2], s[3]), func(b *testing.B) {
			rng := testRNG()
			a := &SiLU{}
			x, dy := randTensor(rng, s[:]...), randTensor(rng, s[:]...)
			a.Forward(x)
			a.Backward(dy)
			b.ReportAllocs()
			b.SetBytes(int64(4 * len(x.Data)))
			b.ResetTimer()
			for range b.N {
				a.Forward(x)
				a.Backward(dy)
			}
		})
	}
}

func BenchmarkAttention(b *testing.B) {
	for _, s := range [][4]int{{64, 64, 7, 7}, {64, 32, 14, 14}} {
		b.Run(fmt.Sprintf("%dx%dx%dx%d", s[0], s[1], s[2], s[3]), func(b *testing.B) {
			rng := testRNG()
			a, _ := NewAttention("attn", s[1], rng)
			x, dy := randTensor(rng, s[:]...), randTensor(rng, s[:]...)
			a.Forward(x)
			a.Backward(dy)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				a.Forward(x)
				a.Backward(dy)
			}
			b.ReportMetric(float64(3*a.MACs(s[:])*int64(s[0]))/1e9/(b.Elapsed().Seconds()/float64(b.N)), "GMAC/s")
		})
	}
}

// Keep the compiler honest about the tensor import in every build.
var _ = tensor.New

// BenchmarkAdam updates 1.6M parameters (the default teacher's size) in 40
// tensors.
func BenchmarkAdam(b *testing.B) {
	var ps []*Param
	for i := range 40 {
		ps = append(ps, NewParam(fmt.Sprint("p", i), 40000))
	}
	opt := NewAdam(ps, 2e-4)
	opt.Update()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		opt.Update()
	}
}

// BenchmarkDropout is one training-mode Forward and Backward at 32x28x28.
func BenchmarkDropout(b *testing.B) {
	rng := testRNG()
	d := NewDropout("drop", 0.1, rng)
	d.Training = true
	x, dy := randTensor(rng, 64, 32, 28, 28), randTensor(rng, 64, 32, 28, 28)
	d.Forward(x)
	d.Backward(dy)
	b.ReportAllocs()
	b.SetBytes(int64(4 * len(x.Data)))
	b.ResetTimer()
	for range b.N {
		d.Forward(x)
		d.Backward(dy)
	}
}

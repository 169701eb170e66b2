package nn

// TimestepEmbedding is the sinusoidal embedding of diffusion timesteps.
//
//	t [N] -> out [N, dim],  half = dim/2,  f_i = exp(-ln(10000) * i / half), i < half
//	out[n, i] = sin(t[n]*f_i),  out[n, half+i] = cos(t[n]*f_i)
//
// It has no weights and no backward (t is not trained). The arithmetic
// follows torch_unet.py step by step in float32 (f_i, then t*f_i rounded to
// float32, then sin/cos), so it matches PyTorch to the last bit or two even
// for t near 1000, where one float32 ulp of t*f is 6e-5.

import (
	"math"

	"dnas/dnas/tensor"
)

// TimestepEmbedding writes the sinusoidal embedding of t into out (resized to
// [len(t), dim]; nil allocates) and returns it. dim must be even and positive.
func TimestepEmbedding(t []float32, dim int, out *tensor.Tensor) *tensor.Tensor {
	if dim <= 0 || dim%2 != 0 {
		shapePanic("TimestepEmbedding", "TimestepEmbedding", []int{len(t), dim}, "an even, positive embedding width (got %d)", dim)
	}
	half := dim / 2
	out = ensureDims(out, len(t), dim)
	negLn := float32(-math.Log(10000))
	for i := range half {
		f := float32(math.Exp(float64(negLn * float32(i) / float32(half))))
		for n, tn := range t {
			arg := float64(tn * f)
			out.Data[n*dim+i] = float32(math.Sin(arg))
			out.Data[n*dim+half+i] = float32(math.Cos(arg))
		}
	}
	return out
}

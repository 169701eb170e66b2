package unet

import (
	"fmt"
	"math/rand/v2"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

// TimeMLP turns diffusion timesteps into the embedding every ResBlock is
// conditioned on:
//
//	t [N] -> sinusoidal(t, Dim) [N, Dim] -> Lin1 -> SiLU -> Lin2 -> temb [N, 4·Dim]
//
// It is its own piece (not part of any block) because in DiffNAS stage 1 a
// student block is fed the teacher's block inputs but computes temb with the
// student's own TimeMLP, which it trains through Backward.
type TimeMLP struct {
	Dim  int        // sinusoidal width (the UNet's ch)
	Lin1 *nn.Linear // Dim -> 4·Dim
	Act  *nn.SiLU
	Lin2 *nn.Linear // 4·Dim -> 4·Dim

	emb *tensor.Tensor
}

func newTimeMLP(dim int, rng *rand.Rand) *TimeMLP {
	return &TimeMLP{Dim: dim, Lin1: nn.NewLinear("temb.0", dim, 4*dim, rng),
		Act: &nn.SiLU{Name: "temb.1"}, Lin2: nn.NewLinear("temb.2", 4*dim, 4*dim, rng)}
}

// OutDim is the width of the embedding, 4·Dim.
func (m *TimeMLP) OutDim() int { return 4 * m.Dim }

// Forward returns temb [len(t), 4·Dim] in a buffer owned by m.
func (m *TimeMLP) Forward(t []float32) *tensor.Tensor {
	m.emb = nn.TimestepEmbedding(t, m.Dim, m.emb)
	return m.Lin2.Forward(m.Act.Forward(m.Lin1.Forward(m.emb)))
}

// Backward accumulates the gradients of the MLP's weights for dtemb, the
// gradient of the embedding of the last Forward (t itself has none).
func (m *TimeMLP) Backward(dtemb *tensor.Tensor) {
	m.Lin1.Backward(m.Act.Backward(m.Lin2.Backward(dtemb)))
}

// Params returns Lin1's and Lin2's weights.
func (m *TimeMLP) Params() []*nn.Param { return append(m.Lin1.Params(), m.Lin2.Params()...) }

// MACs is the two linears' count for one sample.
func (m *TimeMLP) MACs() int64 {
	return m.Lin1.MACs([]int{1, m.Dim}) + m.Lin2.MACs([]int{1, 4 * m.Dim})
}

// String describes the MLP.
func (m *TimeMLP) String() string {
	return fmt.Sprintf("TimeMLP(%d -> %d -> %d)", m.Dim, 4*m.Dim, 4*m.Dim)
}

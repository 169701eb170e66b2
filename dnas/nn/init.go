package nn

import (
	"math"
	"math/rand/v2"
)

// UniformFanIn fills w with U(-1/sqrt(fanIn), +1/sqrt(fanIn)). This is
// PyTorch's default for both Linear/Conv2d weights (kaiming_uniform_ with
// a = sqrt(5): gain sqrt(2/(1+5)) times sqrt(3/fan_in) = 1/sqrt(fan_in)) and
// their biases (uniform ±1/sqrt(fan_in)). A nil rng uses a fixed seed, so
// construction stays reproducible.
func UniformFanIn(w []float32, fanIn int, rng *rand.Rand) {
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
	}
	bound := float32(1 / math.Sqrt(float64(fanIn)))
	for i := range w {
		w[i] = (2*rng.Float32() - 1) * bound
	}
}

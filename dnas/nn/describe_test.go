package nn

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// Layers, parameters and optimisers describe themselves in a line.
func TestStrings(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	conv, err := NewConv2d("c", 8, 16, 3, 2, 1, rng)
	if err != nil {
		t.Fatal(err)
	}
	gn, err := NewGroupNorm("n", 4, 16)
	if err != nil {
		t.Fatal(err)
	}
	gn.SiLU = true
	att, err := NewAttention("a", 16, rng)
	if err != nil {
		t.Fatal(err)
	}
	p := NewParam("w", 2, 2)
	copy(p.Data, []float32{1, 2, 3, 4})
	adam := NewAdam([]*Param{p, conv.W}, 1e-3)
	ema := NewEMA([]*Param{p}, 0.999)
	pointer := regexp.MustCompile(`0x[0-9a-f]{4}`)
	for _, c := range []struct{ got, want string }{
		{conv.String(), "Conv2d c(8 -> 16, 3x3, stride 2, padding 1)"},
		{NewLinear("l", 4, 5, rng).String(), "Linear l(4 -> 5)"},
		{gn.String(), "GroupNorm n(4 groups, 16 channels, eps 1e-05) + SiLU"},
		{att.String(), "Attention a(16 channels, one head)"},
		{p.String(), "Param w [2 2]: 4 values, mean 2.5, std 1.118"},
		{adam.String(), "Adam(lr 0.001, betas (0.9, 0.999), eps 1e-08, weight decay 0): 2 parameters (1156 values), 0 steps done"},
		{ema.String(), "EMA(decay 0.999, spans about 1000 steps) of 1 parameters"},
	} {
		if c.got != c.want || pointer.MatchString(c.got) {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	p.Grad[0] = 3
	p.Grad[1] = 4
	if got := p.String(); !strings.HasSuffix(got, ", gradient norm 5") {
		t.Errorf("a parameter with a gradient: %q", got)
	}
}

package nn

import (
	"fmt"
	"math"
)

// The String methods here describe layers, parameters and optimisers in a
// line, in PyTorch's manner (Conv2d(16 -> 32, 3x3, ...)): what the REPL and
// a notebook print for them instead of a dump of their fields, buffers and
// pointers.

// String names the parameter, its shape and the statistics of its values
// (and of its gradient, when it has a non-zero one).
func (p *Param) String() string {
	if p == nil {
		return "<nil>"
	}
	mean, std := meanStd(p.Data)
	s := fmt.Sprintf("Param %s %v: %d values, mean %.4g, std %.4g", p.Name, p.Shape, len(p.Data), mean, std)
	var g2 float64
	for _, g := range p.Grad {
		g2 += float64(g) * float64(g)
	}
	if g2 > 0 {
		s += fmt.Sprintf(", gradient norm %.4g", math.Sqrt(g2))
	}
	return s
}

func meanStd(v []float32) (mean, std float64) {
	if len(v) == 0 {
		return 0, 0
	}
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		d := float64(x) - mean
		std += d * d
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

// String describes the convolution.
func (c *Conv2d) String() string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Conv2d %s(%d -> %d, %dx%d, stride %d, padding %d)", c.Name, c.Cin, c.Cout, c.K, c.K, c.Stride, c.Pad)
}

// String describes the layer.
func (l *Linear) String() string {
	if l == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Linear %s(%d -> %d)", l.Name, l.In, l.Out)
}

// String describes the normalisation.
func (g *GroupNorm) String() string {
	if g == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("GroupNorm %s(%d groups, %d channels, eps %g)", g.Name, g.Groups, g.C, g.Eps)
	if g.SiLU {
		s += " + SiLU"
	}
	return s
}

// String describes the attention block.
func (a *Attention) String() string {
	if a == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Attention %s(%d channels, one head)", a.Name, a.C)
}

// String describes the optimiser and where it is.
func (a *Adam) String() string {
	if a == nil {
		return "<nil>"
	}
	var n int
	for _, p := range a.Params {
		n += len(p.Data)
	}
	return fmt.Sprintf("Adam(lr %.3g, betas (%g, %g), eps %g, weight decay %g): %d parameters (%d values), %d steps done",
		a.LR, a.Beta1, a.Beta2, a.Eps, a.WeightDecay, len(a.Params), n, a.Step)
}

// String describes the average.
func (e *EMA) String() string {
	if e == nil {
		return "<nil>"
	}
	horizon := "all steps"
	if e.Decay < 1 {
		horizon = fmt.Sprintf("about %.0f steps", 1/(1-float64(e.Decay)))
	}
	return fmt.Sprintf("EMA(decay %g, spans %s) of %d parameters", e.Decay, horizon, len(e.Shadow))
}

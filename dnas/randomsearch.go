package dnas

import (
	"fmt"
	"math/rand/v2"
)

// RandomSearchOptions configures RandomSearch.
type RandomSearchOptions struct {
	// TargetMACs is the whole-model MAC budget the random architecture should
	// match (typically the block-wise result's MACs()).
	TargetMACs int64
	// Tolerance is the accepted relative distance to TargetMACs (default 0.02).
	Tolerance float64
	// Samples is how many random architectures to draw at most (default 20000).
	Samples int
	// Seed is the random seed (default 1).
	Seed uint64
}

// RandomSearch draws architectures uniformly (one random candidate per
// block: kernels and, with a width search, widths) and returns the first whose whole-model MACs lie within Tolerance of
// TargetMACs, ignoring the losses: the "random architecture at equal MACs"
// control of the ablation. If none is drawn within tolerance, the closest one
// is returned (Notes says so). The result has Method "random".
func RandomSearch(r *SearchResult, opts RandomSearchOptions) (*SearchResult, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if opts.TargetMACs <= 0 {
		return nil, fmt.Errorf("random search: TargetMACs %d must be > 0 (use the block-wise result's MACs())", opts.TargetMACs)
	}
	if opts.Tolerance <= 0 {
		opts.Tolerance = 0.02
	}
	if opts.Samples <= 0 {
		opts.Samples = 20000
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x7a4d0))
	var best scored
	bestDist := int64(-1)
	drawn := 0
	for drawn < opts.Samples {
		g := make(genome, len(r.Blocks))
		for b := range g {
			g[b] = rng.IntN(len(r.Blocks[b].Candidates))
		}
		drawn++
		s := scoreGenome(r, g)
		d := s.macs - opts.TargetMACs
		if d < 0 {
			d = -d
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = s, d
		}
		if float64(d) <= opts.Tolerance*float64(opts.TargetMACs) {
			break
		}
	}
	out := r.Clone()
	out.Method = "random"
	out.Seed = opts.Seed
	for b := range out.Blocks {
		out.Blocks[b].Choice = best.g[b]
		out.Blocks[b].NoneQualified = false
	}
	within := float64(bestDist) <= opts.Tolerance*float64(opts.TargetMACs)
	out.Notes = fmt.Sprintf("random architecture at %s MACs (target %s, tolerance %.0f%%, %d drawn, within tolerance: %v)",
		FormatCount(best.macs), FormatCount(opts.TargetMACs), 100*opts.Tolerance, drawn, within)
	return out, nil
}

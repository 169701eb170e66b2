package dnas

import (
	"fmt"
	"math/rand/v2"
	"sort"
)

// GlobalSearchOptions configures the evolutionary global search, the
// DNA-style alternative to DiffNAS's block-wise rule that the paper argues
// against: minimise the whole model's MACs subject to
//
//	sum over blocks of loss(candidate_b) <= sum over blocks of loss(baseline_b)
//
// Zero fields take the defaults of METHOD.md.
type GlobalSearchOptions struct {
	Population   int     // individuals per generation (default 50)
	Parents      int     // best individuals kept as parents (default 20)
	Generations  int     // generations (default 40)
	MutationProb float64 // chance that a child's block is redrawn (default 0.1)
	Seed         uint64  // random seed (default 1)
}

func (o GlobalSearchOptions) withDefaults() GlobalSearchOptions {
	if o.Population <= 0 {
		o.Population = 50
	}
	if o.Parents <= 0 {
		o.Parents = 20
	}
	if o.Parents > o.Population {
		o.Parents = o.Population
	}
	if o.Generations <= 0 {
		o.Generations = 40
	}
	if o.MutationProb <= 0 {
		o.MutationProb = 0.1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// genome is one candidate index per block.
type genome []int

// scored is a genome with its total MACs and total loss.
type scored struct {
	g    genome
	macs int64
	loss float64
}

func scoreGenome(r *SearchResult, g genome) scored {
	s := scored{g: g, macs: r.FixedMACs}
	for b, i := range g {
		c := r.Blocks[b].Candidates[i]
		s.macs += c.MACs
		s.loss += c.Loss
	}
	return s
}

// better orders individuals: feasible ones (loss <= budget) first, by fewer
// MACs then lower loss; infeasible ones after, by smaller excess loss.
func better(a, b scored, budget float64) bool {
	fa, fb := a.loss <= budget, b.loss <= budget
	if fa != fb {
		return fa
	}
	if !fa {
		return a.loss < b.loss
	}
	if a.macs != b.macs {
		return a.macs < b.macs
	}
	return a.loss < b.loss
}

func (g genome) key() string { return fmt.Sprint([]int(g)) }

// GlobalSearch runs the evolutionary global search over the candidate tables
// of r (from stage 2; r's own choice is ignored) and returns a result with
// Method "global" holding the best feasible architecture found. The first
// population holds the teacher architecture (always feasible) and random
// architectures; each generation keeps the Parents best and fills the rest
// with children by uniform crossover of two random parents followed by
// per-block mutation. A mutation redraws the block's whole candidate, so
// with a width search it changes kernels and widths together (a candidate
// is one choice of both, see Candidate). Deterministic for a given seed.
func GlobalSearch(r *SearchResult, opts GlobalSearchOptions) (*SearchResult, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	rng := rand.New(rand.NewPCG(o.Seed, 0x67c0b41))
	nb := len(r.Blocks)
	budget := r.BaselineLoss()
	randomGenome := func() genome {
		g := make(genome, nb)
		for b := range g {
			g[b] = rng.IntN(len(r.Blocks[b].Candidates))
		}
		return g
	}
	base := make(genome, nb)
	for b := range base {
		base[b] = r.Blocks[b].Baseline
	}
	seen := map[string]bool{}
	pop := []scored{scoreGenome(r, base)}
	seen[base.key()] = true
	for tries := 0; len(pop) < o.Population && tries < 100*o.Population; tries++ {
		g := randomGenome()
		if !seen[g.key()] {
			seen[g.key()] = true
			pop = append(pop, scoreGenome(r, g))
		}
	}
	sortPop := func() {
		sort.SliceStable(pop, func(i, j int) bool { return better(pop[i], pop[j], budget) })
	}
	sortPop()
	evaluated := len(pop)
	for gen := 0; gen < o.Generations; gen++ {
		parents := pop[:min(o.Parents, len(pop))]
		next := append([]scored(nil), parents...)
		for tries := 0; len(next) < o.Population && tries < 100*o.Population; tries++ {
			a, b := parents[rng.IntN(len(parents))].g, parents[rng.IntN(len(parents))].g
			child := make(genome, nb)
			for i := range child {
				if rng.IntN(2) == 0 {
					child[i] = a[i]
				} else {
					child[i] = b[i]
				}
				if rng.Float64() < o.MutationProb {
					child[i] = rng.IntN(len(r.Blocks[i].Candidates))
				}
			}
			if seen[child.key()] {
				continue
			}
			seen[child.key()] = true
			next = append(next, scoreGenome(r, child))
			evaluated++
		}
		pop = next
		sortPop()
	}
	best := pop[0] // the baseline is feasible, so the best is feasible too
	out := r.Clone()
	out.Method = "global"
	out.Seed = o.Seed
	for b := range out.Blocks {
		out.Blocks[b].Choice = best.g[b]
		out.Blocks[b].NoneQualified = false
	}
	out.Notes = fmt.Sprintf("evolutionary: minimise MACs s.t. sum of block losses <= %.6g (sum of baselines); population %d, parents %d, %d generations, mutation %.2f, %d architectures scored",
		budget, o.Population, o.Parents, o.Generations, o.MutationProb, evaluated)
	return out, nil
}

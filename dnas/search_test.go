package dnas

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dnas/dnas/nn"
	"dnas/dnas/unet"
)

// handTable builds a two-block candidate table by hand.
func handTable() *SearchResult {
	return &SearchResult{
		Method: "table", Teacher: "teacher-A", FixedMACs: 100, FixedParams: 10,
		Blocks: []BlockSearch{
			{Block: "enc0", Baseline: 1, Candidates: []Candidate{
				{Kernels: []int{1}, Loss: 0.50, MACs: 10, Params: 1},
				{Kernels: []int{3}, Loss: 0.20, MACs: 90, Params: 9}, // baseline
				{Kernels: []int{5}, Loss: 0.15, MACs: 250, Params: 25},
				{Kernels: []int{7}, Loss: 0.19, MACs: 40, Params: 4}, // tie on MACs with the next
				{Kernels: []int{9}, Loss: 0.18, MACs: 40, Params: 4}, // ... and lower loss: chosen at scale 1
			}},
			{Block: "mid", Baseline: 0, Candidates: []Candidate{
				{Kernels: []int{3, 3}, Loss: 1.0, MACs: 900, Params: 90}, // baseline
				{Kernels: []int{1, 1}, Loss: 1.2, MACs: 100, Params: 10},
				{Kernels: []int{1, 3}, Loss: 1.05, MACs: 500, Params: 50},
			}},
		},
	}
}

func TestChooseCandidateTieAndScale(t *testing.T) {
	r := handTable()
	cands := r.Blocks[0].Candidates
	i, ok, err := ChooseCandidate(cands, 0.20, 1.0)
	if err != nil || !ok || i != 4 {
		t.Fatalf("scale 1: got %d %v %v, want candidate 4 (40 MACs, tie broken by lower loss)", i, ok, err)
	}
	i, _, _ = ChooseCandidate(cands, 0.20, 2.5)
	if i != 0 {
		t.Errorf("scale 2.5 admits the 1x1 candidate (loss 0.5 <= 0.5): got %d", i)
	}
	i, ok, _ = ChooseCandidate(cands, 0.20, 0.8)
	if !ok || i != 2 {
		t.Errorf("scale 0.8 (limit 0.16) admits only the 5x5: got %d %v", i, ok)
	}
	_, ok, _ = ChooseCandidate(cands, 0.20, 0.5)
	if ok {
		t.Error("scale 0.5: no candidate qualifies, want ok=false")
	}
	for _, bad := range []float64{0, -1} {
		if _, _, err := ChooseCandidate(cands, 0.2, bad); err == nil || !strings.Contains(err.Error(), "loss_scale") {
			t.Errorf("loss_scale %g: want a loss_scale error, got %v", bad, err)
		}
	}
}

func TestSelectBlockwise(t *testing.T) {
	r := handTable()
	s, err := SelectBlockwise(r, 1.0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Blocks[0].Choice != 4 || s.Blocks[1].Choice != 0 {
		t.Fatalf("choices %d %d, want 4 0", s.Blocks[0].Choice, s.Blocks[1].Choice)
	}
	if got := s.MACs(); got != 100+40+900 {
		t.Errorf("MACs %d, want %d", got, 100+40+900)
	}
	if got := s.TeacherMACs(); got != 100+90+900 {
		t.Errorf("teacher MACs %d", got)
	}
	if k := s.Kernels(); len(k) != 3 || k[0] != 9 || k[1] != 3 || k[2] != 3 {
		t.Errorf("kernels %v", k)
	}
	s2, _ := SelectBlockwise(r, 1.1)
	if s2.Blocks[1].Choice != 2 {
		t.Errorf("mid at scale 1.1 should take [1 3] (loss 1.05 <= 1.1): got %d", s2.Blocks[1].Choice)
	}
	s3, _ := SelectBlockwise(r, 0.5)
	if !s3.Blocks[0].NoneQualified || s3.Blocks[0].Choice != 1 {
		t.Errorf("nothing qualifies at 0.5: the block should keep its baseline, got %+v", s3.Blocks[0].Choice)
	}
	if _, err := SelectBlockwise(r, 0); err == nil {
		t.Error("loss_scale 0: want an error")
	}
	if _, err := SelectBlockwise(&SearchResult{}, 1); err == nil || !strings.Contains(err.Error(), "no blocks") {
		t.Errorf("empty table: want a 'no blocks' error, got %v", err)
	}
	if _, err := s.Block("dec9"); err == nil || !strings.Contains(err.Error(), "unknown block") {
		t.Errorf("unknown block: %v", err)
	}
	if r.Blocks[0].Choice != 0 {
		t.Error("SelectBlockwise must not modify its input")
	}
}

func TestSearchResultSaveLoadTeacher(t *testing.T) {
	s, _ := SelectBlockwise(handTable(), 1.0)
	path := filepath.Join(t.TempDir(), "sub", "search.json")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	l, err := LoadSearchResult(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.MACs() != s.MACs() || l.Params() != s.Params() || len(l.Blocks[1].Candidates) != 3 || l.Blocks[0].Choice != 4 {
		t.Errorf("round trip changed the result: %v vs %v", l, s)
	}
	if err := l.CheckTeacher("teacher-A"); err != nil {
		t.Error(err)
	}
	if err := l.CheckTeacher("teacher-B"); err == nil || !strings.Contains(err.Error(), "teacher") {
		t.Errorf("another teacher: want a refusal, got %v", err)
	}
	if _, err := LoadSearchResult(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: want an error")
	}
}

func TestParetoFront(t *testing.T) {
	r := handTable()
	front := r.Blocks[0].ParetoFront()
	// 10 MACs/0.50, 40/0.18, 250/0.15; the baseline (90/0.20) and the other
	// 40-MAC candidate (0.19) are dominated by 40/0.18.
	want := []int{0, 4, 2}
	if len(front) != len(want) {
		t.Fatalf("front %v, want %v", front, want)
	}
	for i := range want {
		if front[i] != want[i] {
			t.Fatalf("front %v, want %v", front, want)
		}
	}
}

func TestGlobalSearchConstraint(t *testing.T) {
	r := handTable()
	// Budget = 0.20 + 1.0 = 1.20. The cheapest feasible is enc0 at 40 MACs
	// (0.18) + mid [1 3] (1.05)? 1.23 > 1.2: infeasible. enc0 5x5 (0.15) + mid
	// [1 3] (1.05) = 1.20: feasible at 100+250+500=850; enc0 k9 (0.18)+mid
	// baseline (1.0) = 1.18 at 100+40+900 = 1040. So 850 wins.
	g, err := GlobalSearch(r, GlobalSearchOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if g.Method != "global" {
		t.Errorf("method %q", g.Method)
	}
	if g.TotalLoss() > g.BaselineLoss()+1e-12 {
		t.Errorf("global result violates the constraint: %g > %g", g.TotalLoss(), g.BaselineLoss())
	}
	if g.MACs() != 850 {
		t.Errorf("global MACs %d, want 850 (enc0 5x5 + mid [1 3])", g.MACs())
	}
	// Block-wise on the same table picks a different architecture: that is
	// the point of the comparison.
	b, _ := SelectBlockwise(r, 1)
	if b.MACs() == g.MACs() {
		t.Error("block-wise and global should differ on this table")
	}
}

func TestRandomSearchEqualMACs(t *testing.T) {
	r := handTable()
	out, err := RandomSearch(r, RandomSearchOptions{TargetMACs: 640, Tolerance: 0.001, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	// 100 + 40 + 500 = 640 is reachable exactly.
	if out.MACs() != 640 || out.Method != "random" {
		t.Errorf("random at 640 MACs: got %d (%s)", out.MACs(), out.Method)
	}
	if _, err := RandomSearch(r, RandomSearchOptions{}); err == nil {
		t.Error("no target: want an error")
	}
}

// widthTable is a two-block table of a width search: enc0 has one ResBlock
// (2 convs, 1 width), mid two (4 convs, 2 widths).
func widthTable() *SearchResult {
	return &SearchResult{
		Method: "table", Teacher: "teacher-A", FixedMACs: 100, FixedParams: 10,
		Blocks: []BlockSearch{
			{Block: "enc0", Baseline: 0, Candidates: []Candidate{
				{Kernels: []int{3, 3}, Widths: []float64{1}, Loss: 0.20, MACs: 90, Params: 9}, // baseline
				{Kernels: []int{3, 3}, Widths: []float64{0.5}, Loss: 0.19, MACs: 45, Params: 5},
				{Kernels: []int{1, 1}, Widths: []float64{1}, Loss: 0.30, MACs: 10, Params: 1},
				{Kernels: []int{1, 1}, Widths: []float64{0.5}, Loss: 0.40, MACs: 5, Params: 1},
			}},
			{Block: "mid", Baseline: 0, Candidates: []Candidate{
				{Kernels: []int{3, 3, 3, 3}, Widths: []float64{1, 1}, Loss: 1.0, MACs: 900, Params: 90}, // baseline
				{Kernels: []int{3, 3, 3, 3}, Widths: []float64{1, 0.75}, Loss: 0.9, MACs: 790, Params: 80},
				{Kernels: []int{1, 1, 1, 1}, Widths: []float64{0.5, 0.5}, Loss: 1.4, MACs: 60, Params: 6},
			}},
		},
	}
}

func TestWidthTableSelectSaveLoad(t *testing.T) {
	r := widthTable()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := SelectBlockwise(r, 1.0)
	if err != nil {
		t.Fatal(err)
	}
	// enc0: the half-width 3x3 (0.19 <= 0.20, 45 MACs); mid: the 0.75-wide second ResBlock.
	if s.Blocks[0].Choice != 1 || s.Blocks[1].Choice != 1 {
		t.Fatalf("choices %d %d, want 1 1", s.Blocks[0].Choice, s.Blocks[1].Choice)
	}
	if ws := s.Widths(); len(ws) != 3 || ws[0] != 0.5 || ws[1] != 1 || ws[2] != 0.75 {
		t.Errorf("widths %v, want [0.5 1 0.75]", ws)
	}
	if !s.HasWidths() || !strings.Contains(s.Table(), "| [0.5] |") || !strings.Contains(s.String(), "widths [0.5 1 0.75]") {
		t.Errorf("the table and summary should show the widths:\n%s\n%s", s.Table(), s)
	}
	// The teacher architecture has full width: Widths is nil, as in a Config.
	if ws := TeacherArchitecture(s).Widths(); ws != nil {
		t.Errorf("teacher architecture widths %v, want nil", ws)
	}
	cfg := s.SubnetConfig(testConfig())
	if len(cfg.Widths) != 3 || cfg.WidthChoices != nil || cfg.KernelChoices != nil || len(cfg.Kernels) != 6 {
		t.Errorf("subnet config %+v", cfg)
	}
	path := filepath.Join(t.TempDir(), "search.json")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	l, err := LoadSearchResult(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Blocks[1].Chosen().Widths[1] != 0.75 || l.MACs() != s.MACs() || len(l.Blocks[0].Candidates[3].Widths) != 1 {
		t.Errorf("round trip lost the widths: %v", l)
	}
	// Clones do not share widths.
	c := l.Clone()
	c.Blocks[1].Candidates[1].Widths[1] = 0.5
	if l.Blocks[1].Candidates[1].Widths[1] != 0.75 {
		t.Error("Clone shares the widths slices")
	}
	// Inconsistent width records are refused.
	bad := widthTable()
	bad.Blocks[1].Candidates[2].Widths = []float64{0.5}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "mixes candidates with 2 and 1 widths") {
		t.Errorf("mixed widths: %v", err)
	}
	bad = widthTable()
	bad.Blocks[0].Candidates[1].Widths = []float64{1.5}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "width 1.5") {
		t.Errorf("width 1.5: %v", err)
	}
	// Global and random search choose among kernels x widths.
	g, err := GlobalSearch(r, GlobalSearchOptions{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Budget 1.2: enc0 1x1 full width (0.30) + mid [3 3 3 3] w [1 0.75]
	// (0.9) = 1.2 at 100+10+790 = 900 is the cheapest feasible (the
	// narrowest mid, 1.4, breaks the budget with any enc0).
	if ws := g.Widths(); g.MACs() != 900 || len(ws) != 3 || ws[0] != 1 || ws[2] != 0.75 {
		t.Errorf("global: %d MACs, widths %v; want 900 and [1 1 0.75]", g.MACs(), ws)
	}
	rs, err := RandomSearch(r, RandomSearchOptions{TargetMACs: 165, Tolerance: 0.001, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// 100 + 5 + 60 is the only architecture at 165 MACs.
	if rs.MACs() != 165 || rs.Widths() == nil || rs.Widths()[0] != 0.5 {
		t.Errorf("random at 165 MACs: %d, widths %v", rs.MACs(), rs.Widths())
	}
}

// TestOldSearchJSONLoads reads a result written before width search
// existed: it loads, has no widths, and reports as it did.
func TestOldSearchJSONLoads(t *testing.T) {
	old := `{"method":"blockwise","teacher":"teacher-A","loss_scale":1,"seed":1234,"eval_batch":4,
	 "blocks":[{"block":"enc0","index":0,"candidates":[
	   {"kernels":[3,3],"loss":0.2,"macs":90,"params":9},
	   {"kernels":[1,1],"loss":0.1,"macs":10,"params":1}],"baseline":0,"choice":1}],
	 "fixed_macs":100,"fixed_params":10}`
	path := filepath.Join(t.TempDir(), "old.json")
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LoadSearchResult(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.HasWidths() || r.Widths() != nil || r.MACs() != 110 || !r.Blocks[0].BaselineCandidate().IsTeacher() {
		t.Errorf("old result: widths %v, MACs %d", r.Widths(), r.MACs())
	}
	if strings.Contains(r.Table(), "widths") || strings.Contains(r.String(), "widths") {
		t.Errorf("an old result's report mentions widths:\n%s\n%s", r.Table(), r)
	}
	if cfg := r.SubnetConfig(testConfig()); cfg.Widths != nil || len(cfg.Kernels) != 2 {
		t.Errorf("old result's subnet config: widths %v kernels %v", cfg.Widths, cfg.Kernels)
	}
	b, err := json.Marshal(r.Blocks[0].Candidates[0])
	if err != nil || strings.Contains(string(b), "widths") {
		t.Errorf("a candidate without widths must not write a widths field: %s", b)
	}
}

// testConfig is a small unet config for SubnetConfig checks.
func testConfig() unet.Config {
	return unet.Config{InChannels: 1, Resolution: 8, Ch: 8, Mult: []int{1}, NumResBlocks: 1}
}

// The search's shared-prefix walk gives every candidate the loss RunBlock
// gives it alone, bit for bit, with and without the width search.
func TestBlockLossesMatchRunBlock(t *testing.T) {
	teacher, data := testTeacher(t)
	for _, widths := range [][]float64{nil, {0.5, 1}} {
		s, err := NewSupernet(teacher, data, SupernetOptions{BatchSize: 4, Seed: 3, WidthChoices: widths})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.TrainAll(context.Background(), 1, ""); err != nil {
			t.Fatal(err)
		}
		x0, _ := data.Batch([]int{1, 2, 3}, nil)
		nb := teacher.Schedule.Noisy(x0, rand.New(rand.NewPCG(1, 2)), true, nil)
		io, err := s.teacherIO(nb.Xt, nb.TF)
		if err != nil {
			t.Fatal(err)
		}
		s.Net.SetTraining(false)
		temb := s.Net.Time.Forward(nb.TF).Clone()
		for _, i := range s.searchable() {
			b := s.Net.Blocks()[i]
			in := unet.BlockInput{X: io[i].In.X, Skips: io[i].In.Skips, Temb: temb}
			n := 0
			table, err := s.blockLosses(context.Background(), i, in, io[i].Out.Out, func(float64) { n++ })
			if err != nil {
				t.Fatal(err)
			}
			if n != b.NumCandidates() || len(table) != n {
				t.Fatalf("block %s: %d losses reported, %d kept; want %d", b.Name, n, len(table), b.NumCandidates())
			}
			var choices [][]int
			for _, c := range b.Convs() {
				choices = append(choices, c.Kernels)
			}
			widthSets := [][]float64{nil}
			if widths != nil {
				var wc [][]float64
				for _, r := range b.ResBlocks() {
					wc = append(wc, r.WidthChoices)
				}
				widthSets = choiceProduct(wc)
			}
			for _, ks := range kernelProduct(choices) {
				for _, ws := range widthSets {
					if err := b.SetKernels(ks); err != nil {
						t.Fatal(err)
					}
					if ws != nil {
						if err := b.SetWidths(ws); err != nil {
							t.Fatal(err)
						}
					}
					out, err := s.Net.RunBlock(i, in)
					if err != nil {
						t.Fatal(err)
					}
					want := float64(nn.MSELoss(out.Out, io[i].Out.Out, nil))
					if got := table[candidateKey(ks, ws)]; math.Float64bits(got) != math.Float64bits(want) {
						t.Fatalf("block %s, kernels %v, widths %v: loss %v from the walk, %v from RunBlock", b.Name, ks, ws, got, want)
					}
				}
			}
		}
	}
}

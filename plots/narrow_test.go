package plots

import (
	"strings"
	"testing"
)

// TestTradeoffMarksNarrowCandidates: a search over inner widths draws its
// narrow candidates with their own marker and legend entry, and labels the
// chosen one with its widths.
func TestTradeoffMarksNarrowCandidates(t *testing.T) {
	s := BlockSearch{Block: "mid", Candidates: []Candidate{
		{Kernels: []int{3, 3}, Widths: []float64{1}, Loss: 0.010, MACs: 4_000_000},
		{Kernels: []int{3, 3}, Widths: []float64{0.5}, Loss: 0.009, MACs: 2_000_000},
		{Kernels: []int{1, 3}, Widths: []float64{1}, Loss: 0.020, MACs: 2_500_000},
	}, Baseline: 0, Chosen: 1, LossScale: 1}
	c, err := BlockTradeoff(s)
	if err != nil {
		t.Fatal(err)
	}
	svg, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"narrower inner width (1 evaluated)", "candidate architecture (2 evaluated)", "w=[0.5]"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	s.Candidates[1].Widths = nil // kernel-only search: no narrow marker at all
	c, err = BlockTradeoff(s)
	if err != nil {
		t.Fatal(err)
	}
	svg, _ = c.SVG()
	if strings.Contains(string(svg), "narrower") || strings.Contains(string(svg), "w=[") {
		t.Error("a chart without widths mentions narrow candidates")
	}
}

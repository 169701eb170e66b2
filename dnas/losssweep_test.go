package dnas

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"dnas/plots"
)

func TestSweepLossScaleOnHandTable(t *testing.T) {
	r := handTable()
	sw, err := SweepLossScale(r, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	// enc0 takes its 40-MAC candidate at 1 (tie rule), its 10-MAC one at
	// 2.5; mid keeps its 900-MAC baseline until 1.05, then 500, then 100 at 1.2.
	want := []struct {
		scale float64
		macs  int64
	}{{1, 1040}, {1.05, 640}, {1.2, 240}, {2.5, 210}}
	if len(sw.Points) != len(want) {
		t.Fatalf("points %+v, want %d", sw.Points, len(want))
	}
	for i, w := range want {
		p := sw.Points[i]
		if math.Abs(p.LossScale-w.scale) > 1e-12 || p.MACs != w.macs {
			t.Errorf("point %d: loss_scale %v, %d MACs; want %v, %d", i, p.LossScale, p.MACs, w.scale, w.macs)
		}
	}
	if sw.TeacherMACs != 1090 || math.Abs(sw.Points[3].MACReduction-(1-210.0/1090)) > 1e-12 {
		t.Errorf("teacher MACs %d, last reduction %v", sw.TeacherMACs, sw.Points[3].MACReduction)
	}
	// The sweep agrees with the rule itself everywhere in between.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		s := 1 + 2*rng.Float64()
		p, err := sw.At(s)
		if err != nil {
			t.Fatal(err)
		}
		sel, err := SelectBlockwise(r, s)
		if err != nil {
			t.Fatal(err)
		}
		if p.MACs != sel.MACs() {
			t.Fatalf("loss_scale %v: sweep says %d MACs, SelectBlockwise %d", s, p.MACs, sel.MACs())
		}
	}
	// The printed threshold, passed back as a loss_scale, gives the point.
	p, ok := sw.MinLossScaleFor(0.7)
	if !ok || p.MACs != 240 {
		t.Fatalf("MinLossScaleFor(0.7) = %+v, %v; want the 240-MAC subnet", p, ok)
	}
	if sel, _ := SelectBlockwise(r, p.Rounded()); sel.MACs() != 240 {
		t.Errorf("loss_scale %v (the printed threshold) gives %d MACs", p.Rounded(), sel.MACs())
	}
	if _, ok := sw.MinLossScaleFor(0.9); ok {
		t.Error("MinLossScaleFor(0.9): nothing up to 3 reaches it, want ok=false")
	}
	if tab := sw.Table(); !strings.Contains(tab, "| 1.0500 | 640 |") || !strings.Contains(tab, "| 2.5000 | 210 |") {
		t.Errorf("table:\n%s", tab)
	}
	c, err := sw.Chart(plots.Level{Name: "global search", Value: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := c.PNG(); err != nil || len(b) == 0 {
		t.Fatalf("chart PNG: %v", err)
	}

	for _, bad := range [][2]float64{{0, 2}, {1, 1}, {2, 1}, {1, math.Inf(1)}} {
		if _, err := SweepLossScale(r, bad[0], bad[1]); err == nil || !strings.Contains(err.Error(), "0 < from < to") {
			t.Errorf("from %v to %v: got %v", bad[0], bad[1], err)
		}
	}
	if _, err := sw.At(3.5); err == nil {
		t.Error("At beyond To: want an error")
	}
}

func TestSelectForReductionPicksTheSmallestTolerance(t *testing.T) {
	r := handTable() // teacher 1,090 MACs; see TestSweepLossScaleOnHandTable
	for _, c := range []struct {
		reduction, from float64
		scale           float64
		macs            int64
	}{
		{0.03, 1, 1, 1040},   // reached at the default tolerance already
		{0.3, 1, 1.05, 640},  // 1 - 640/1090 = 41%
		{0.7, 1, 1.2, 240},   // 78%
		{0.79, 1, 2.5, 210},  // 80.7%: only with every block at its cheapest
		{0.3, 1.1, 1.1, 640}, // from above the threshold: from itself
		{0.7, 1.1, 1.2, 240},
	} {
		sel, err := SelectForReduction(r, c.from, c.reduction)
		if err != nil {
			t.Fatalf("reduction %v from %v: %v", c.reduction, c.from, err)
		}
		if sel.LossScale != c.scale || sel.MACs() != c.macs || sel.MinReduction != c.reduction || sel.Method != "blockwise" {
			t.Errorf("reduction %v from %v: loss_scale %v, %d MACs, min_reduction %v, method %s; want %v, %d",
				c.reduction, c.from, sel.LossScale, sel.MACs(), sel.MinReduction, sel.Method, c.scale, c.macs)
		}
		// The recorded loss_scale alone gives the same subnet.
		if again, _ := SelectBlockwise(r, sel.LossScale); again.MACs() != sel.MACs() {
			t.Errorf("loss_scale %v: %d MACs, the selection had %d", sel.LossScale, again.MACs(), sel.MACs())
		}
	}
	if _, err := SelectForReduction(r, 1, 0.85); err == nil || !strings.Contains(err.Error(), "at most 80.7%") {
		t.Errorf("unreachable reduction: got %v, want the most there is (80.7%%)", err)
	}
	for _, bad := range []float64{-0.1, 1, 1.5, math.NaN()} {
		if _, err := SelectForReduction(r, 1, bad); err == nil || !strings.Contains(err.Error(), "fraction in (0, 1)") {
			t.Errorf("reduction %v: got %v", bad, err)
		}
	}
	if _, err := SelectForReduction(r, 0, 0.3); err == nil || !strings.Contains(err.Error(), "> 0") {
		t.Errorf("loss_scale 0: got %v", err)
	}
}

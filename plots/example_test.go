package plots_test

import (
	"fmt"
	"log"

	"dnas/plots"
)

// A block of the stage-2 search as a trade-off chart: the caller copies
// its candidates into plots.Candidate values and marks the baseline and
// the chosen one by index.
func ExampleBlockTradeoff() {
	s := plots.BlockSearch{
		Block: "enc1",
		Candidates: []plots.Candidate{
			{Kernels: []int{3, 3}, Loss: 0.010, MACs: 4_300_000},
			{Kernels: []int{1, 3}, Loss: 0.009, MACs: 2_600_000},
			{Kernels: []int{1, 1}, Loss: 0.030, MACs: 900_000},
			{Kernels: []int{5, 5}, Loss: 0.006, MACs: 11_000_000},
		},
		Baseline:  0,
		Chosen:    1,
		LossScale: 1,
	}
	c, err := plots.BlockTradeoff(s)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Save("/tmp/enc1_tradeoff.png"); err != nil {
		log.Fatal(err)
	}
}

// A small ablation table, printed as Markdown; HTML() gives the same table
// for a notebook.
func ExampleTable() {
	t := plots.NewTable("β ablation", "schedule", "FID", "held-out noise loss")
	t.AddRow("linear ramp", 3.21, 0.0312)
	t.AddRow("noise only", 3.87, 0.0309)
	t.BoldMin(1)
	t.BoldMin(2)
	fmt.Print(t.Markdown())
	// Output:
	// **β ablation**
	//
	// | schedule | FID | held-out noise loss |
	// | --- | ---: | ---: |
	// | linear ramp | **3.21** | 0.0312 |
	// | noise only | 3.87 | **0.0309** |
}

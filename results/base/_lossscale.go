// MAC reduction of the base run's block-wise choice against loss_scale, re-selected
// from the saved candidate tables: `dnas exec results/base/_lossscale.go` (reads
// out/run-base/search/subnet.json; results/base/search/subnet.json is the same file).
r, err := dnas.LoadSearchResult("out/run-base/search/subnet.json")
if err != nil { panic(err) }
fmt.Print(r.Table())
show := func(s float64) {
	x, err := dnas.SelectBlockwise(r, s)
	if err != nil { panic(err) }
	fmt.Printf("loss_scale %.3f: %s MACs, -%.1f%%, kernels %v\n", s, dnas.FormatCount(x.MACs()), 100*x.MACReduction(), x.Kernels())
}
for _, s := range []float64{1, 1.005, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.08, 1.1, 1.15, 1.2, 1.3} {
	show(s)
}

// Reports the search stage of the base run while its retraining goes on:
// `dnas exec results/base/_search.go` from the repository root, after
// tools/base-pipeline.sh's `dnas run --preset base --out out/run-base` has
// finished its search. It copies the four search results to
// results/base/search/, draws the block-wise trade-off chart and writes
// results/base/search.md (per-block choices; block-wise vs global vs random
// on the same supernet). A leading underscore keeps the go tool away from it.
func load(name string) *dnas.SearchResult {
	r, err := dnas.LoadSearchResult("out/run-base/search/" + name + ".json")
	if err != nil { panic(err) }
	if err := r.Save("results/base/search/" + name + ".json"); err != nil { panic(err) }
	return r
}
sub := load("subnet")
glob := load("global")
rnd := load("random")
load("teacher-arch")
chart, err := sub.TradeoffChart(0)
if err != nil { panic(err) }
for _, ext := range []string{".png", ".svg"} {
	if err := chart.Save("results/base/tradeoff" + ext); err != nil { panic(err) }
}
var md strings.Builder
fmt.Fprintf(&md, "# base run: the search (stage 2)\n\nTeacher `%s`; %d candidates over %d blocks, evaluation set of %d samples (seed %d), loss_scale %g.\n\n",
	sub.Teacher, sub.NumCandidates(), len(sub.Blocks), sub.EvalBatch, sub.Seed, sub.LossScale)
fmt.Fprintf(&md, "## Block-wise search: per-block choices\n\n%s\n", sub.Table())
fmt.Fprintf(&md, "## Search strategies on the same supernet\n\n| method | MACs | MAC reduction | params | sum of block losses | sum of baselines | blocks worse than baseline |\n|---|---:|---:|---:|---:|---:|---:|\n")
for _, r := range []*dnas.SearchResult{sub, glob, rnd} {
	worse := 0
	for i := range r.Blocks {
		if r.Blocks[i].Chosen().Loss > r.Blocks[i].BaselineCandidate().Loss {
			worse++
		}
	}
	fmt.Fprintf(&md, "| %s | %s | %.1f%% | %s | %.5f | %.5f | %d / %d |\n", r.Method, dnas.FormatCount(r.MACs()), 100*r.MACReduction(),
		dnas.FormatCount(r.Params()), r.TotalLoss(), r.BaselineLoss(), worse, len(r.Blocks))
}
md.WriteString("\n![every candidate of every block: loss against MACs](tradeoff.png)\n")
if err := os.WriteFile("results/base/search.md", []byte(md.String()), 0o644); err != nil { panic(err) }
fmt.Print(md.String())

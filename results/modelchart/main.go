// Command modelchart draws every retrained model of several `dnas run`
// directories in one FID-vs-MACs chart (plots.ModelComparison), so runs with
// different search settings can be compared at a glance. A model that
// appears in several runs with the same name, MACs and FID (e.g. the shared
// teacher) is drawn once.
//
//	go run ./results/modelchart --out results/small/models-all \
//	    results/small/run results/small/loss-scale-1.04 results/small/widths
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"dnas/dnas"
	"dnas/plots"
)

func main() {
	out := flag.String("out", "models-all", "output path without extension (.png and .svg are written)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "modelchart: give one or more `dnas run` output directories (each with a results.json)")
		os.Exit(2)
	}
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "modelchart:", err)
		os.Exit(1)
	}
}

func run(out string, dirs []string) error {
	var pts []plots.ModelPoint
	seen := map[string]bool{}
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "results.json"))
		if err != nil {
			return fmt.Errorf("%w (is %s a finished `dnas run` directory?)", err, dir)
		}
		var res dnas.PipelineResults
		if err := json.Unmarshal(b, &res); err != nil {
			return fmt.Errorf("%s/results.json: %w", dir, err)
		}
		for _, m := range res.Models {
			if math.IsNaN(m.FID) {
				continue
			}
			key := fmt.Sprintf("%s|%d|%.4f", m.Name, m.MACs, m.FID)
			if seen[key] {
				continue
			}
			seen[key] = true
			name := m.Name
			if m.Name == "subnet" {
				name = fmt.Sprintf("subnet, %s (%s)", filepath.Base(dir), m.Architecture)
			}
			pts = append(pts, plots.ModelPoint{Name: name, MACs: m.MACs, FID: m.FID, Params: m.Params})
		}
	}
	c, err := plots.ModelComparison(pts)
	if err != nil {
		return err
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := c.Save(out + ext); err != nil {
			return err
		}
	}
	return nil
}

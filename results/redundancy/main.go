// Command redundancy is a small redundancy study (open question 1 of the
// DiffNAS paper: does the search remove more from a wider, more redundant
// teacher?). It trains one teacher per width with the same recipe and
// budget (the `small` preset with its channel count changed), trains a
// block-wise supernet on each (dnas.RedundancyStudy), and reports the MAC
// reduction the block-wise rule finds at several loss_scale tolerances,
// read from the same candidate tables (dnas.SelectBlockwise).
//
//	go run ./results/redundancy --widths 8,16,24 --teacher-steps 400 --stage1-steps 150 --out results/small/redundancy
//
// It writes OUT/redundancy.json, OUT/redundancy.md and the chart
// OUT/redundancy.png/.svg. Teachers are kept in OUT/teachers/ (not meant to
// be committed) and reused when the command is run again.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"dnas/dnas"
	"dnas/dnas/mnist"
	"dnas/plots"
)

// row is one teacher width.
type row struct {
	Width        int                `json:"width"`
	TeacherSteps int                `json:"teacher_steps"`
	TeacherMACs  int64              `json:"teacher_macs"`
	TeacherParam int64              `json:"teacher_params"`
	TeacherFID   float64            `json:"teacher_fid"`
	Reduction    map[string]float64 `json:"mac_reduction"` // by loss_scale
	Kernels      []int              `json:"kernels"`       // at loss_scale 1.0
	Seconds      map[string]float64 `json:"seconds"`       // teacher, supernet+search, fid
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "redundancy:", err)
		os.Exit(1)
	}
}

func run() error {
	widths := flag.String("widths", "8,16,24", "comma-separated teacher base widths (UNet ch; multiples of 8)")
	teacherSteps := flag.Int("teacher-steps", 400, "training steps of every teacher (batch 64, the small preset's recipe)")
	stage1 := flag.Int("stage1-steps", 150, "stage 1 steps per block (all blocks per teacher pass)")
	evalBatch := flag.Int("eval-batch", 64, "search evaluation set")
	scales := flag.String("loss-scales", "1,1.02,1.05,1.1", "loss_scale tolerances to report")
	fidSamples := flag.Int("fid-samples", 200, "samples for each teacher's FID (DDIM 20); 0 skips it")
	out := flag.String("out", "results/small/redundancy", "output directory")
	flag.Parse()

	var ws []int
	for _, s := range strings.Split(*widths, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || w <= 0 || w%8 != 0 {
			return fmt.Errorf("--widths %q: %q is not a positive multiple of 8 (GroupNorm uses 8 groups)", *widths, s)
		}
		ws = append(ws, w)
	}
	var ls []float64
	for _, s := range strings.Split(*scales, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || v < 1 {
			return fmt.Errorf("--loss-scales %q: %q is not a number >= 1", *scales, s)
		}
		ls = append(ls, v)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	data, err := mnist.LoadTrain()
	if err != nil {
		return err
	}
	var rows []row
	for _, w := range ws {
		r := row{Width: w, TeacherSteps: *teacherSteps, Reduction: map[string]float64{}, Seconds: map[string]float64{}}
		start := time.Now()
		teacher, err := trainTeacher(ctx, w, *teacherSteps, filepath.Join(*out, "teachers"))
		if err != nil {
			return err
		}
		r.Seconds["teacher"] = time.Since(start).Seconds()
		r.TeacherMACs, r.TeacherParam = teacher.Net.MACs(), teacher.Net.NumParams()
		if *fidSamples > 0 {
			start = time.Now()
			rep, err := teacher.Evaluate(ctx, dnas.EvalOptions{Samples: *fidSamples, Sampler: dnas.DDIMSpec(20, 0), HeldOut: 500, GridSize: 16})
			if err != nil {
				return err
			}
			r.TeacherFID = rep.FID
			r.Seconds["fid"] = time.Since(start).Seconds()
			fmt.Printf("width %d teacher: %s\n", w, rep)
		}
		start = time.Now()
		// One teacher at a time through the library's study, so an
		// interrupted study keeps the teachers trained so far.
		study, err := dnas.RedundancyStudy(ctx, []*dnas.Teacher{teacher}, data,
			dnas.SupernetOptions{BatchSize: 32, Parallel: true, Seed: 1}, *stage1, dnas.SearchOptions{EvalBatch: *evalBatch, Seed: 1234, LossScale: 1})
		if err != nil {
			return err
		}
		r.Seconds["supernet+search"] = time.Since(start).Seconds()
		r.Kernels = study[0].Kernels
		for _, s := range ls {
			sel, err := dnas.SelectBlockwise(study[0].Result, s)
			if err != nil {
				return err
			}
			r.Reduction[scaleKey(s)] = sel.MACReduction()
		}
		fmt.Printf("width %d: MAC reduction %v (%.0fs teacher, %.0fs supernet+search)\n", w, r.Reduction, r.Seconds["teacher"], r.Seconds["supernet+search"])
		rows = append(rows, r)
		// Written after every width, so a study stopped early still has
		// the rows done.
		if err := report(*out, rows, ls, *teacherSteps, *stage1, *evalBatch, *fidSamples); err != nil {
			return err
		}
	}
	return nil
}

func scaleKey(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) }

// report writes redundancy.json, redundancy.md and the chart.
func report(out string, rows []row, scales []float64, teacherSteps, stage1, evalBatch, fidSamples int) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{"teacher_steps": teacherSteps, "stage1_steps": stage1, "eval_batch": evalBatch,
		"fid_samples": fidSamples, "rows": rows}, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "redundancy.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	cols := []string{"teacher width (ch)", "teacher MACs", "teacher params", fmt.Sprintf("teacher FID (%d samples)", fidSamples)}
	for _, s := range scales {
		cols = append(cols, "MAC reduction, loss_scale "+scaleKey(s))
	}
	t := plots.NewTable(fmt.Sprintf("Redundancy: teachers of several widths (%d training steps each, stage 1 %d steps per block)", teacherSteps, stage1), cols...)
	var series []plots.Series
	for _, s := range scales {
		series = append(series, plots.Series{Name: "loss_scale " + scaleKey(s)})
	}
	for _, r := range rows {
		cells := []any{r.Width, dnas.FormatCount(r.TeacherMACs), dnas.FormatCount(r.TeacherParam), fmt.Sprintf("%.1f", r.TeacherFID)}
		for i, s := range scales {
			red := r.Reduction[scaleKey(s)]
			cells = append(cells, fmt.Sprintf("%.1f%%", 100*red))
			series[i].X = append(series[i].X, float64(r.Width))
			series[i].Y = append(series[i].Y, 100*red)
		}
		if err := t.AddRow(cells...); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(out, "redundancy.md"), []byte(t.Markdown()+"\n"), 0o644); err != nil {
		return err
	}
	c, err := plots.Curves(plots.CurveOptions{Title: "Block-wise search: MAC reduction vs teacher width",
		XLabel: "teacher base width (channels)", YLabel: "MAC reduction of the searched subnet (%)", Y: plots.ScaleLinear}, series...)
	if err != nil {
		return err
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := c.Save(filepath.Join(out, "redundancy"+ext)); err != nil {
			return err
		}
	}
	return nil
}

// trainTeacher trains (or reloads from dir) the small preset at width w for
// steps steps.
func trainTeacher(ctx context.Context, w, steps int, dir string) (*dnas.Teacher, error) {
	path := filepath.Join(dir, fmt.Sprintf("ch%d-%d.safetensors", w, steps))
	if t, err := dnas.LoadTeacher(path); err == nil {
		return t, nil
	}
	p, err := dnas.LookupTeacherPreset("small")
	if err != nil {
		return nil, err
	}
	p.Name = fmt.Sprintf("small-ch%d", w)
	p.UNet.Ch, p.Steps = w, steps
	// The preset's EMA (0.995) would still hold a tenth of the random
	// initialisation after a few hundred steps: average over the last
	// tenth of training instead.
	p.EMADecay = float32(min(0.995, 1-10/float64(steps)))
	tr, err := dnas.NewTeacherTrainer(p, 1)
	if err != nil {
		return nil, err
	}
	if err := tr.Train(ctx, steps); err != nil {
		return nil, err
	}
	t, err := tr.Teacher()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return t, t.Save(path)
}

package main

import (
	"context"
	"fmt"
	"time"

	"dnas/dnas"
)

func main() {
	ctx := context.Background()
	t, err := dnas.LoadTeacherPreset("base")
	if err != nil {
		panic(err)
	}
	po, _ := dnas.DefaultPipelineOptions("base")
	for _, par := range []bool{true, false} {
		so := po.Supernet
		so.Parallel = par
		sn, err := dnas.NewSupernet(t, nil, so)
		if err != nil {
			panic(err)
		}
		sn.TrainAll(ctx, 1, "")
		st := time.Now()
		sn.TrainAll(ctx, 3, "")
		fmt.Printf("stage1 parallel=%v batch %d: %.2f s per step of every block\n", par, so.BatchSize, time.Since(st).Seconds()/2)
		if !par {
			break
		}
		so2 := po.Search
		so2.EvalBatch = 64
		st = time.Now()
		res, err := sn.Search(ctx, so2)
		if err != nil {
			panic(err)
		}
		fmt.Printf("search: %.1f s (%d candidates)\n", time.Since(st).Seconds(), res.NumCandidates())
		for _, bs := range []int{32, 64} {
			ro := po.Retrain
			ro.BatchSize = bs
			ro.Steps = 100
			rt, err := dnas.NewRetrainer("x", t, res, nil, ro)
			if err != nil {
				panic(err)
			}
			for _, sched := range []string{"mixed", "noise"} {
				if sched == "noise" {
					rt.Step = 60
				}
				rt.TrainStep()
				st = time.Now()
				for range 3 {
					if _, err := rt.TrainStep(); err != nil {
						panic(err)
					}
				}
				fmt.Printf("retrain batch %d beta %s: %.2f s/step\n", bs, sched, time.Since(st).Seconds()/3)
			}
		}
	}
}

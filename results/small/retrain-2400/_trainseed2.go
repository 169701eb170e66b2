// Retrains the subnet and the teacher architecture of results/small/retrain-2400
// with training seed 2 (everything else as `dnas run --preset small
// --retrain-steps 2400`): `dnas exec results/small/retrain-2400/_trainseed2.go`
// from the repository root after that run (it reads OUT/search/subnet.json from
// out/run-small-2400). A leading underscore keeps the go tool away from it.
func run(m string) {
	teacher, err := dnas.LoadTeacherPreset("small")
	if err != nil { panic(err) }
	r, err := dnas.LoadSearchResult("out/run-small-2400/search/subnet.json")
	if err != nil { panic(err) }
	po, err := dnas.DefaultPipelineOptions("small")
	if err != nil { panic(err) }
	ro := po.Retrain
	ro.Steps = 2400
	ro.BatchSize = 32
	ro.Seed = 2
	arch := r
	if m == "teacher-arch" { arch = dnas.TeacherArchitecture(r) }
	rt, err := dnas.NewRetrainer(m, teacher, arch, nil, ro)
	if err != nil { panic(err) }
	if err := rt.Train(ctx, 2400); err != nil { panic(err) }
	if err := rt.Save("out/retrain-seed2/" + m + ".safetensors"); err != nil { panic(err) }
	rep, err := rt.Evaluate(ctx, po.Eval)
	if err != nil { panic(err) }
	fmt.Println(m, "seed 2:", rep)
}
run("subnet")
run("teacher-arch")

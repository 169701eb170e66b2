// Setup shared by every notebook of the series (notebooks/src/_setup.go).
// The preset comes from DNAS_PRESET (CI runs every notebook on "tiny");
// without it the notebooks use "small", the preset of the committed outputs.
import "path/filepath"

preset := os.Getenv("DNAS_PRESET")
if preset == "" {
	preset = "small"
}

// pick chooses a budget by preset: the first value on tiny (CI, seconds),
// the second on small (the committed run) and on larger presets.
func pick(tiny, small int) int {
	if preset == "tiny" {
		return tiny
	}
	return small
}

// work holds what the notebooks hand to each other (a teacher trained here,
// the stage-1 supernet, the search result), so notebook 03 starts from the
// supernet notebook 02 trained. Each notebook recomputes what is missing.
work := filepath.Join("..", "out", "notebooks-work", preset)
if err := os.MkdirAll(work, 0o755); err != nil {
	panic(err)
}

// loadTeacher returns the committed teacher of the preset
// (models/<preset>.safetensors, embedded in the dnas binary), else one
// trained here briefly and kept in work/ for the next notebooks.
func loadTeacher() (*dnas.Teacher, error) {
	if t, err := dnas.LoadTeacherPreset(preset); err == nil {
		return t, nil
	}
	path := filepath.Join(work, "teacher.safetensors")
	if t, err := dnas.LoadTeacher(path); err == nil {
		return t, nil
	}
	fmt.Printf("no committed %s teacher: training one here for %d steps\n", preset, pick(100, 600))
	tr, err := dnas.NewTeacherTrainerByName(preset, 1)
	if err != nil {
		return nil, err
	}
	if err := tr.Train(ctx, pick(100, 600)); err != nil {
		return nil, err
	}
	t, err := tr.Teacher()
	if err != nil {
		return nil, err
	}
	return t, t.Save(path)
}

// must stops the cell with err (shown as the cell's error) if it is not nil.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

fmt.Printf("preset %s, shared files in %s\n", preset, work)

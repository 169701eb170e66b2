// Stage-1 and stage-2 results shared by notebooks 02-07 (notebooks/src/_pipeline.go).

// stage1Steps is the series' stage-1 budget: training steps per block.
stage1Steps := pick(20, 100)

// loadSupernet builds the supernet of teacher t and restores the stage-1
// training kept in work/stage1 (notebook 02 writes it); blocks with fewer
// than stage1Steps steps are trained now, and saved there.
func loadSupernet(t *dnas.Teacher) (*dnas.Supernet, error) {
	sn, err := dnas.NewSupernet(t, nil, dnas.SupernetOptions{BatchSize: pick(8, 32), Parallel: true})
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "stage1")
	if _, err := os.Stat(dir); err == nil {
		if _, err := sn.Load(dir); err != nil {
			fmt.Println("not resuming from", dir+":", err)
		}
	}
	return sn, sn.TrainAll(ctx, stage1Steps, dir)
}

// loadSearch returns the stage-2 result kept in work/search.json (notebook
// 03 writes it) if it was made for teacher t, else searches now.
func loadSearch(t *dnas.Teacher) (*dnas.SearchResult, error) {
	path := filepath.Join(work, "search.json")
	if r, err := dnas.LoadSearchResult(path); err == nil && r.CheckTeacher(t.ID()) == nil {
		return r, nil
	}
	sn, err := loadSupernet(t)
	if err != nil {
		return nil, err
	}
	r, err := sn.Search(ctx, dnas.SearchOptions{EvalBatch: pick(16, 64)})
	if err != nil {
		return nil, err
	}
	return r, r.Save(path)
}

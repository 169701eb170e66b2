// Package dnas is DiffNAS (lightweight diffusion models found by
// distillation-based, block-wise neural architecture search, arXiv
// 2311.04950) at MNIST scale: the calls a notebook or a REPL session makes,
// one per step of the method. The heavy work (layers, samplers, the
// network) lives in the subpackages nn, unet and diffusion; this package
// strings it into the method.
//
// # The teacher
//
// A teacher is a trained DDPM noise-prediction UNet (package unet) with its
// noise schedule. Presets name three sizes: "tiny" (tests, seconds),
// "small" (interactive work) and "base" (the METHOD.md teacher); the
// trained small and base teachers are committed and embedded in the binary.
//
//	teacher, err := dnas.LoadTeacherPreset("small")       // or LoadTeacher(path)
//	tr, err := dnas.NewTeacherTrainerByName("small", 1)    // train one: tr.Train(ctx, 1800)
//	x, err := teacher.SampleWith(ctx, 16, 0, dnas.DDIMSpec(50, 0))
//	dnas.SampleGrid(x, 8)                                  // shown as a picture
//	rep, err := teacher.Evaluate(ctx, dnas.EvalOptions{Samples: 500})
//
// Evaluate reports FID on the features of the project's LeNet classifier
// (not the paper's Inception FID), the fraction of samples labelled with
// confidence >= 0.9, the held-out noise loss and a sample grid.
// MeasureSnapshots draws the quality curve of a training run's snapshots;
// teacher.LossGap(ctx, 4000) compares the noise loss on test and training
// images (does the model overfit, or is it held back by its size?).
//
// # Stage 1: block-wise supernet training
//
// The supernet holds, for every searchable 3x3 conv of the teacher, one
// weight per kernel choice ({1, 3, 5} by default; optionally an inner-width
// multiplier per ResBlock too). Each block is trained alone to reproduce the
// teacher block's output from the teacher block's input, one random path
// per step:
//
//	sn, err := dnas.NewSupernet(teacher, data, dnas.SupernetOptions{})
//	err = sn.TrainAll(ctx, 300, "out/stage1")   // or TrainBlock / TrainStep, block by block
//
// # Stage 2: block-wise local search
//
// Search scores every candidate of every block on a fixed evaluation set
// and keeps, per block, the fewest MACs among the candidates whose loss is
// at most loss_scale x the loss of the teacher's own architecture inside
// the supernet:
//
//	res, err := sn.Search(ctx, dnas.SearchOptions{LossScale: 1})
//	res.BlockChart("dec1")                     // one block's loss-vs-MACs trade-off
//	sw, err := dnas.SweepLossScale(res, 1, 1.5) // the MAC saving against the tolerance
//	gl, err := dnas.GlobalSearch(res, dnas.GlobalSearchOptions{}) // the global search the paper argues against
//
// SelectBlockwise re-selects from the same candidate tables at another
// loss_scale, RandomSearch draws a random subnet of similar MACs, and
// TeacherArchitecture is the all-3x3 baseline; all are SearchResults.
//
// # Stage 3: retraining with the dynamic joint loss
//
// BuildSubnet turns a result into a standalone UNet (its MACs and
// parameters are checked against the search). A Retrainer trains it from
// scratch with L = (1-beta)·L_distill + beta·L_noise, beta following a
// JointLossSchedule (LinearRamp, CosineRamp, HardSwitch, ConstantBeta,
// NoiseOnly, DistillOnly, or any BetaFunc):
//
//	rt, err := dnas.NewRetrainer("subnet", teacher, res, data, dnas.RetrainOptions{Steps: 400})
//	err = rt.Train(ctx, 400)
//	dnas.DynamicsChart(rt.Dynamics(), "subnet") // per-block distillation losses and the noise loss
//	rep, err := rt.Evaluate(ctx, dnas.EvalOptions{})
//
// LoadModel reads a retrained subnet back from its checkpoint (as a
// *Teacher value with Role "retrained subnet": sample and evaluate it like a
// teacher). RunBetaAblation retrains one architecture under several
// schedules side by side; RedundancyStudy runs stages 1-2 on teachers of
// several widths.
//
// # The whole pipeline
//
// NewPipeline and Run do all of it with a preset's budgets, resumably, into
// a directory (what `dnas run` does); RunStage1, RunSearch, RunRetrain and
// RunEvaluate do one stage each. DescribeFile says what a checkpoint or a
// run directory holds.
//
// Every long call takes a context and stops within one step when it is
// cancelled (Ctrl-C in the REPL, the interrupt button in Jupyter), keeping
// what it trained; checkpoints are written atomically and resume exactly.
package dnas

// Package plots draws the figures of the DiffNAS project with gonum.org/v1/plot.
//
// Every constructor takes plain data (slices of float64, small structs defined
// here), checks it, and returns a *Chart: a figure that can be rendered to PNG
// or SVG bytes or saved to a file. The package deliberately knows nothing
// about package dnas (which imports plots); callers convert their search
// results and training logs into the types below.
//
// The charts:
//
//   - BlockTradeoff / TradeoffGrid: per-block loss-vs-MACs scatter of every
//     candidate architecture of the stage-2 search, with the Pareto front, the
//     baseline (teacher architecture) and the chosen candidate marked.
//   - ModelComparison: whole-model MACs against FID for the compared models.
//   - TrainingCurves / Curves: any loss curves, with optional log scale and
//     exponential-moving-average smoothing.
//   - BetaSchedules / BetaSeries: the weight beta(step) of the joint loss.
//   - DistillDynamics: per-block distillation losses and the noise loss
//     over retraining (optionally with beta underneath).
//   - SampleGrid / SampleChart: a grid of generated images.
//   - AblationChart / AblationTable: several beta schedules side by side.
//   - Table: a small table rendered as Markdown or HTML.
//
// Bad input (no data, slices of different lengths, NaN or infinite values,
// indices out of range) is reported as an error naming the offending value;
// constructors never panic on data.
//
// A Chart is an ordinary value: its panels are *plot.Plot, so a caller can
// adjust anything gonum/plot allows (axis ranges, extra plotters) before
// rendering.
package plots

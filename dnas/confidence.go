package dnas

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"dnas/dnas/eval"
	"dnas/dnas/tensor"
)

// ConfidentThreshold is the probability at or above which the classifier's
// label counts as confident in the reports' "confident" fraction.
const ConfidentThreshold = 0.9

// Verdicts holds the classifier's label and its probability for each of a
// set of images: which digits a model draws well, and which samples are the
// doubtful ones (the ones that pull the confident fraction down).
type Verdicts struct {
	Images *tensor.Tensor // the images [N,1,28,28], in the order of Labels
	Labels []uint8        // the classifier's arg-max digit per image
	Prob   []float32      // its probability
}

// Classify runs classifier c (nil => DefaultClassifier) on the images x
// [N,1,28,28] (values in [-1, 1]: generated samples or MNIST images).
func Classify(ctx context.Context, x *tensor.Tensor, c *eval.Classifier) (*Verdicts, error) {
	if c == nil {
		var err error
		if c, err = DefaultClassifier(); err != nil {
			return nil, err
		}
	}
	if x == nil {
		return nil, fmt.Errorf("dnas.Classify: no images (nil tensor); pass a report's Images or SampleImages' result")
	}
	_, probs, err := c.Embed(ctx, x)
	if err != nil {
		return nil, err
	}
	return verdictsOf(x, probs), nil
}

// verdictsOf builds the verdicts on images x from the classifier's
// probabilities probs [N,10].
func verdictsOf(x, probs *tensor.Tensor) *Verdicts {
	labels, prob := eval.Predictions(probs)
	return &Verdicts{Images: x, Labels: labels, Prob: prob}
}

// ConfidentFraction is the fraction of images labelled with probability >=
// ConfidentThreshold (the reports' "confident" figure).
func (v *Verdicts) ConfidentFraction() float64 {
	if len(v.Prob) == 0 {
		return 0
	}
	k := 0
	for _, p := range v.Prob {
		if p >= ConfidentThreshold {
			k++
		}
	}
	return float64(k) / float64(len(v.Prob))
}

// DigitVerdicts counts the images the classifier gave one digit.
type DigitVerdicts struct {
	Digit     int `json:"digit"`
	Count     int `json:"count"`     // images labelled with this digit
	Confident int `json:"confident"` // of which with probability >= ConfidentThreshold
}

// Counts is the number of images labelled as each digit (the reports'
// ClassCounts).
func (v *Verdicts) Counts() (counts [10]int) {
	for _, l := range v.Labels {
		counts[l]++
	}
	return counts
}

// ByDigit counts the images per predicted digit, and the confident ones
// among them.
func (v *Verdicts) ByDigit() [10]DigitVerdicts {
	var d [10]DigitVerdicts
	for i := range d {
		d[i].Digit = i
	}
	for i, l := range v.Labels {
		d[l].Count++
		if v.Prob[i] >= ConfidentThreshold {
			d[l].Confident++
		}
	}
	return d
}

// Table is ByDigit as a markdown table: per predicted digit, its share of
// the images, how many of them are confident, and its share of the
// doubtful images (those below ConfidentThreshold).
func (v *Verdicts) Table() string {
	d := v.ByDigit()
	n := len(v.Labels)
	doubtful := 0
	for _, r := range d {
		doubtful += r.Count - r.Confident
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| digit | images | share | confident | share of the %d doubtful |\n|---|---|---|---|---|\n", doubtful)
	pct := func(a, b int) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
	}
	for _, r := range d {
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s |\n", r.Digit, r.Count, pct(r.Count, n), pct(r.Confident, r.Count), pct(r.Count-r.Confident, doubtful))
	}
	fmt.Fprintf(&b, "| all | %d | 100%% | %s | |\n", n, pct(n-doubtful, n))
	return b.String()
}

// LeastConfident returns the indices of the n images the classifier is
// least sure about, least sure first (ties: the earlier image first).
func (v *Verdicts) LeastConfident(n int) []int {
	idx := make([]int, len(v.Prob))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v.Prob[idx[a]] < v.Prob[idx[b]] })
	return idx[:min(max(n, 0), len(idx))]
}

// DoubtfulGrid lays out the n least confident images (least sure first,
// row by row) as a picture: what the samples that miss the confident
// threshold look like.
func (v *Verdicts) DoubtfulGrid(n int) (*eval.Grid, error) {
	if v.Images == nil || len(v.Images.Shape) != 4 || v.Images.Shape[0] != len(v.Labels) {
		return nil, fmt.Errorf("dnas: these verdicts carry no images to draw (Classify keeps the images it was given)")
	}
	idx := v.LeastConfident(n)
	if len(idx) == 0 {
		return nil, fmt.Errorf("dnas: no images to draw (asked for %d of %d)", n, len(v.Labels))
	}
	const px = 28 * 28
	g := tensor.New(len(idx), 1, 28, 28)
	for k, i := range idx {
		copy(g.Data[k*px:(k+1)*px], v.Images.Data[i*px:(i+1)*px])
	}
	return SampleGrid(g, 0)
}

// Doubtful lists the n least confident images as "digit (probability)",
// in DoubtfulGrid's order.
func (v *Verdicts) Doubtful(n int) []string {
	var s []string
	for _, i := range v.LeastConfident(n) {
		s = append(s, fmt.Sprintf("%d (%.2f)", v.Labels[i], v.Prob[i]))
	}
	return s
}

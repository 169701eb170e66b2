package dnas

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"dnas/dnas/mnist"
	"dnas/dnas/tensor"
)

// Hand-made verdicts: the per-digit counts, the table, the order of the
// least confident and the grid they are drawn into.
func TestVerdictsByDigitAndDoubtful(t *testing.T) {
	x := tensor.New(5, 1, 28, 28)
	for i := range 5 {
		x.Data[i*784] = float32(i) / 10 // tell the images apart
	}
	v := &Verdicts{Images: x, Labels: []uint8{4, 9, 4, 1, 9}, Prob: []float32{0.95, 0.5, 0.6, 0.99, 0.5}}
	if got := v.ConfidentFraction(); got != 0.4 {
		t.Fatalf("confident fraction %g, want 0.4", got)
	}
	d := v.ByDigit()
	if d[4] != (DigitVerdicts{4, 2, 1}) || d[9] != (DigitVerdicts{9, 2, 0}) || d[1] != (DigitVerdicts{1, 1, 1}) || d[0].Count != 0 {
		t.Fatalf("by digit: %+v", d)
	}
	// Ties (0.5, 0.5) keep the earlier image first.
	if got := v.LeastConfident(3); !reflect.DeepEqual(got, []int{1, 4, 2}) {
		t.Fatalf("least confident: %v, want [1 4 2]", got)
	}
	if got := v.LeastConfident(99); len(got) != 5 {
		t.Fatalf("asking for more than there are: %v", got)
	}
	if got := strings.Join(v.Doubtful(2), ", "); got != "9 (0.50), 9 (0.50)" {
		t.Fatalf("doubtful: %q", got)
	}
	tab := v.Table()
	for _, want := range []string{"share of the 3 doubtful", "| 9 | 2 | 40.0% | 0.0% | 66.7% |", "| 4 | 2 | 40.0% | 50.0% | 33.3% |", "| all | 5 | 100% | 40.0% |"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	g, err := v.DoubtfulGrid(2)
	if err != nil {
		t.Fatal(err)
	}
	if b := g.Img.Bounds(); b.Dx() < 2*28 || b.Dy() < 28 {
		t.Fatalf("grid of 2 is %v", b)
	}
	if _, err := (&Verdicts{Labels: []uint8{1}, Prob: []float32{1}}).DoubtfulGrid(1); err == nil {
		t.Fatal("a grid of verdicts without images should be an error")
	}
}

// On real MNIST digits the committed classifier is confident about nearly
// all of them, and its labels are the true ones.
func TestClassifyRealDigits(t *testing.T) {
	test, err := mnist.LoadTest()
	if err != nil {
		t.Fatal(err)
	}
	x, labels := test.First(500)
	v, err := Classify(context.Background(), x, nil)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i, l := range v.Labels {
		if int(l) == int(labels[i]) {
			right++
		}
	}
	if right < 490 || v.ConfidentFraction() < 0.95 {
		t.Fatalf("%d of 500 right, %.3f confident", right, v.ConfidentFraction())
	}
	n := 0
	for _, r := range v.ByDigit() {
		n += r.Count
	}
	if n != 500 {
		t.Fatalf("by digit counts %d images, want 500", n)
	}
	if _, err := Classify(context.Background(), nil, nil); err == nil {
		t.Fatal("Classify(nil) should be an error")
	}
}

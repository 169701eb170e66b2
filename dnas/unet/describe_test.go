package unet

import (
	"regexp"
	"strings"
	"testing"
)

var pointer = regexp.MustCompile(`0x[0-9a-f]{4}`)

func TestFormatCount(t *testing.T) {
	for n, want := range map[int64]string{7: "7", 999: "999", 1234: "1.2k", 280231: "280.2k", 47930000: "47.93M", 1_200_000_000: "1.20G", -2500: "-2.5k"} {
		if got := FormatCount(n); got != want {
			t.Errorf("FormatCount(%d) = %q, want %q", n, got, want)
		}
	}
}

// The one-line descriptions the REPL prints for networks, blocks and configs.
func TestStrings(t *testing.T) {
	u, err := New(baseConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, got string, wants ...string) {
		t.Helper()
		if pointer.MatchString(got) {
			t.Errorf("%s: %q prints a pointer", what, got)
		}
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", what, got, w)
			}
		}
	}
	// The reference network: 1,623,169 parameters, 277.2M MACs.
	check("UNet", u.String(), "UNet (ch 32, mult [1 2 2], 2 res/level, attn [7], dropout 0.1)", "1.62M params", "277.20M MACs/sample", "8 blocks")
	if strings.Contains(u.String(), "kernels") {
		t.Errorf("an all-3x3 network lists its kernels: %q", u)
	}
	check("Block", u.Block("dec1").String(), "block dec1 (decoder, level 1)", "skips in", "kernels [3 3 3 3 3 3]", "MACs/sample")
	if s := u.Block("head").String(); strings.Contains(s, "kernels") || strings.Contains(s, "candidates") {
		t.Errorf("the head has no searchable convs: %q", s)
	}

	cfg := tinyConfig()
	cfg.KernelChoices = []int{1, 3, 5}
	cfg.WidthChoices = []float64{0.5, 1}
	s, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	ks := s.Kernels()
	ks[0] = 5
	if err := s.SetKernels(ks); err != nil {
		t.Fatal(err)
	}
	ws := s.Widths()
	ws[1] = 0.5
	if err := s.SetWidths(ws); err != nil {
		t.Fatal(err)
	}
	s.SetTraining(true)
	check("supernet", s.String(), "supernet UNet", "kernel choices [1 3 5]", "width choices [0.5 1]", "kernels [5 3", "widths [1 0.5", "training mode")
	check("supernet block", s.Blocks()[0].String(), "kernels [5 3]", "candidates")
	check("Config", cfg.String(), "1x8x8 input", "kernel choices [1 3 5]")
	check("ConvChoice", s.SearchableConvs()[0].String(), "kernel 5 of [1 3 5]")
	check("narrow ConvChoice", s.SearchableConvs()[2].String(), "a slice of the")
	check("ResBlock", s.ResBlocks()[1].String(), "(width 0.5 of [0.5 1])", "kernels 3 and 3")
	check("plain ResBlock", u.ResBlocks()[0].String(), "ResBlock", "inner 32, kernels 3 and 3", "dropout 0.1")
	var nilNet *UNet
	check("nil UNet", nilNet.String(), "nil")
}

package unet

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// The String methods here describe a network in one line: what the REPL and
// a notebook print for a cell whose value is a UNet, a Block or a Config,
// instead of a dump of their fields and pointers.

// FormatCount writes a parameter or MAC count the way the project's tables
// do: 280.2k, 47.93M, 1.20G.
func FormatCount(n int64) string {
	f := float64(n)
	switch {
	case math.Abs(f) >= 1e9:
		return fmt.Sprintf("%.2fG", f/1e9)
	case math.Abs(f) >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case math.Abs(f) >= 1e3:
		return fmt.Sprintf("%.1fk", f/1e3)
	}
	return fmt.Sprintf("%d", n)
}

// String describes the architecture: "ch 16, mult [1 2 2], 1 res/level,
// attn [7], dropout 0.1", then the kernels and widths when they are not the
// plain 3x3, full-width ones, and the choices of a supernet.
func (c Config) String() string {
	s := fmt.Sprintf("ch %d, mult %v, %d res/level, attn %v, dropout %g", c.Ch, c.Mult, c.NumResBlocks, c.AttnRes, c.Dropout)
	if c.InChannels != 1 || c.Resolution != 28 {
		s = fmt.Sprintf("%dx%dx%d input, ", c.InChannels, c.Resolution, c.Resolution) + s
	}
	if c.Kernels != nil && slices.ContainsFunc(c.Kernels, func(k int) bool { return k != 3 }) {
		s += fmt.Sprintf(", kernels %v", c.Kernels)
	}
	if c.KernelChoices != nil {
		s += fmt.Sprintf(", kernel choices %v", c.KernelChoices)
	}
	if c.Widths != nil && slices.ContainsFunc(c.Widths, func(w float64) bool { return w != 1 }) {
		s += fmt.Sprintf(", widths %v", c.Widths)
	}
	if c.WidthChoices != nil {
		s += fmt.Sprintf(", width choices %v", c.WidthChoices)
	}
	return s
}

// String describes the network: its architecture, size and cost, and, for
// a supernet, the active path.
func (u *UNet) String() string {
	if u == nil {
		return "<nil>"
	}
	c := u.Config
	kind := "UNet"
	if c.KernelChoices != nil || c.WidthChoices != nil {
		kind = "supernet UNet"
	}
	c.Kernels, c.Widths = nil, nil // the active ones are printed below
	s := fmt.Sprintf("%s (%s): %s params, %s MACs/sample, %d blocks", kind, c, FormatCount(u.NumParams()), FormatCount(u.MACs()), len(u.blocks))
	if ks := u.Kernels(); slices.ContainsFunc(ks, func(k int) bool { return k != 3 }) || c.KernelChoices != nil {
		s += fmt.Sprintf(", kernels %v", ks)
	}
	if ws := u.Widths(); slices.ContainsFunc(ws, func(w float64) bool { return w != 1 }) {
		s += fmt.Sprintf(", widths %v", ws)
	}
	if u.training {
		s += ", training mode"
		if u.Config.Dropout > 0 {
			s += " (dropout on)"
		}
	}
	return s
}

// String describes the block: where it sits, its shapes, its kernels and
// its size and cost.
func (b *Block) String() string {
	if b == nil {
		return "<nil>"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "block %s (%s, level %d): %v -> %v", b.Name, b.Kind, b.Level, b.InShape, b.OutShape)
	if len(b.SkipShapes) > 0 {
		what := "skips out"
		if b.Kind == Decoder {
			what = "skips in"
		}
		fmt.Fprintf(&sb, ", %s %v", what, b.SkipShapes)
	}
	if len(b.convs) > 0 {
		fmt.Fprintf(&sb, ", kernels %v", b.Kernels())
	}
	if ws := b.Widths(); slices.ContainsFunc(ws, func(w float64) bool { return w != 1 }) {
		fmt.Fprintf(&sb, ", widths %v", ws)
	}
	if n := b.NumCandidates(); n > 1 {
		fmt.Fprintf(&sb, ", %d candidates", n)
	}
	fmt.Fprintf(&sb, ": %s params, %s MACs/sample", FormatCount(b.NumParams()), FormatCount(b.MACs()))
	return sb.String()
}

// String describes the searchable conv: its channels, its choices and the
// active one.
func (c *ConvChoice) String() string {
	if c == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("ConvChoice %s(%d -> %d, kernel %d", c.Name, c.cin, c.cout, c.Kernel())
	if len(c.Kernels) > 1 {
		s += fmt.Sprintf(" of %v", c.Kernels)
	}
	if full := c.Convs[c.Active]; full.Cin != c.cin || full.Cout != c.cout {
		s += fmt.Sprintf(", a slice of the %d -> %d weights", full.Cin, full.Cout)
	}
	return s + ")"
}

// String describes the ResBlock: channels, inner width and kernels.
func (r *ResBlock) String() string {
	if r == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("ResBlock %s(%d -> %d, inner %d", r.Name, r.Cin, r.Cout, r.inner)
	if len(r.WidthChoices) > 1 || r.Width() != 1 {
		s += fmt.Sprintf(" (width %g of %v)", r.Width(), r.WidthChoices)
	}
	s += fmt.Sprintf(", kernels %d and %d", r.Conv1.Kernel(), r.Conv2.Kernel())
	if r.Shortcut != nil {
		s += ", 1x1 shortcut"
	}
	if r.Dropout > 0 {
		s += fmt.Sprintf(", dropout %g", r.Dropout)
	}
	return s + ")"
}

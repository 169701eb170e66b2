// Package unet is the DDPM noise-prediction UNet that DiffNAS searches, built
// from a Config, with the block decomposition of the method.
//
// The architecture is exactly that of shared/bench/torch_unet.py (the
// "simple" DDPM model):
//
//	temb  = Linear(4ch, 4ch)(SiLU(Linear(ch, 4ch)(sinusoidal(t, ch))))
//	stem  = Conv3x3(in -> ch)
//	encoder level i (channels ch·Mult[i]): NumResBlocks ResBlocks, each
//	        followed by attention when the resolution is in AttnRes; then a
//	        strided 3x3 conv (downsample) unless it is the last level
//	middle: ResBlock, attention, ResBlock
//	decoder level i (deepest first): NumResBlocks+1 ResBlocks, each fed the
//	        concatenation of the running feature and one encoder skip
//	        tensor (+ attention as in the encoder); then nearest 2x upsample
//	        and a 3x3 conv unless it is level 0
//	head  = Conv3x3(GroupNorm+SiLU)(c -> in)
//	ResBlock(x, temb) = shortcut(x) + conv2(dropout(SiLU(GN(conv1(SiLU(GN(x))) + Linear(SiLU(temb))))))
//	        with a 1x1 conv shortcut when the channel count changes.
//
// The encoder pushes a skip tensor after the stem, after every ResBlock (or
// the attention that follows it) and after every downsample; the decoder
// pops one per ResBlock.
//
// Searchable: the two convs of every ResBlock (conv1, conv2). Each is a
// ConvChoice holding one Conv2d per kernel size of Config.KernelChoices (a
// supernet when there are several) and the index of the active one.
//
// Beyond the paper (METHOD.md, open question 2), a ResBlock's inner width
// (conv1's output channels = the time projection's outputs = Norm2's
// channels = conv2's input channels) can be a fraction of Cout: Config.Widths
// builds a narrow network, Config.WidthChoices a supernet that keeps the
// full-width weights and slices them to the active width (see InnerChannels
// for the rounding rule and ResBlock for the slicing).
package unet

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Config describes a UNet. Its JSON form is saved with checkpoints.
type Config struct {
	InChannels   int     `json:"in_channels"`    // image channels (1 for MNIST)
	Resolution   int     `json:"resolution"`     // image height = width (28 for MNIST)
	Ch           int     `json:"ch"`             // base channel count (even: it is the time-embedding width)
	Mult         []int   `json:"mult"`           // channel multiplier per resolution level
	NumResBlocks int     `json:"num_res_blocks"` // ResBlocks per encoder level (the decoder has one more)
	AttnRes      []int   `json:"attn_res"`       // resolutions (e.g. 7) that get self-attention
	Dropout      float32 `json:"dropout"`        // dropout probability inside ResBlocks (training only)
	Groups       int     `json:"groups"`         // GroupNorm groups; 0 => min(8, channels), as torch_unet.py

	// Kernels gives the kernel size of every searchable conv, in the order of
	// UNet.SearchableConvs (block after block, ResBlock after ResBlock,
	// conv1 then conv2); nil => 3 everywhere.
	Kernels []int `json:"kernels,omitempty"`
	// KernelChoices lists the kernel sizes each searchable conv holds weights
	// for; nil => just the conv's kernel from Kernels (a plain network). A
	// supernet uses {1, 3, 5}.
	KernelChoices []int `json:"kernel_choices,omitempty"`

	// Widths gives the inner-width multiplier of every ResBlock, in
	// UNet.ResBlocks order (block after block, ResBlock after ResBlock: the
	// ResBlock of searchable convs 2i and 2i+1); nil => 1 everywhere (the
	// full width). Each multiplier is in (0, 1]; the inner width is
	// InnerChannels(Cout, groups, w) channels.
	Widths []float64 `json:"widths,omitempty"`
	// WidthChoices lists the multipliers every ResBlock of a supernet can
	// run at; the block then holds full-width weights and a narrower width
	// runs on a slice of them. nil => each ResBlock is built at its Widths
	// entry with weights of exactly that size (a plain, genuinely narrower
	// network). Off (nil) by default.
	WidthChoices []float64 `json:"width_choices,omitempty"`
}

// InnerChannels is the rule that turns a width multiplier into channels.
// A ResBlock whose full inner width is c channels, normalised by Norm2 in
// groups GroupNorm groups of c/groups channels each, runs at multiplier w
// with the first n groups, n = round(w·groups) clamped to [1, groups]:
//
//	channels = n · c/groups,  sliceGroups = n
//
// The group size stays the same, so the groups of a narrow block are
// exactly the first groups of the full-width GroupNorm (slicing commutes
// with the normalisation) and the group count always divides the channels.
// For example c = 32 in 8 groups of 4: w = 0.5 -> 16 channels in 4 groups,
// w = 0.75 -> 24 in 6. Rounding is half away from zero; when two
// multipliers round to the same n they describe the same architecture.
func InnerChannels(c, groups int, w float64) (channels, sliceGroups int) {
	n := int(math.Round(w * float64(groups)))
	n = max(1, min(groups, n))
	return n * (c / groups), n
}

// innerOf applies InnerChannels to a ResBlock with cout output channels.
func (c Config) innerOf(cout int, w float64) (channels, groups int) {
	return InnerChannels(cout, c.groupsFor(cout), w)
}

// widthAt returns the width multiplier of ResBlock i (1 when Widths is nil).
func (c Config) widthAt(i int) float64 {
	if c.Widths == nil {
		return 1
	}
	return c.Widths[i]
}

// widthChoicesAt returns the multipliers ResBlock i can run at.
func (c Config) widthChoicesAt(i int) []float64 {
	if c.WidthChoices == nil {
		return []float64{c.widthAt(i)}
	}
	return c.WidthChoices
}

// NumResBlocksTotal is the number of ResBlocks: NumResBlocks per encoder
// level, NumResBlocks+1 per decoder level and 2 in the middle.
func (c Config) NumResBlocksTotal() int {
	return len(c.Mult)*c.NumResBlocks + 2 + len(c.Mult)*(c.NumResBlocks+1)
}

// NumSearchableConvs is the number of searchable convs: two per ResBlock
// (34 for the default MNIST teacher).
func (c Config) NumSearchableConvs() int { return 2 * c.NumResBlocksTotal() }

// groupsFor returns the GroupNorm group count for c channels.
func (cfg Config) groupsFor(c int) int {
	if cfg.Groups > 0 {
		return cfg.Groups
	}
	return min(8, c)
}

// kernelAt returns the kernel of searchable conv i (3 when Kernels is nil).
func (c Config) kernelAt(i int) int {
	if c.Kernels == nil {
		return 3
	}
	return c.Kernels[i]
}

// choicesAt returns the kernel sizes searchable conv i holds weights for.
func (c Config) choicesAt(i int) []int {
	if c.KernelChoices == nil {
		return []int{c.kernelAt(i)}
	}
	return c.KernelChoices
}

// Validate checks that the Config describes a buildable UNet and says what
// to change when it does not.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.InChannels <= 0 {
		bad("in_channels %d: want a positive channel count (1 for MNIST)", c.InChannels)
	}
	if c.Ch <= 0 || c.Ch%2 != 0 {
		bad("ch %d: want a positive even base width (it is also the sinusoidal embedding width)", c.Ch)
	}
	if len(c.Mult) == 0 {
		bad("mult is empty: want one channel multiplier per resolution level, e.g. [1, 2, 2]")
	}
	for i, m := range c.Mult {
		if m <= 0 {
			bad("mult[%d] = %d: multipliers must be positive", i, m)
		}
	}
	if c.NumResBlocks <= 0 {
		bad("num_res_blocks %d: want at least 1", c.NumResBlocks)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		bad("dropout %v: want a probability in [0, 1)", c.Dropout)
	}
	if c.Groups < 0 {
		bad("groups %d: want 0 (min(8, channels)) or a positive count", c.Groups)
	}
	if c.Resolution <= 0 {
		bad("resolution %d: want a positive image size", c.Resolution)
	}
	if len(errs) > 0 {
		return fmt.Errorf("unet.Config: %w", errors.Join(errs...))
	}
	// Every downsampled level must upsample back to the same size, so the
	// skip tensors fit: the resolution must be even before each downsample.
	r := c.Resolution
	for i := range len(c.Mult) - 1 {
		if r%2 != 0 {
			bad("resolution %d: level %d is %dx%d, odd, so its 2x downsample would not upsample back to the skip's size; use a resolution divisible by %d", c.Resolution, i, r, r, 1<<(len(c.Mult)-1))
			break
		}
		r /= 2
	}
	chans := []int{c.Ch}
	for _, m := range c.Mult {
		chans = append(chans, c.Ch*m)
	}
	for _, ch := range chans {
		if g := c.groupsFor(ch); ch%g != 0 {
			bad("groups: %d GroupNorm groups do not divide %d channels; choose ch, mult and groups so that every channel count is divisible", g, ch)
			break
		}
	}
	if c.KernelChoices != nil {
		if len(c.KernelChoices) == 0 {
			bad("kernel_choices is empty: want nil (a plain network) or sizes such as [1, 3, 5]")
		}
		for i, k := range c.KernelChoices {
			if k <= 0 || k%2 == 0 {
				bad("kernel_choices[%d] = %d: kernel sizes must be odd and positive", i, k)
			}
			if slices.Index(c.KernelChoices, k) != i {
				bad("kernel_choices lists %d twice", k)
			}
		}
	}
	if n := c.NumSearchableConvs(); c.Kernels != nil && len(c.Kernels) != n {
		bad("kernels has %d sizes, but this network has %d searchable convs (2 per ResBlock)", len(c.Kernels), n)
	} else {
		for i := range n {
			k := c.kernelAt(i)
			if k <= 0 || k%2 == 0 {
				bad("kernels[%d] = %d: kernel sizes must be odd and positive", i, k)
				break
			}
			if c.KernelChoices != nil && !slices.Contains(c.KernelChoices, k) {
				bad("kernels[%d] = %d is not one of kernel_choices %v", i, k, c.KernelChoices)
				break
			}
		}
	}
	validMult := func(w float64) bool { return w > 0 && w <= 1 } // false for NaN
	if c.WidthChoices != nil {
		if len(c.WidthChoices) == 0 {
			bad("width_choices is empty: want nil (no width search) or multipliers such as [0.5, 0.75, 1]")
		}
		for i, w := range c.WidthChoices {
			if !validMult(w) {
				bad("width_choices[%d] = %v: a width multiplier must be in (0, 1]", i, w)
			}
			if slices.Index(c.WidthChoices, w) != i {
				bad("width_choices lists %v twice", w)
			}
		}
	}
	if c.Widths == nil && len(c.WidthChoices) > 0 && !slices.Contains(c.WidthChoices, 1) {
		bad("widths is nil (every ResBlock starts at full width, 1), which is not one of width_choices %v: add 1 to the choices or give the starting widths", c.WidthChoices)
	}
	if n := c.NumResBlocksTotal(); c.Widths != nil && len(c.Widths) != n {
		bad("widths has %d multipliers, but this network has %d ResBlocks (one multiplier each)", len(c.Widths), n)
	} else {
		for i, w := range c.Widths {
			if !validMult(w) {
				bad("widths[%d] = %v: a width multiplier must be in (0, 1] (1 is the full width)", i, w)
				break
			}
			if c.WidthChoices != nil && !slices.Contains(c.WidthChoices, w) {
				bad("widths[%d] = %v is not one of width_choices %v", i, w, c.WidthChoices)
				break
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("unet.Config: %w", errors.Join(errs...))
	}
	return nil
}

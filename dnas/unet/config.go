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
package unet

import (
	"errors"
	"fmt"
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
	if len(errs) > 0 {
		return fmt.Errorf("unet.Config: %w", errors.Join(errs...))
	}
	return nil
}

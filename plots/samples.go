package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// gridGap is the width in pixels of the dark lines between grid tiles.
const gridGap = 2

// SampleGrid tiles images into one picture, cols per row (cols <= 0 picks a
// near-square grid). Each image is h*w grey values (one channel) or 3*h*w
// values in channel-major RGB order (as a [3,h,w] tensor is laid out), in
// [-1, 1] as the diffusion model produces them; values outside are clipped
// and -1 is black. Tiles are separated by 2-pixel dark grey lines. The
// result is *image.Gray for grey input and *image.RGBA for colour, at one
// pixel per value; use Upscale to enlarge it.
func SampleGrid(images [][]float32, h, w, cols int) (image.Image, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("plots: SampleGrid needs at least one image")
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("plots: SampleGrid image size %dx%d must be positive (28x28 for MNIST)", h, w)
	}
	channels := 0
	switch len(images[0]) {
	case h * w:
		channels = 1
	case 3 * h * w:
		channels = 3
	default:
		return nil, fmt.Errorf("plots: SampleGrid image 0 has %d values; a %dx%d image needs %d (grey) or %d (RGB)", len(images[0]), h, w, h*w, 3*h*w)
	}
	for i, im := range images {
		if len(im) != channels*h*w {
			return nil, fmt.Errorf("plots: SampleGrid image %d has %d values but image 0 has %d: all images must have the same size", i, len(im), len(images[0]))
		}
		for k, v := range im {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("plots: SampleGrid image %d has %v at value %d: a sampler produced non-finite pixels (check the model and the noise schedule)", i, v, k)
			}
		}
	}
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(len(images)))))
	}
	cols = min(cols, len(images))
	rows := (len(images) + cols - 1) / cols
	W := cols*w + (cols+1)*gridGap
	H := rows*h + (rows+1)*gridGap
	rect := image.Rect(0, 0, W, H)
	var set func(x, y int, c []uint8)
	var out image.Image
	if channels == 1 {
		g := image.NewGray(rect)
		for i := range g.Pix {
			g.Pix[i] = 64
		}
		set = func(x, y int, c []uint8) { g.Pix[y*g.Stride+x] = c[0] }
		out = g
	} else {
		g := image.NewRGBA(rect)
		for i := range g.Pix {
			g.Pix[i] = 64
			if i%4 == 3 {
				g.Pix[i] = 255
			}
		}
		set = func(x, y int, c []uint8) {
			o := y*g.Stride + 4*x
			g.Pix[o], g.Pix[o+1], g.Pix[o+2] = c[0], c[1], c[2]
		}
		out = g
	}
	px := make([]uint8, channels)
	for i, im := range images {
		x0 := gridGap + (i%cols)*(w+gridGap)
		y0 := gridGap + (i/cols)*(h+gridGap)
		for y := range h {
			for x := range w {
				for ch := range channels {
					px[ch] = toByte(im[ch*h*w+y*w+x])
				}
				set(x0+x, y0+y, px)
			}
		}
	}
	return out, nil
}

// toByte maps [-1, 1] to [0, 255], clipping.
func toByte(v float32) uint8 {
	u := (float64(v) + 1) * 127.5
	return uint8(math.Round(math.Max(0, math.Min(255, u))))
}

// Upscale enlarges img k times with nearest-neighbour sampling, so small
// digits stay sharp instead of being blurred by interpolation.
func Upscale(img image.Image, k int) image.Image {
	if k <= 1 {
		return img
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := range b.Dy() {
		for x := range b.Dx() {
			c := color.RGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			for dy := range k {
				row := (y*k + dy) * out.Stride
				for dx := range k {
					o := row + 4*(x*k+dx)
					out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = c.R, c.G, c.B, c.A
				}
			}
		}
	}
	return out
}

// SampleChart shows a SampleGrid under a title, enlarged (nearest
// neighbour) to about 560 pixels across at DefaultDPI so 28x28 digits are
// readable in a notebook.
func SampleChart(title string, images [][]float32, h, w, cols int) (*Chart, error) {
	grid, err := SampleGrid(images, h, w, cols)
	if err != nil {
		return nil, err
	}
	b := grid.Bounds()
	k := max(1, 560/max(b.Dx(), b.Dy()))
	big := Upscale(grid, k)
	p := plot.New()
	p.HideAxes()
	p.X.Padding, p.Y.Padding = 0, 0
	bw, bh := float64(big.Bounds().Dx()), float64(big.Bounds().Dy())
	p.Add(plotter.NewImage(big, 0, 0, bw, bh))
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, bw, 0, bh
	c := &Chart{P: p, Title: title}
	inch := func(px float64) vg.Length { return vg.Length(px/float64(DefaultDPI)) * vg.Inch }
	c.Width = inch(bw) + 2*margin
	c.Height = inch(bh) + 2*margin
	if title != "" {
		c.Height += textStyle(titleSize, true).Height(title) + margin
		if tw := textStyle(titleSize, true).Width(title) + 4*margin; tw > c.Width {
			// Widen the x range by the extra width so the image keeps
			// one data unit per pixel and is not stretched.
			extra := float64((tw-c.Width)/vg.Inch) * DefaultDPI
			p.X.Min, p.X.Max = -extra/2, bw+extra/2
			c.Width = tw
		}
	}
	return c, nil
}

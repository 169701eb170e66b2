package eval

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"dnas/dnas/checkpoint"
	"dnas/dnas/tensor"
)

// Grid is a picture of a batch of images laid out in rows. It has a PNG
// method, so the dnas REPL and notebook kernel display it as an image.
type Grid struct {
	Img *image.Gray

	n, cols, h, w int // what NewGrid laid out (zero for a Grid made from an image)
}

// NewGrid lays out the images x [N,1,H,W] (pixel values in [-1, 1], clipped)
// in a grid of cols columns (0 => about square) with a 2-pixel gap, each
// image magnified scale times (0 => 1).
func NewGrid(x *tensor.Tensor, cols, scale int) (*Grid, error) {
	if x == nil {
		return nil, fmt.Errorf("eval.NewGrid: no images (nil tensor): pass samples [N,1,H,W], e.g. teacher.Sample's")
	}
	if len(x.Shape) != 4 || x.Shape[1] != 1 || x.Shape[0] == 0 {
		return nil, fmt.Errorf("eval.NewGrid: want grey images [N,1,H,W] with N >= 1, got shape %v", x.Shape)
	}
	n, _, h, w := x.NCHW()
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	if scale <= 0 {
		scale = 1
	}
	rows := (n + cols - 1) / cols
	const gap = 2
	cw, ch := w*scale+gap, h*scale+gap
	img := image.NewGray(image.Rect(0, 0, cols*cw+gap, rows*ch+gap))
	for i := range img.Pix {
		img.Pix[i] = 64 // dark grey frame between digits
	}
	for k := 0; k < n; k++ {
		ox, oy := gap+(k%cols)*cw, gap+(k/cols)*ch
		px := x.Sample(k)
		for y := 0; y < h*scale; y++ {
			for xx := 0; xx < w*scale; xx++ {
				v := px[(y/scale)*w+xx/scale]
				g := (min(max(v, -1), 1) + 1) * 127.5
				img.SetGray(ox+xx, oy+y, color.Gray{Y: uint8(g + 0.5)})
			}
		}
	}
	return &Grid{Img: img, n: n, cols: cols, h: h, w: w}, nil
}

// String describes the grid in words: what a terminal without pictures, or
// a notebook's text/plain representation, shows instead of the image.
func (g *Grid) String() string {
	if g == nil {
		return "<nil>"
	}
	if g.Img == nil {
		return "image grid (empty)"
	}
	b := g.Img.Bounds()
	if g.n == 0 {
		return fmt.Sprintf("image grid, %dx%d px", b.Dx(), b.Dy())
	}
	rows := (g.n + g.cols - 1) / g.cols
	return fmt.Sprintf("image grid: %d images of %dx%d, %d row%s of %d, %dx%d px",
		g.n, g.h, g.w, rows, plural(rows), g.cols, b.Dx(), b.Dy())
}

// PNG encodes the grid as PNG bytes.
func (g *Grid) PNG() ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, g.Img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Save writes the grid as a PNG file (atomically).
func (g *Grid) Save(path string) error {
	data, err := g.PNG()
	if err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(path, data)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

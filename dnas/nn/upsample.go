package nn

// Upsample2x doubles height and width by repeating each pixel (nearest neighbour).
//
//	x [N, C, H, W] -> y [N, C, 2H, 2W],  y[n,c,i,j] = x[n,c,i/2,j/2]
//	backward: dx[n,c,i,j] = Σ of the 2x2 block dy[n,c,2i:2i+2,2j:2j+2]
//	MACs: 0
//
// This is torch.nn.Upsample(scale_factor=2, mode="nearest").

import "dnas/dnas/tensor"

// Upsample2x is nearest-neighbour 2x upsampling; the zero value is ready to use.
type Upsample2x struct {
	Name string

	x, y, dx, dy *tensor.Tensor
	h, w         int
	fwd, bwd     func(lo, hi int)
}

// Params returns nil.
func (u *Upsample2x) Params() []*Param { return nil }

// MACs is 0.
func (u *Upsample2x) MACs(in []int) int64 { return 0 }

// Forward returns the 2x nearest upsampling of x [N, C, H, W].
func (u *Upsample2x) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 {
		shapePanic(u.Name, "Upsample2x.Forward", x.Shape, "a 4-D [N, C, H, W] tensor")
	}
	if u.fwd == nil {
		u.fwd, u.bwd = u.forwardRange, u.backwardRange
	}
	n, c, h, w := x.NCHW()
	u.x, u.h, u.w = x, h, w
	u.y = ensureDims(u.y, n, c, 2*h, 2*w)
	tensor.ParallelFor(n*c, 4*h*w, u.fwd)
	return u.y
}

func (u *Upsample2x) forwardRange(lo, hi int) {
	h, w := u.h, u.w
	for p := lo; p < hi; p++ {
		x := u.x.Data[p*h*w : (p+1)*h*w]
		y := u.y.Data[p*4*h*w : (p+1)*4*h*w]
		for i := range h {
			row := y[2*i*2*w : (2*i+1)*2*w]
			xs := x[i*w : (i+1)*w]
			for j, v := range xs {
				row[2*j] = v
				row[2*j+1] = v
			}
			copy(y[(2*i+1)*2*w:(2*i+2)*2*w], row)
		}
	}
}

// Backward sums each 2x2 block of dy [N, C, 2H, 2W] into dx [N, C, H, W].
func (u *Upsample2x) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if u.x == nil {
		panic("nn: Upsample2x.Backward " + u.Name + " called before Forward")
	}
	if !tensor.SameShape(dy.Shape, u.y.Shape) {
		shapePanic(u.Name, "Upsample2x.Backward", dy.Shape, "%v (the shape Forward returned)", u.y.Shape)
	}
	u.dy = dy
	u.dx = tensor.Ensure(u.dx, u.x.Shape...)
	tensor.ParallelFor(u.x.Shape[0]*u.x.Shape[1], 4*u.h*u.w, u.bwd)
	u.dy = nil
	return u.dx
}

func (u *Upsample2x) backwardRange(lo, hi int) {
	h, w := u.h, u.w
	for p := lo; p < hi; p++ {
		dx := u.dx.Data[p*h*w : (p+1)*h*w]
		dy := u.dy.Data[p*4*h*w : (p+1)*4*h*w]
		for i := range h {
			r0 := dy[2*i*2*w : (2*i+1)*2*w]
			r1 := dy[(2*i+1)*2*w : (2*i+2)*2*w]
			d := dx[i*w : (i+1)*w]
			for j := range d {
				d[j] = (r0[2*j] + r0[2*j+1]) + (r1[2*j] + r1[2*j+1])
			}
		}
	}
}

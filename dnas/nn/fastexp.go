package nn

import "math"

// fastExp is e^x in float32 to about 2 ulp, several times cheaper than
// math.Exp (which works in float64 and handles cases we never meet). It is the
// exponential of SiLU and of the attention softmax.
//
// Method: x = k*ln2 + r with |r| <= ln2/2, e^r by a degree-6 Taylor/Horner
// polynomial (truncation error < 2e-8 relative), then 2^k by building the
// float32 exponent bits directly. Inputs are clamped to [-87, 88] so the
// result stays a normal float32 (e^-87 ≈ 1.6e-38, e^88 ≈ 1.65e38); NaN stays NaN.
func fastExp(x float32) float32 {
	if x != x {
		return x
	}
	if x > 88 {
		x = 88
	} else if x < -87 {
		x = -87
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125 // ln2 split so k*ln2hi is exact in float32
		ln2lo = 1.42860682030941723212e-6
	)
	kf := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - kf*ln2hi - kf*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(kf)+127)<<23)
}

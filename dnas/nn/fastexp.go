package nn

import "math"

// fastExp is e^x in float32 to a few ulp, several times cheaper than
// math.Exp (which works in float64 and handles cases we never meet). It is the
// exponential of SiLU and of the attention softmax, and small enough for the
// compiler to inline into their loops.
//
// Method: x = k*ln2 + r with |r| <= ln2/2, e^r by a degree-6 Taylor/Horner
// polynomial (truncation error < 2e-8 relative), then 2^k by building the
// float32 exponent bits directly. k = round(x*log2(e)) uses the 1.5*2^23
// trick: adding and subtracting it rounds a float32 to an integer (Go never
// reassociates float arithmetic, so the pair is not folded away). Inputs are
// clamped to [-87, 88], so the result stays a normal float32 (e^-87 ≈ 1.6e-38,
// e^88 ≈ 1.65e38); NaN stays NaN (min and max propagate it).
func fastExp(x float32) float32 {
	x = min(max(x, -87), 88)
	kf := (x*1.44269504 + 12582912) - 12582912
	r := x - kf*0.693145751953125 - kf*1.42860682030941723212e-6
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(kf)+127)<<23)
}

package nn

// Slice kernels of the normalisation, activation and softmax loops: each runs
// the AVX2 kernel of vector_amd64.s on the largest multiple of 8 elements
// when the CPU has it, and a Go loop on the rest (or on everything).

// vexpShift sets x = e^(x-m) elementwise and returns the sum of the results.
func vexpShift(x []float32, m float32) float32 {
	var s float32
	if v := len(x) &^ 7; useAVX2 && v > 0 {
		s = expShiftAVX2(&x[0], v, m)
		x = x[v:]
	}
	for i, xv := range x {
		e := fastExp(xv - m)
		x[i] = e
		s += e
	}
	return s
}

// vsum returns Σ x.
func vsum(x []float32) float32 {
	var s float32
	if v := len(x) &^ 7; useAVX2 && v > 0 {
		s = sumAVX2(&x[0], v)
		x = x[v:]
	}
	return s + Sum(x)
}

// vsqDevSum returns Σ (x-m)².
func vsqDevSum(x []float32, m float32) float32 {
	var s float32
	if v := len(x) &^ 7; useAVX2 && v > 0 {
		s = sqDevSumAVX2(&x[0], v, m)
		x = x[v:]
	}
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		d0, d1 := x[i]-m, x[i+1]-m
		s0 += d0 * d0
		s1 += d1 * d1
	}
	for ; i < len(x); i++ {
		d := x[i] - m
		s0 += d * d
	}
	return s + s0 + s1
}

// vaffine writes y = x·a + b.
func vaffine(x, y []float32, a, b float32) {
	y = y[:len(x)]
	if v := len(x) &^ 7; useAVX2 && v > 0 {
		affineAVX2(&x[0], &y[0], v, a, b)
		x, y = x[v:], y[v:]
	}
	for i, xv := range x {
		y[i] = xv*a + b
	}
}

// vsumDotDev returns Σ d and Σ d·(x-m).
func vsumDotDev(d, x []float32, m float32) (sd, sdx float32) {
	x = x[:len(d)]
	if v := len(d) &^ 7; useAVX2 && v > 0 {
		sd, sdx = sumDotDevAVX2(&d[0], &x[0], v, m)
		d, x = d[v:], x[v:]
	}
	a, b := sumAndDot(d, x, m)
	return sd + a, sdx + b
}

// vnormBack writes dx = a·d + b·(x-m) + c.
func vnormBack(d, x, dx []float32, a, b, c, m float32) {
	x, dx = x[:len(d)], dx[:len(d)]
	if v := len(d) &^ 7; useAVX2 && v > 0 {
		normBackAVX2(&d[0], &x[0], &dx[0], v, a, b, c, m)
		d, x, dx = d[v:], x[v:], dx[v:]
	}
	for i, dv := range d {
		dx[i] = a*dv + b*(x[i]-m) + c
	}
}

// sumAndDot returns Σa and Σa*(b-mean), each with two independent accumulators.
func sumAndDot(a, b []float32, mean float32) (sa, sab float32) {
	b = b[:len(a)]
	var a0, a1, p0, p1 float32
	i := 0
	for ; i+2 <= len(a); i += 2 {
		a0 += a[i]
		a1 += a[i+1]
		p0 += a[i] * (b[i] - mean)
		p1 += a[i+1] * (b[i+1] - mean)
	}
	for ; i < len(a); i++ {
		a0 += a[i]
		p0 += a[i] * (b[i] - mean)
	}
	return a0 + a1, p0 + p1
}

// vaffineSiLU writes y = z·σ(z) with z = x·a + b.
func vaffineSiLU(x, y []float32, a, b float32) {
	y = y[:len(x)]
	if v := len(x) &^ 7; useAVX2 && v > 0 {
		affineSiluAVX2(&x[0], &y[0], v, a, b)
		x, y = x[v:], y[v:]
	}
	for i, xv := range x {
		z := xv*a + b
		y[i] = z / (1 + fastExp(-z))
	}
}

// vaffineSiLUBack writes dz = dy·σ(z)·(1 + z·(1-σ(z))) with z = x·a + b (the
// gradient through SiLU of the GroupNorm output) and returns Σ dz and
// Σ dz·(x-m).
func vaffineSiLUBack(x, dy, dz []float32, a, b, m float32) (sdz, sdzx float32) {
	dy, dz = dy[:len(x)], dz[:len(x)]
	if v := len(x) &^ 7; useAVX2 && v > 0 {
		sdz, sdzx = affineSiluBackAVX2(&x[0], &dy[0], &dz[0], v, a, b, m)
		x, dy, dz = x[v:], dy[v:], dz[v:]
	}
	for i, xv := range x {
		z := xv*a + b
		s := 1 / (1 + fastExp(-z))
		d := dy[i] * s * (1 + z*(1-s))
		dz[i] = d
		sdz += d
		sdzx += d * (xv - m)
	}
	return sdz, sdzx
}

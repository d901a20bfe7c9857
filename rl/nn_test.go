package rl

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
)

// TestMLPGradient checks Backward against central finite differences of
// L = Σ c·out for a random c.
func TestMLPGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := mustMLP(5, 7, 6, 3)
	p := make([]float64, m.NumParams())
	m.InitOrthogonal(p, rng, 1)
	for i := range p {
		p[i] += 0.1 * rng.NormFloat64() // non-zero biases too
	}
	const B = 300 // more than gemmRows, to cover the row chunks
	x := make([]float64, B*5)
	c := make([]float64, B*3)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range c {
		c[i] = rng.NormFloat64()
	}
	ws := m.NewWorkspace(B)
	loss := func() float64 { return floats.Dot(m.Forward(p, x, B, ws), c) }
	loss()
	g := make([]float64, len(p))
	m.Backward(p, c, B, ws, g)
	for i := range p {
		old := p[i]
		p[i] = old + 1e-6
		up := loss()
		p[i] = old - 1e-6
		dn := loss()
		p[i] = old
		fd := (up - dn) / 2e-6
		if math.Abs(fd-g[i]) > 1e-5*max(1, math.Abs(fd)) {
			t.Fatalf("param %d: backward %g, finite difference %g", i, g[i], fd)
		}
	}
}

func TestOrthogonalInit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range [][2]int{{4, 64}, {64, 64}, {64, 2}} {
		w := make([]float64, sh[0]*sh[1])
		orthogonal(w, sh[0], sh[1], 1, rng)
		r, c := sh[0], sh[1]
		// The smaller Gram matrix must be the identity.
		n, k := r, c
		at := func(i, j int) float64 { return w[i*c+j] }
		if r > c {
			n, k = c, r
			at = func(i, j int) float64 { return w[j*c+i] }
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for l := 0; l < k; l++ {
					s += at(i, l) * at(j, l)
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(s-want) > 1e-9 {
					t.Fatalf("%v: gram[%d][%d] = %g", sh, i, j, s)
				}
			}
		}
	}
}

func TestHeadGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const gL, gE = 0.7, -0.3
	logits := []float64{0.3, -1.2, 2.0, 0.1}
	lp := make([]float64, 4)
	d := make([]float64, 4)
	cat := Categorical{N: 4}
	f := func() float64 {
		l, e := cat.LogProbEntropy(logits, 2, 0, 0, lp, make([]float64, 4))
		return gL*l + gE*e
	}
	cat.LogProbEntropy(logits, 2, gL, gE, lp, d)
	for i := range logits {
		o := logits[i]
		logits[i] = o + 1e-6
		up := f()
		logits[i] = o - 1e-6
		dn := f()
		logits[i] = o
		if fd := (up - dn) / 2e-6; math.Abs(fd-d[i]) > 1e-6 {
			t.Fatalf("categorical logit %d: %g vs %g", i, d[i], fd)
		}
	}
	g := Gaussian{N: 2}
	mean := []float64{0.2, -0.5}
	ls := []float64{-0.3, 0.4}
	a := make([]float64, 2)
	g.Sample(mean, ls, a, rng)
	dm := make([]float64, 2)
	dls := make([]float64, 2)
	g.LogProbEntropy(mean, ls, a, gL, gE, dm, dls)
	fg := func() float64 {
		l, e := g.LogProbEntropy(mean, ls, a, 0, 0, make([]float64, 2), make([]float64, 2))
		return gL*l + gE*e
	}
	for _, v := range []struct {
		x, d []float64
	}{{mean, dm}, {ls, dls}} {
		for i := range v.x {
			o := v.x[i]
			v.x[i] = o + 1e-6
			up := fg()
			v.x[i] = o - 1e-6
			dn := fg()
			v.x[i] = o
			if fd := (up - dn) / 2e-6; math.Abs(fd-v.d[i]) > 1e-6 {
				t.Fatalf("gaussian %d: %g vs %g", i, v.d[i], fd)
			}
		}
	}
}

func BenchmarkMLPForwardBackward(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := mustMLP(8, 64, 64, 4)
	p := make([]float64, m.NumParams())
	m.InitOrthogonal(p, rng, 1)
	const B = 128
	x := make([]float64, B*8)
	dout := make([]float64, B*4)
	g := make([]float64, len(p))
	ws := m.NewWorkspace(B)
	b.ReportAllocs()
	for b.Loop() {
		m.Forward(p, x, B, ws)
		m.Backward(p, dout, B, ws, g)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*B), "ns/row")
}

func BenchmarkAdamStep(b *testing.B) {
	n := 10000
	a := NewAdam(n, 1e-3, 1e-8)
	p := make([]float64, n)
	g := make([]float64, n)
	b.ReportAllocs()
	for b.Loop() {
		ClipGradNorm(g, 0.5)
		a.Step(p, g)
	}
}

func TestNoAllocs(t *testing.T) {
	m := mustMLP(4, 64, 64, 2)
	p := make([]float64, m.NumParams())
	ws := m.NewWorkspace(64)
	x := make([]float64, 64*4)
	d := make([]float64, 64*2)
	g := make([]float64, len(p))
	if n := testing.AllocsPerRun(20, func() {
		m.Forward(p, x, 64, ws)
		m.Backward(p, d, 64, ws, g)
	}); n != 0 {
		t.Fatalf("forward+backward allocates %v times", n)
	}
}

package rl

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// MLP is a fully connected network with tanh hidden layers and a linear
// output layer. It holds only the shape: the parameters live in a flat
// []float64 the caller owns (so a whole policy is one slice, sent to
// workers as one object), laid out layer by layer as the weight matrix
// (in×out, row-major) followed by the bias (out).
type MLP struct {
	Sizes []int // input, hidden..., output
	off   []int // offset of each layer's weights in the parameter slice
	n     int
}

// NewMLP returns the network with the given layer sizes (at least input
// and output, each positive).
func NewMLP(sizes ...int) (*MLP, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("rl: an MLP needs at least input and output sizes, got %v", sizes)
	}
	m := &MLP{Sizes: append([]int(nil), sizes...)}
	for l := 0; l+1 < len(sizes); l++ {
		if sizes[l] <= 0 || sizes[l+1] <= 0 {
			return nil, fmt.Errorf("rl: layer sizes must be positive, got %v", sizes)
		}
		m.off = append(m.off, m.n)
		m.n += sizes[l]*sizes[l+1] + sizes[l+1]
	}
	return m, nil
}

func mustMLP(sizes ...int) *MLP {
	m, err := NewMLP(sizes...)
	if err != nil {
		panic(err)
	}
	return m
}

// NumParams is the length of the parameter slice.
func (m *MLP) NumParams() int { return m.n }

// In and Out are the input and output widths.
func (m *MLP) In() int  { return m.Sizes[0] }
func (m *MLP) Out() int { return m.Sizes[len(m.Sizes)-1] }

func (m *MLP) layer(p []float64, l int) (w, b []float64) {
	in, out := m.Sizes[l], m.Sizes[l+1]
	o := m.off[l]
	return p[o : o+in*out], p[o+in*out : o+in*out+out]
}

// InitOrthogonal fills p with orthogonal weights (as torch's
// nn.init.orthogonal_: the Q factor of a Gaussian matrix, signs fixed by
// R's diagonal) scaled by the gain of each layer, and zero biases. Hidden
// layers get gain √2 and the output layer outGain, the PPO convention
// (0.01 for a policy head, 1 for a value head).
func (m *MLP) InitOrthogonal(p []float64, rng *rand.Rand, outGain float64) {
	for l := 0; l+1 < len(m.Sizes); l++ {
		gain := math.Sqrt2
		if l+2 == len(m.Sizes) {
			gain = outGain
		}
		w, b := m.layer(p, l)
		orthogonal(w, m.Sizes[l], m.Sizes[l+1], gain, rng)
		clear(b)
	}
}

// orthogonal fills the rows×cols row-major w with a (semi-)orthogonal
// matrix times gain.
func orthogonal(w []float64, rows, cols int, gain float64, rng *rand.Rand) {
	r, c := max(rows, cols), min(rows, cols)
	g := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q, rr mat.Dense
	qr.QTo(&q)
	qr.RTo(&rr)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			// Q is r×r; its first c columns are orthonormal.
			ii, jj := i, j
			if rows < cols {
				ii, jj = j, i
			}
			s := 1.0
			if rr.At(jj, jj) < 0 {
				s = -1
			}
			w[i*cols+j] = gain * s * q.At(ii, jj)
		}
	}
}

// Workspace holds one batch's activations for Forward and Backward, so
// that neither allocates once it has grown to the batch size. A Workspace
// belongs to one MLP and is not safe for concurrent use.
type Workspace struct {
	acts  [][]float64 // acts[0] is the input, acts[l] the output of layer l
	delta [2][]float64
	batch int
}

// NewWorkspace returns a workspace for batches of up to batch rows.
func (m *MLP) NewWorkspace(batch int) *Workspace {
	ws := &Workspace{}
	m.grow(ws, batch)
	return ws
}

func (m *MLP) grow(ws *Workspace, batch int) {
	if batch <= ws.batch && len(ws.acts) == len(m.Sizes) {
		return
	}
	ws.batch = batch
	ws.acts = make([][]float64, len(m.Sizes))
	widest := 0
	for l, s := range m.Sizes {
		ws.acts[l] = make([]float64, batch*s)
		widest = max(widest, s)
	}
	ws.delta[0] = make([]float64, batch*widest)
	ws.delta[1] = make([]float64, batch*widest)
}

// gemmRows bounds the rows of one Gemm call so that gonum runs it
// serially (it spawns goroutines from four 64×64 output blocks up): the
// rollout workers already use every core, and serial calls do not allocate.
const gemmRows = 128

func gemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	blas64.Gemm(tA, tB, alpha, a, b, beta, c)
}

// Forward computes the outputs for batch rows of input x (batch×In,
// row-major) and returns them (batch×Out), aliasing ws until the next
// Forward. It keeps the activations in ws for Backward.
func (m *MLP) Forward(p, x []float64, batch int, ws *Workspace) []float64 {
	m.grow(ws, batch)
	copy(ws.acts[0], x[:batch*m.Sizes[0]])
	last := len(m.Sizes) - 2
	for l := 0; l <= last; l++ {
		in, out := m.Sizes[l], m.Sizes[l+1]
		w, b := m.layer(p, l)
		W := blas64.General{Rows: in, Cols: out, Stride: out, Data: w}
		a, z := ws.acts[l], ws.acts[l+1]
		for r0 := 0; r0 < batch; r0 += gemmRows {
			rows := min(gemmRows, batch-r0)
			A := blas64.General{Rows: rows, Cols: in, Stride: in, Data: a[r0*in : (r0+rows)*in]}
			Z := blas64.General{Rows: rows, Cols: out, Stride: out, Data: z[r0*out : (r0+rows)*out]}
			gemm(blas.NoTrans, blas.NoTrans, 1, A, W, 0, Z)
		}
		z = z[:batch*out]
		for i := 0; i < batch; i++ {
			row := z[i*out : (i+1)*out]
			for j := range row {
				row[j] += b[j]
			}
			if l < last {
				for j, v := range row {
					row[j] = math.Tanh(v)
				}
			}
		}
	}
	return ws.acts[len(m.Sizes)-1][:batch*m.Out()]
}

// Backward takes dout (batch×Out), the loss's gradient with respect to
// the outputs of the latest Forward on ws, and adds the gradient with
// respect to the parameters into grad (same layout as p). dout is not
// changed.
func (m *MLP) Backward(p, dout []float64, batch int, ws *Workspace, grad []float64) {
	cur := ws.delta[0][:batch*m.Out()]
	copy(cur, dout[:batch*m.Out()])
	for l := len(m.Sizes) - 2; l >= 0; l-- {
		in, out := m.Sizes[l], m.Sizes[l+1]
		w, _ := m.layer(p, l)
		gw, gb := m.layer(grad, l)
		a := ws.acts[l]
		D := blas64.General{Rows: batch, Cols: out, Stride: out, Data: cur}
		A := blas64.General{Rows: batch, Cols: in, Stride: in, Data: a[:batch*in]}
		// dW += Aᵀ D, db += column sums of D.
		gemm(blas.Trans, blas.NoTrans, 1, A, D, 1, blas64.General{Rows: in, Cols: out, Stride: out, Data: gw})
		for i := 0; i < batch; i++ {
			row := cur[i*out : (i+1)*out]
			for j, v := range row {
				gb[j] += v
			}
		}
		if l == 0 {
			break
		}
		// Next delta: (D Wᵀ) ⊙ (1 - a²), a being this layer's tanh input side.
		next := ws.delta[1][:batch*in]
		W := blas64.General{Rows: in, Cols: out, Stride: out, Data: w}
		for r0 := 0; r0 < batch; r0 += gemmRows {
			rows := min(gemmRows, batch-r0)
			Dr := blas64.General{Rows: rows, Cols: out, Stride: out, Data: cur[r0*out : (r0+rows)*out]}
			Nr := blas64.General{Rows: rows, Cols: in, Stride: in, Data: next[r0*in : (r0+rows)*in]}
			gemm(blas.NoTrans, blas.Trans, 1, Dr, W, 0, Nr)
		}
		for i, v := range a[:batch*in] {
			next[i] *= 1 - v*v
		}
		ws.delta[0], ws.delta[1] = ws.delta[1], ws.delta[0]
		cur = next
	}
	// Leave delta[0] as the longer buffer for the next call.
}

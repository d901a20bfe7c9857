package collective

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"manta/core"
)

// Float is an element type the collectives move and reduce.
type Float interface{ float32 | float64 }

// Op is a reduction.
type Op uint8

// The reductions.
const (
	Sum Op = iota
	Prod
	Min
	Max
)

// String names the reduction.
func (o Op) String() string {
	switch o {
	case Sum:
		return "sum"
	case Prod:
		return "prod"
	case Min:
		return "min"
	case Max:
		return "max"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// envelope is one delivery from a member to another: a chunk of an
// operation (a reference to it in the object store: the bytes stay where
// they are until the receiver maps or pulls them), or an abort.
type envelope struct {
	Group string `cbor:"1,keyasint"`
	Seq   uint64 `cbor:"2,keyasint"`
	Step  int    `cbor:"3,keyasint"`
	Chunk int    `cbor:"4,keyasint"`
	From  int    `cbor:"5,keyasint"`
	// Sig describes the call at the sender (operation, element type,
	// reduction, buffer length, root): a receiver whose own differs
	// fails the operation with ErrMismatch everywhere.
	Sig string `cbor:"6,keyasint,omitempty"`
	// Elem is the chunk's element size: 4 (F32), 8 (F64), 0 for none.
	Elem uint8 `cbor:"7,keyasint,omitempty"`
	// Stored says the chunk is an object of the store, referenced by F32
	// or F64; else Inline holds a small chunk's (smallChunk bytes or
	// less) elements' bytes as they lie in memory, carried in the
	// delivery itself.
	Stored bool                `cbor:"11,keyasint,omitempty"`
	Inline []byte              `cbor:"12,keyasint,omitempty"`
	F32    core.Ref[[]float32] `cbor:"8,keyasint"`
	F64    core.Ref[[]float64] `cbor:"9,keyasint"`
	Abort  *abortMsg           `cbor:"10,keyasint,omitempty"`
}

// abortMsg tells the other members that an operation (or the group)
// failed, and why.

type abortMsg struct {
	Kind   int    `cbor:"1,keyasint"`
	Rank   int    `cbor:"2,keyasint"`
	Op     string `cbor:"3,keyasint,omitempty"`
	Detail string `cbor:"4,keyasint,omitempty"`
}

// release gives up this process's hold on the chunk.
func (e envelope) release() {
	e.F32.Release()
	e.F64.Release()
}

// arrival is a delivered envelope with its chunk mapped: view is a
// *core.View of the envelope's element type.
type arrival struct {
	env  envelope
	data any                          // the chunk's []float32 or []float64
	view interface{ Release() error } // what data is mapped by, if it is
	err  error                        // why the chunk could not be had
}

// release gives up the chunk's mapping and hold.
func (a arrival) release() {
	if a.view != nil {
		a.view.Release()
	}
	a.env.release()
}

// pin maps e's chunk: in place when it is in this node's store, pulled
// into it first when another node holds it; an inline chunk is read
// where the delivery put it.
func pin(ctx context.Context, e envelope) arrival {
	a := arrival{env: e}
	switch e.Elem {
	case 4:
		a.data, a.view, a.err = pinAs(ctx, e.F32, e.Stored, e.Inline)
	case 8:
		a.data, a.view, a.err = pinAs(ctx, e.F64, e.Stored, e.Inline)
	}
	return a
}

// pinAs maps r's elements if stored, or takes inline's.
func pinAs[E Float](ctx context.Context, r core.Ref[[]E], stored bool, inline []byte) (any, interface{ Release() error }, error) {
	if !stored {
		return elementsOf[E](inline), nil, nil
	}
	v, err := core.GetView(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	return v.Data(), v, nil
}

// elementsOf reads b as the elements it holds: in place where b is
// aligned for them (as the decoder's fresh slices are), else copied. A
// trailing partial element is dropped (the receiver's length check
// fails).
func elementsOf[E Float](b []byte) []E {
	size := int(unsafe.Sizeof(E(0)))
	n := len(b) / size
	if n == 0 {
		return []E{}
	}
	if uintptr(unsafe.Pointer(&b[0]))%unsafe.Alignof(E(0)) == 0 {
		return unsafe.Slice((*E)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]E, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), n*size), b)
	return out
}

// smallChunk is how many bytes a chunk's deliveries may carry in all
// inside themselves (method calls' arguments) rather than as one object
// of the store: a receiver then holds the chunk when the call arrives,
// with no request to the node for it, but each receiver's copy passes
// through the node. It stays under core's default InlineBytes (100 KiB)
// with the envelope's other fields, and covers a small model's gradient
// sent to one other member (PPO's on LunarLanderContinuous, 77 KB).
const smallChunk = 96 << 10

// putChunk sets the envelope's chunk to data, for the given number of
// receivers: inline when small, else stored and referenced. Inline
// bytes alias data: the delivery's call encodes them before it returns.
func putChunk[E Float](e *envelope, data []E, receivers int) error {
	var err error
	bytes := len(data) * int(unsafe.Sizeof(E(0)))
	e.Stored = bytes*receivers > smallChunk
	if !e.Stored && bytes > 0 {
		e.Inline = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), bytes)
	}
	switch d := any(data).(type) {
	case []float32:
		e.Elem = 4
		if e.Stored {
			e.F32, err = core.Put(d)
		}
	case []float64:
		e.Elem = 8
		if e.Stored {
			e.F64, err = core.Put(d)
		}
	}
	return err
}

// reduce folds src into dst.
func reduce[E Float](dst, src []E, op Op) {
	src = src[:len(dst)]
	switch op {
	case Sum:
		i := 0
		for ; i+4 <= len(dst); i += 4 {
			d, s := dst[i:i+4:i+4], src[i:i+4:i+4]
			d[0] += s[0]
			d[1] += s[1]
			d[2] += s[2]
			d[3] += s[3]
		}
		for ; i < len(dst); i++ {
			dst[i] += src[i]
		}
	case Prod:
		for i := range dst {
			dst[i] *= src[i]
		}
	case Min:
		for i := range dst {
			dst[i] = min(dst[i], src[i])
		}
	case Max:
		for i := range dst {
			dst[i] = max(dst[i], src[i])
		}
	}
}

// span is a part of a buffer: [lo, hi).
type span struct{ lo, hi int }

// segment is rank i's part of n elements split among size members.
func segment(n, size, i int) span { return span{n * i / size, n * (i + 1) / size} }

// Segment returns the part of a buffer of n elements that rank owns in
// ReduceScatter (and contributes to Allreduce's phases): elements
// [lo, hi), as even a split as n allows.
func Segment(n, size, rank int) (lo, hi int) {
	s := segment(n, size, rank)
	return s.lo, s.hi
}

// chunks cuts s into pieces of about chunkBytes (at least one piece).
func chunks[E Float](s span, chunkBytes int) []span {
	size := 4
	if _, ok := any(E(0)).(float64); ok {
		size = 8
	}
	n := s.hi - s.lo
	k := max(1, (n*size+chunkBytes-1)/chunkBytes)
	out := make([]span, k)
	for j := range out {
		out[j] = span{s.lo + n*j/k, s.lo + n*(j+1)/k}
	}
	return out
}

func mod(a, n int) int { return ((a % n) + n) % n }

// opRun is one collective call at one member.
type opRun struct {
	g   *Group
	seq uint64
	sig string
}

// do runs one collective: body's own failures (a context that ended, a
// mismatch it found, a store that failed) go to every other member as an
// abort, so no member waits for what will never come.
func (g *Group) do(ctx context.Context, op, sig string, body func(ctx context.Context, o *opRun) error) error {
	g.op.Lock()
	defer g.op.Unlock()
	seq, err := g.begin()
	if err != nil {
		return withOp(err, op)
	}
	if g.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.opts.Timeout)
		defer cancel()
	}
	err = body(ctx, &opRun{g: g, seq: seq, sig: sig})
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) && ce.Rank != g.rank {
		return withOp(err, op) // another member's failure, told to all
	}
	if ce == nil {
		ce = &Error{Err: err}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			ce.Err = ctx.Err()
			if ce.Err == nil {
				ce.Err = err
			}
		}
	}
	ce.Group, ce.Op, ce.Rank = g.name, op, g.rank
	g.broadcastAbort(seq, ce)
	return ce
}

func withOp(err error, op string) error {
	var ce *Error
	if errors.As(err, &ce) {
		c := *ce
		c.Op = op
		return &c
	}
	return err
}

// mismatch is this member's finding that the members' calls differ.
func (o *opRun) mismatch(detail string) error {
	return &Error{Rank: o.g.rank, Err: ErrMismatch, Detail: detail}
}

// send stores data and delivers it to the next member as (step, chunk).
func sendChunk[E Float](o *opRun, to, step, chunk int, data []E) error {
	e := envelope{Group: o.g.name, Seq: o.seq, Step: step, Chunk: chunk, From: o.g.rank, Sig: o.sig}
	if err := putChunk(&e, data, 1); err != nil {
		return err
	}
	o.g.send(to, e, releaseOnceHeld(e))
	return nil
}

// releaseOnceHeld is what a sender of e does once the receiver holds it:
// release its object (nil where there is none, so the sender need not
// wait to know).
func releaseOnceHeld(e envelope) func() {
	if !e.Stored {
		return nil
	}
	return e.release
}

// take waits for (step, chunk) and returns its elements, want of them,
// valid until the arrival's release.
func take[E Float](ctx context.Context, o *opRun, step, chunk, want int) (arrival, []E, error) {
	a, err := o.g.recv(ctx, o.seq, step, chunk)
	if err != nil {
		return a, nil, err
	}
	e := a.env
	if e.Sig != o.sig {
		a.release()
		return a, nil, o.mismatch(fmt.Sprintf("rank %d called %s, rank %d %s", e.From, e.Sig, o.g.rank, o.sig))
	}
	if a.err != nil {
		a.release()
		return a, nil, fmt.Errorf("chunk %d of step %d from rank %d: %w", chunk, step, e.From, a.err)
	}
	data, ok := a.data.([]E)
	if !ok || len(data) != want {
		a.release()
		return a, nil, o.mismatch(fmt.Sprintf("a chunk from rank %d that is not %d elements of %T", e.From, want, E(0)))
	}
	return a, data, nil
}

// reduceScatter runs the ring's first phase on buf: after it, rank r
// holds the reduction of segment r. last, if set, is called as each chunk
// of that segment is complete.
func reduceScatter[E Float](ctx context.Context, o *opRun, buf []E, op Op, last func(chunk int, s span) error) error {
	g := o.g
	n, r := g.size, g.rank
	next := mod(r+1, n)
	seg := func(i int) []span { return chunks[E](segment(len(buf), n, mod(i, n)), g.opts.ChunkBytes) }
	first := seg(r - 1) // sent at step 0
	sent := 0
	sendFirst := func(upto int) error {
		for ; sent < min(upto, len(first)); sent++ {
			c := first[sent]
			if err := sendChunk(o, next, 0, sent, buf[c.lo:c.hi]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := sendFirst(g.opts.Window); err != nil {
		return err
	}
	for s := range n - 1 {
		for j, c := range seg(r - 2 - s) {
			a, data, err := take[E](ctx, o, s, j, c.hi-c.lo)
			if err != nil {
				return err
			}
			reduce(buf[c.lo:c.hi], data, op)
			a.release()
			if s == 0 {
				if err := sendFirst(sent + 1); err != nil {
					return err
				}
			}
			if s < n-2 {
				err = sendChunk(o, next, s+1, j, buf[c.lo:c.hi])
			} else if last != nil {
				err = last(j, c)
			}
			if err != nil {
				return err
			}
		}
		if s == 0 {
			if err := sendFirst(len(first)); err != nil {
				return err
			}
		}
	}
	return nil
}

// allgather runs the ring's second phase from step base: rank r's
// segment of buf is complete (and, with sent, already on its way), and
// the others arrive. seg gives segment i.
func allgather[E Float](ctx context.Context, o *opRun, buf []E, base int, sent bool, seg func(i int) span) error {
	g := o.g
	n, r := g.size, g.rank
	next := mod(r+1, n)
	if !sent {
		for j, c := range chunks[E](seg(r), g.opts.ChunkBytes) {
			if err := sendChunk(o, next, base, j, buf[c.lo:c.hi]); err != nil {
				return err
			}
		}
	}
	for t := range n - 1 {
		for j, c := range chunks[E](seg(mod(r-1-t, n)), g.opts.ChunkBytes) {
			a, data, err := take[E](ctx, o, base+t, j, c.hi-c.lo)
			if err != nil {
				return err
			}
			copy(buf[c.lo:c.hi], data)
			a.release()
			if t < n-2 {
				if err := sendChunk(o, next, base+t+1, j, buf[c.lo:c.hi]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func sigOf[E Float](op string, red Op, extra string) string {
	return fmt.Sprintf("%s(%T, %v%s)", op, E(0), red, extra)
}

// allreduceDirect is Allreduce in one round: the member sends its buffer
// to every other member (inline, or put once into the store for all of
// them), and reduces every member's in rank order, so each member
// computes the same bits.
func allreduceDirect[E Float](ctx context.Context, o *opRun, buf []E, op Op) error {
	g := o.g
	n, r := g.size, g.rank
	e := envelope{Group: g.name, Seq: o.seq, Step: r, From: r, Sig: o.sig}
	if err := putChunk(&e, buf, n-1); err != nil {
		return err
	}
	delivered := releaseOnceHeld(e)
	if delivered != nil { // the object lives until every receiver has it
		var receiving atomic.Int32
		receiving.Store(int32(n - 1))
		delivered = func() {
			if receiving.Add(-1) == 0 {
				e.release()
			}
		}
	}
	for k := 1; k < n; k++ {
		g.send(mod(r+k, n), e, delivered)
	}
	mine := buf
	if r != 0 { // buf is about to take rank 0's elements
		mine = scratch[E](g, len(buf))
		copy(mine, buf)
	}
	for i := range n {
		if i == r {
			if i > 0 {
				reduce(buf, mine, op)
			}
			continue
		}
		a, data, err := take[E](ctx, o, i, 0, len(buf))
		if err != nil {
			return err
		}
		if i == 0 {
			copy(buf, data)
		} else {
			reduce(buf, data, op)
		}
		a.release()
	}
	// Every buffer was sent before its member could know whether it
	// would give the operation up (a timeout): if one did and its word
	// has come, fail as the others did.
	return g.failure(o.seq)
}

// scratch returns a buffer of n elements of the group's, reused by its
// operations (one runs at a time).
func scratch[E Float](g *Group, n int) []E {
	s, _ := g.scratch.([]E)
	if cap(s) < n {
		s = make([]E, n)
		g.scratch = s
	}
	return s[:n]
}

// Allreduce reduces buf elementwise across the group with op and leaves
// the result in buf at every member. A buffer of up to
// Options.DirectBytes goes to every other member in one round, each
// reducing all of them in rank order; a larger one goes round a ring in
// two phases (reduce-scatter, then allgather), each segment cut into
// chunks that follow each other around the ring. Small chunks travel
// inside the calls that deliver them, larger ones as objects of the
// store: on one node a member reads another's chunk in place, from
// another node it is pulled. Every member computes the same bits. Every
// member must call it with a buffer of the same length, or every member
// fails with ErrMismatch.
//
// In one round every member's buffer is sent at once, so a member that
// calls late, after the others gave the call up (Options.Timeout), may
// still complete it with every member's contribution, where round the
// ring it fails with ErrAborted: it fails too only if their word has
// come first.
func Allreduce[E Float](ctx context.Context, g *Group, buf []E, op Op) error {
	sig := sigOf[E]("allreduce", op, fmt.Sprintf(", %d", len(buf)))
	return g.do(ctx, "allreduce", sig, func(ctx context.Context, o *opRun) error {
		if op > Max {
			return &Error{Rank: g.rank, Err: ErrInvalid, Detail: "unknown reduction " + op.String()}
		}
		if g.size == 1 {
			return nil
		}
		if len(buf)*int(unsafe.Sizeof(E(0))) <= g.opts.DirectBytes {
			return allreduceDirect(ctx, o, buf, op)
		}
		next := mod(g.rank+1, g.size)
		err := reduceScatter(ctx, o, buf, op, func(j int, c span) error {
			return sendChunk(o, next, g.size-1, j, buf[c.lo:c.hi])
		})
		if err != nil {
			return err
		}
		return allgather(ctx, o, buf, g.size-1, true, func(i int) span { return segment(len(buf), g.size, i) })
	})
}

// ReduceScatter reduces buf elementwise across the group with op and
// returns this member's segment of the result (Segment's part of buf,
// reduced in place; the rest of buf is left partly reduced). Buffers of
// different lengths fail with ErrMismatch at every member.
func ReduceScatter[E Float](ctx context.Context, g *Group, buf []E, op Op) ([]E, error) {
	sig := sigOf[E]("reducescatter", op, fmt.Sprintf(", %d", len(buf)))
	err := g.do(ctx, "reducescatter", sig, func(ctx context.Context, o *opRun) error {
		if op > Max {
			return &Error{Rank: g.rank, Err: ErrInvalid, Detail: "unknown reduction " + op.String()}
		}
		if g.size == 1 {
			return nil
		}
		return reduceScatter(ctx, o, buf, op, nil)
	})
	if err != nil {
		return nil, err
	}
	s := segment(len(buf), g.size, g.rank)
	return buf[s.lo:s.hi], nil
}

// Allgather gathers every member's send into recv, rank i's at
// recv[i*len(send):(i+1)*len(send)]. recv must hold Size()*len(send)
// elements; sends of different lengths fail with ErrMismatch at every
// member.
func Allgather[E Float](ctx context.Context, g *Group, send, recv []E) error {
	sig := sigOf[E]("allgather", Sum, fmt.Sprintf(", %d", len(send)))
	return g.do(ctx, "allgather", sig, func(ctx context.Context, o *opRun) error {
		m := len(send)
		if len(recv) != g.size*m {
			return &Error{Rank: g.rank, Err: ErrInvalid, Detail: fmt.Sprintf("recv holds %d elements, want %d×%d", len(recv), g.size, m)}
		}
		copy(recv[g.rank*m:(g.rank+1)*m], send)
		if g.size == 1 {
			return nil
		}
		return allgather(ctx, o, recv, 0, false, func(i int) span { return span{i * m, (i + 1) * m} })
	})
}

// Broadcast copies root's buf into every other member's buf, chunk by
// chunk along the ring from root, each member passing each chunk on once
// it has it; the root returns when the last member has all of it.
// Different lengths or roots fail with ErrMismatch at every member.
func Broadcast[E Float](ctx context.Context, g *Group, buf []E, root int) error {
	sig := sigOf[E]("broadcast", Sum, fmt.Sprintf(", %d, root %d", len(buf), root))
	return g.do(ctx, "broadcast", sig, func(ctx context.Context, o *opRun) error {
		if root < 0 || root >= g.size {
			return &Error{Rank: g.rank, Err: ErrInvalid, Detail: fmt.Sprintf("root %d of a group of %d", root, g.size)}
		}
		if g.size == 1 {
			return nil
		}
		next := mod(g.rank+1, g.size)
		parts := chunks[E](span{0, len(buf)}, g.opts.ChunkBytes)
		if g.rank == root {
			for j, c := range parts {
				if err := sendChunk(o, next, 0, j, buf[c.lo:c.hi]); err != nil {
					return err
				}
			}
			// The last member says it is done: the root too fails if a
			// member's call differs from its own.
			a, err := g.recv(ctx, o.seq, 1, 0)
			if err != nil {
				return err
			}
			a.release()
			if a.env.Sig != o.sig {
				return o.mismatch(fmt.Sprintf("rank %d called %s, rank %d %s", a.env.From, a.env.Sig, g.rank, o.sig))
			}
			return nil
		}
		for j, c := range parts {
			a, data, err := take[E](ctx, o, 0, j, c.hi-c.lo)
			if err != nil {
				return err
			}
			copy(buf[c.lo:c.hi], data)
			a.release()
			if next != root {
				if err := sendChunk(o, next, 0, j, buf[c.lo:c.hi]); err != nil {
					return err
				}
			}
		}
		if next == root {
			g.send(next, envelope{Group: g.name, Seq: o.seq, Step: 1, From: g.rank, Sig: o.sig}, nil)
		}
		return nil
	})
}

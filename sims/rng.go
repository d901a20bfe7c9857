package sims

import (
	"math"
	"math/bits"
)

// rng is NumPy's default generator as Gymnasium builds it:
// Generator(PCG64(SeedSequence(seed))). Porting it (rather than using
// math/rand/v2) makes a seeded reset land on the same start state as
// Gymnasium's env.reset(seed=s), which the reference tests check.
type rng struct {
	hi, lo       uint64 // 128-bit LCG state
	incHi, incLo uint64 // 128-bit increment (odd)
	// PCG64's next_uint32 hands out the low half of a 64-bit draw and
	// keeps the high half for the next call.
	hasUint32 bool
	uinteger  uint32
}

// PCG64's 128-bit multiplier, 0x2360ed051fc65da44385df649fccf645.
const (
	pcgMulHi = 0x2360ed051fc65da4
	pcgMulLo = 0x4385df649fccf645
)

// seedRNG reproduces np.random.PCG64(np.random.SeedSequence(seed)).
func seedRNG(seed uint64) rng {
	w := seedSequenceState(seed)
	var r rng
	// pcg_setseq_128_srandom_r: state=0; inc=(initseq<<1)|1; step;
	// state+=initstate; step. initstate = w0:w1, initseq = w2:w3 (high:low).
	r.incHi = w[2]<<1 | w[3]>>63
	r.incLo = w[3]<<1 | 1
	r.step()
	var c uint64
	r.lo, c = bits.Add64(r.lo, w[1], 0)
	r.hi, _ = bits.Add64(r.hi, w[0], c)
	r.step()
	return r
}

func (r *rng) step() {
	// state = state*mul + inc (mod 2^128)
	hi, lo := bits.Mul64(r.lo, pcgMulLo)
	hi += r.hi*pcgMulLo + r.lo*pcgMulHi
	var c uint64
	r.lo, c = bits.Add64(lo, r.incLo, 0)
	r.hi, _ = bits.Add64(hi, r.incHi, c)
}

// uint64 is PCG64's XSL-RR output of the advanced state.
func (r *rng) uint64() uint64 {
	r.step()
	return bits.RotateLeft64(r.hi^r.lo, -int(r.hi>>58))
}

func (r *rng) uint32() uint32 {
	if r.hasUint32 {
		r.hasUint32 = false
		return r.uinteger
	}
	v := r.uint64()
	r.hasUint32, r.uinteger = true, uint32(v>>32)
	return uint32(v)
}

// integers is Generator.integers(low, high) (high exclusive) for ranges
// below 2^32: Lemire's bounded draw on 32-bit outputs, as NumPy's
// random_bounded_uint64_fill does.
func (r *rng) integers(low, high int64) int64 {
	rngIncl := uint32(high - 1 - low)
	if rngIncl == 0 {
		return low
	}
	excl := uint64(rngIncl) + 1
	m := uint64(r.uint32()) * excl
	if leftover := uint32(m); leftover < uint32(excl) {
		threshold := (math.MaxUint32 - rngIncl) % uint32(excl)
		for leftover < threshold {
			m = uint64(r.uint32()) * excl
			leftover = uint32(m)
		}
	}
	return low + int64(m>>32)
}

// float64 is NumPy's next_double: 53 random bits in [0, 1).
func (r *rng) float64() float64 {
	return float64(r.uint64()>>11) * (1.0 / 9007199254740992.0)
}

// uniform is Generator.uniform(low, high) for scalar bounds: low + (high-low)*u.
func (r *rng) uniform(low, high float64) float64 {
	return low + (high-low)*r.float64()
}

// seedSequenceState is SeedSequence(seed).generate_state(4, np.uint64) for
// a non-negative integer seed (NumPy's bit_generator.pyx).
func seedSequenceState(seed uint64) [4]uint64 {
	const (
		initA    = 0x43b0d7e5
		multA    = 0x931e8875
		initB    = 0x8b51f9dd
		multB    = 0x58f38ded
		mixMultL = 0xca01f9dd
		mixMultR = 0x4973f715
		xshift   = 16
		poolSize = 4
	)
	// The seed as little-endian uint32 words; zero is one word.
	entropy := []uint32{uint32(seed)}
	if seed>>32 != 0 {
		entropy = append(entropy, uint32(seed>>32))
	}
	hashConst := uint32(initA)
	hashmix := func(v uint32) uint32 {
		v ^= hashConst
		hashConst *= multA
		v *= hashConst
		v ^= v >> xshift
		return v
	}
	mix := func(x, y uint32) uint32 {
		r := mixMultL*x - mixMultR*y
		return r ^ r>>xshift
	}
	var pool [poolSize]uint32
	for i := range pool {
		var e uint32
		if i < len(entropy) {
			e = entropy[i]
		}
		pool[i] = hashmix(e)
	}
	for src := range pool {
		for dst := range pool {
			if src != dst {
				pool[dst] = mix(pool[dst], hashmix(pool[src]))
			}
		}
	}
	// At most two entropy words, so none are left over for a second pass.
	var out [8]uint32
	h := uint32(initB)
	for i := range out {
		v := pool[i%poolSize]
		v ^= h
		h *= multB
		v *= h
		v ^= v >> xshift
		out[i] = v
	}
	var w [4]uint64
	for i := range w {
		w[i] = uint64(out[2*i]) | uint64(out[2*i+1])<<32
	}
	return w
}

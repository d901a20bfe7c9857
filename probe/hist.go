package probe

import (
	"math"
	"math/bits"
	"time"
)

// Histogram counts durations in log-linear buckets: one per nanosecond
// below 32 ns, then 16 per power of two, so a bucket is at most 1/16 of
// its lower bound wide and a quantile read from it (the bucket's middle)
// is within 3.2% of the true value. The zero value is empty and ready.
type Histogram struct {
	counts       []uint64 // by bucketOf, allocated on the first Record
	n, sum       uint64
	minNS, maxNS uint64
}

// subBuckets is the number of buckets per power of two.
const subBuckets = 16

// numBuckets covers every uint64.
const numBuckets = subBuckets * (64 - 4 + 1)

func bucketOf(ns uint64) int {
	if ns < 2*subBuckets {
		return int(ns)
	}
	shift := bits.Len64(ns) - 5 // ns>>shift is in [16, 32)
	return subBuckets*shift + int(ns>>shift)
}

// bucketBounds returns bucket i's range [lo, hi); hi saturates at the top.
func bucketBounds(i int) (lo, hi uint64) {
	if i < 2*subBuckets {
		return uint64(i), uint64(i) + 1
	}
	shift := i/subBuckets - 1
	lo = uint64(i%subBuckets+subBuckets) << shift
	hi = lo + 1<<shift
	if hi < lo {
		hi = math.MaxUint64
	}
	return lo, hi
}

// Record counts one duration of ns nanoseconds.
func (h *Histogram) Record(ns uint64) {
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	h.counts[bucketOf(ns)]++
	if h.n == 0 || ns < h.minNS {
		h.minNS = ns
	}
	h.maxNS = max(h.maxNS, ns)
	h.n++
	h.sum += ns
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.minNS < h.minNS {
		h.minNS = o.minNS
	}
	h.maxNS = max(h.maxNS, o.maxNS)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Mean is the exact mean of the durations recorded, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Min and Max are the exact extremes, 0 when empty.
func (h *Histogram) Min() time.Duration { return time.Duration(h.minNS) }

// Max is the longest duration recorded, 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.maxNS) }

// Quantile returns the duration below which a fraction q (0 to 1) of the
// recorded ones lie: the middle of the bucket holding that rank, kept
// within the exact minimum and maximum. It is 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen < rank {
			continue
		}
		lo, hi := bucketBounds(i)
		mid := lo + (hi-1-lo)/2
		return time.Duration(min(max(mid, h.minNS), h.maxNS))
	}
	return time.Duration(h.maxNS)
}

// Bucket is one non-empty bucket of a Histogram: Count durations in
// [LoNS, HiNS) nanoseconds.
type Bucket struct {
	LoNS  uint64 `json:"lo_ns"`
	HiNS  uint64 `json:"hi_ns"`
	Count uint64 `json:"count"`
}

// Buckets lists the non-empty buckets in increasing order.
func (h *Histogram) Buckets() []Bucket {
	var out []Bucket
	for i, c := range h.counts {
		if c > 0 {
			lo, hi := bucketBounds(i)
			out = append(out, Bucket{LoNS: lo, HiNS: hi, Count: c})
		}
	}
	return out
}

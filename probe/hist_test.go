package probe

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverEveryValueOnce(t *testing.T) {
	values := []uint64{0, 1, 15, 16, 31, 32, 33, 34, 63, 64, 1000, 1023, 1024, 1 << 40, math.MaxUint64 - 1, math.MaxUint64}
	for shift := range 64 {
		v := uint64(1) << shift
		values = append(values, v-1, v, v+1)
	}
	for _, v := range values {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0, %d)", v, i, numBuckets)
		}
		lo, hi := bucketBounds(i)
		if v < lo || (v >= hi && hi != math.MaxUint64) {
			t.Errorf("%d in bucket %d = [%d, %d)", v, i, lo, hi)
		}
		if lo >= 2*subBuckets && float64(hi-lo) > float64(lo)/subBuckets {
			t.Errorf("bucket %d = [%d, %d) is wider than 1/%d of its start", i, lo, hi, subBuckets)
		}
	}
	for i := 1; i < numBuckets; i++ { // contiguous: each starts where the last ended
		_, prevHi := bucketBounds(i - 1)
		if lo, _ := bucketBounds(i); lo != prevHi {
			t.Fatalf("bucket %d starts at %d, bucket %d ends at %d", i, lo, i-1, prevHi)
		}
	}
}

func TestQuantilesWithinTheBucketError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var values []uint64
	var sum uint64
	for range 20000 {
		v := uint64(rng.ExpFloat64()*20000) + 3000 // a skewed latency, 3 µs and up
		h.Record(v)
		values = append(values, v)
		sum += v
	}
	slices.Sort(values)
	for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 1} {
		rank := max(1, int(math.Ceil(q*float64(len(values)))))
		exact := float64(values[rank-1])
		got := float64(h.Quantile(q))
		if math.Abs(got-exact) > exact/(2*subBuckets)+1 {
			t.Errorf("Quantile(%v) = %v, exact %v: off by more than half a bucket", q, got, exact)
		}
	}
	if h.Count() != 20000 || h.Mean() != time.Duration(sum/20000) || h.Min() != time.Duration(values[0]) || h.Max() != time.Duration(values[len(values)-1]) {
		t.Errorf("count %d mean %v min %v max %v; want 20000 %v %v %v", h.Count(), h.Mean(), h.Min(), h.Max(),
			time.Duration(sum/20000), time.Duration(values[0]), time.Duration(values[len(values)-1]))
	}
	var total uint64
	for _, b := range h.Buckets() {
		total += b.Count
	}
	if total != h.Count() {
		t.Errorf("buckets hold %d, count is %d", total, h.Count())
	}
}

func TestMergeEqualsRecordingBoth(t *testing.T) {
	var a, b, both Histogram
	for i := range uint64(1000) {
		v := i*i*37 + 5
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		both.Record(v)
	}
	var empty Histogram
	a.Merge(&empty)
	empty.Merge(&a)
	empty.Merge(&b)
	if !slices.Equal(empty.Buckets(), both.Buckets()) || empty.Count() != both.Count() || empty.Mean() != both.Mean() ||
		empty.Min() != both.Min() || empty.Max() != both.Max() || empty.Quantile(0.9) != both.Quantile(0.9) {
		t.Errorf("merged %+v, want %+v", empty, both)
	}
}

func TestEmptyHistogram(t *testing.T) {
	var h Histogram
	if h.Count() != 0 || h.Mean() != 0 || h.Quantile(0.5) != 0 || h.Max() != 0 || h.Buckets() != nil {
		t.Errorf("empty histogram: %d %v %v %v %v", h.Count(), h.Mean(), h.Quantile(0.5), h.Max(), h.Buckets())
	}
}

package release

import (
	"sync/atomic"
	"testing"
)

// A reader that sees a count sees every slot stored before it, while the
// writer goes on (run it under -race too: there the stores are atomic).
func TestPublishedSlotsAreSeen(t *testing.T) {
	const n = 1 << 16
	slots := make([]uint32, n)
	var count uint64
	var flag uint32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			slots[i] = uint32(i) + 1
			Store64(&count, uint64(i+1))
		}
		Store32(&flag, 1)
	}()
	for atomic.LoadUint32(&flag) == 0 {
		c := atomic.LoadUint64(&count)
		if c > 0 && atomic.LoadUint32(&slots[c-1]) != uint32(c) {
			t.Fatalf("slot %d unset after count %d", c-1, c)
		}
	}
	<-done
	if atomic.LoadUint64(&count) != n {
		t.Fatalf("count %d", count)
	}
}

func BenchmarkStore64(b *testing.B) {
	var x uint64
	for i := 0; b.Loop(); i++ {
		Store64(&x, uint64(i))
	}
}

func BenchmarkAtomicStore64(b *testing.B) {
	var x uint64
	for i := 0; b.Loop(); i++ {
		atomic.StoreUint64(&x, uint64(i))
	}
}

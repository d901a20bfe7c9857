package shm

import (
	"testing"
	"time"
)

func BenchmarkZZPushPop(b *testing.B) {
	prod, cons := benchRing(b, 1<<16)
	msg := make([]byte, 64)
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			if prod.Push(msg, 0) != nil {
				return
			}
		}
	}()
	dst := make([]byte, 0, 64)
	for i := 0; i < b.N; i++ {
		dst, _ = cons.Pop(dst, 0)
	}
	<-done
	reportRate(b, start)
	b.Logf("N=%d consumer wakes %d (hits %d) producer wakes %d (hits %d)", b.N, cons.bell.seq.Load(), cons.bell.hits.Load(), prod.space.seq.Load(), prod.space.hits.Load())
}

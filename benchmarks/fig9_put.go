package benchmarks

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"manta/core"
	"manta/shm/store"
)

// putFigure9 measures core.Put, the runtime's put path, the way
// store.Figure9 measures the bare store: for each size and thread count,
// `threads` goroutines of the driver put objects of that size for about d
// (values above core's inline threshold go through the shared-memory
// store, smaller ones into the node's memory), alternating with rounds of
// memcpy of the same size so that load from elsewhere weighs on both.
func putFigure9(ctx context.Context, sizes []int64, threads []int, d time.Duration) ([]store.Fig9Point, error) {
	const rounds = 10
	var out []store.Fig9Point
	for _, size := range sizes {
		src := make([]byte, size)
		for i := range src {
			src[i] = byte(i)
		}
		dst := make([]byte, size)
		for _, th := range threads {
			var puts, copies int64
			var putTime, copyTime time.Duration
			for range rounds {
				n, el, err := putRound(ctx, src, th, d/rounds)
				if err != nil {
					return nil, err
				}
				puts, putTime = puts+n, putTime+el
				start, k := time.Now(), int64(0)
				for time.Since(start) < d/rounds {
					copy(dst, src)
					k++
				}
				copies, copyTime = copies+k, copyTime+time.Since(start)
			}
			secs := putTime.Seconds()
			out = append(out, store.Fig9Point{Size: size, Threads: th, Puts: puts, Seconds: secs,
				GBps: float64(puts*size) / secs / 1e9, IOPS: float64(puts) / secs,
				MemcpyGBps: float64(copies*size) / copyTime.Seconds() / 1e9})
		}
	}
	return out, ctx.Err()
}

// putRound runs `threads` goroutines putting src for about d and returns
// the puts made and the time taken.
func putRound(ctx context.Context, src []byte, threads int, d time.Duration) (int64, time.Duration, error) {
	var puts atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d && ctx.Err() == nil {
				if _, err := core.Put(src); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				puts.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, 0, err
	}
	return puts.Load(), time.Since(start), nil
}

package rpc

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fastrpc"
)

// Loopback, 16-byte echo, as in shared/PLATFORM.md (fastrpc's own Client
// there: 6.3 µs p50 for one caller, 473k calls/s at 16 callers with
// PipelineRequests). The fastrpc rows below measure fastrpc's Client
// against the same Server in the same run, for a fair comparison on a
// busy machine.

func echoHandler(_ *Ctx, _ Method, req, resp []byte) ([]byte, error) {
	return append(resp, req...), nil
}

func benchPair(b testing.TB, ordered bool) *Client {
	s, err := NewServer(ServerConfig{Token: testToken, Handler: echoHandler, Ordered: ordered})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	c := dial(b, ClientConfig{Addr: s.Addr()})
	if _, err := c.Call(context.Background(), 1, nil, nil); err != nil {
		b.Fatal(err)
	}
	return c
}

func mode(ordered bool) string {
	if ordered {
		return "ordered"
	}
	return "concurrent"
}

// latencies collects per-call latencies and reports percentiles.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(l[len(l)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N), "µs/call")
}

func BenchmarkCall(b *testing.B) {
	for _, ordered := range []bool{false, true} {
		b.Run(mode(ordered), func(b *testing.B) {
			c := benchPair(b, ordered)
			req := make([]byte, 16)
			var resp []byte
			ctx := context.Background()
			lat := make(latencies, 0, 1<<20)
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				var err error
				resp, err = c.Call(ctx, 1, req, resp[:0])
				if err != nil {
					b.Fatal(err)
				}
				if len(lat) < cap(lat) {
					lat = append(lat, time.Since(t0))
				}
			}
			lat.report(b)
		})
	}
}

// parallelCalls runs b.N calls of call from n goroutines.
func parallelCalls(b *testing.B, n int, call func(resp []byte) ([]byte, error)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		wg.Go(func() {
			var resp []byte
			for next.Add(1) <= int64(b.N) {
				var err error
				if resp, err = call(resp[:0]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

func BenchmarkCallParallel(b *testing.B) {
	for _, ordered := range []bool{false, true} {
		for _, n := range []int{16, 256} {
			b.Run(fmt.Sprintf("%s/callers=%d", mode(ordered), n), func(b *testing.B) {
				c := benchPair(b, ordered)
				req := make([]byte, 16)
				ctx := context.Background()
				parallelCalls(b, n, func(resp []byte) ([]byte, error) { return c.Call(ctx, 1, req, resp) })
			})
		}
	}
}

// BenchmarkFastrpcClient is fastrpc's own Client against the same Server.
func BenchmarkFastrpcClient(b *testing.B) {
	s, err := NewServer(ServerConfig{Token: testToken, Handler: echoHandler, Ordered: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fc := &fastrpc.Client{
		Addr:               s.Addr(),
		SniffHeader:        sniffHeader,
		ProtocolVersion:    fastrpcVersion,
		CompressType:       fastrpc.CompressNone,
		MaxPendingRequests: 1024,
		NewResponse:        func() fastrpc.ResponseReader { return &responseFrame{maxFrame: DefaultMaxFrame} },
		Dial: func(addr string) (net.Conn, error) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			if _, err := clientAuth(nc, testToken, DefaultMaxFrame, newNonce()); err != nil {
				nc.Close()
				return nil, err
			}
			return nc, nil
		},
	}
	pool := sync.Pool{New: func() any {
		return &struct {
			req  requestFrame
			resp responseFrame
		}{req: requestFrame{method: 1, timeout: 1e7, payload: make([]byte, 16)}, resp: responseFrame{maxFrame: DefaultMaxFrame}}
	}}
	call := func(resp []byte) ([]byte, error) {
		x := pool.Get().(*struct {
			req  requestFrame
			resp responseFrame
		})
		defer pool.Put(x)
		if err := fc.DoDeadline(&x.req, &x.resp, time.Now().Add(10*time.Second)); err != nil {
			return resp, err
		}
		return append(resp, x.resp.payload...), nil
	}
	b.Run("callers=1", func(b *testing.B) {
		var resp []byte
		lat := make(latencies, 0, 1<<20)
		b.ReportAllocs()
		for b.Loop() {
			t0 := time.Now()
			var err error
			if resp, err = call(resp[:0]); err != nil {
				b.Fatal(err)
			}
			if len(lat) < cap(lat) {
				lat = append(lat, time.Since(t0))
			}
		}
		lat.report(b)
	})
	for _, n := range []int{16, 256} {
		b.Run(fmt.Sprintf("callers=%d", n), func(b *testing.B) { parallelCalls(b, n, call) })
	}
}

// TestCallDoesNotAllocate guards the hot path: a call with a reused
// response buffer allocates nothing, on either side (Ordered server; the
// concurrent one costs fastrpc's goroutine per request).
func TestCallDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := benchPair(t, true)
	req := make([]byte, 16)
	resp := make([]byte, 0, 64)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"ctx with deadline", ctx}, {"default Timeout", context.Background()}} {
		if a := testing.AllocsPerRun(1000, func() {
			var err error
			if resp, err = c.Call(tc.ctx, 1, req, resp[:0]); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%s: %v allocations per call", tc.name, a)
		}
	}
}

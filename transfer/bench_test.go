package transfer

import (
	"context"
	"io"
	"net"
	"strconv"
	"testing"

	"manta/shm/store"
)

func benchPull(b *testing.B, size int, cfg PullerConfig) {
	src, dst := newStore(b, int64(size)+1<<20), newStore(b, int64(size)+1<<20)
	id := store.ID{0xbe}
	put(b, src, id, pattern(size, 1))
	srv := newServer(b, src, nil)
	cfg.Store = dst
	p := newPuller(b, cfg)
	from := []string{srv.Addr()}
	ctx := context.Background()
	// Warm up: connections, buffers, the destination's pages.
	if err := p.Pull(ctx, id, int64(size), from, PriorityGet); err != nil {
		b.Fatal(err)
	}
	dst.Delete(id)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := p.Pull(ctx, id, int64(size), from, PriorityGet); err != nil {
			b.Fatal(err)
		}
		dst.Delete(id)
	}
}

// BenchmarkPull64MiB pulls one 64 MiB object over loopback with the
// default chunk size and connections; compare BenchmarkRawTCP64MiB.
func BenchmarkPull64MiB(b *testing.B) { benchPull(b, 64<<20, PullerConfig{}) }

// BenchmarkPull256MiB is the same with a 256 MiB object.
func BenchmarkPull256MiB(b *testing.B) { benchPull(b, 256<<20, PullerConfig{}) }

// BenchmarkChunkTuning runs the 64 MiB pull over chunk sizes and
// connection counts (-bench ChunkTuning).
func BenchmarkChunkTuning(b *testing.B) {
	for _, chunk := range []int{32 << 10, 62 << 10, 256 << 10, 4 << 20} {
		for _, conns := range []int{1, 4} {
			for _, depth := range []int{1, 8} {
				name := "chunk=" + strconv.Itoa(chunk>>10) + "KiB/conns=" + strconv.Itoa(conns) + "/depth=" + strconv.Itoa(depth)
				b.Run(name, func(b *testing.B) {
					benchPull(b, 64<<20, PullerConfig{ChunkSize: chunk, ConnsPerPeer: conns, Depth: depth})
				})
			}
		}
	}
}

// BenchmarkRawTCP64MiB sends 64 MiB over one plain loopback TCP
// connection between two goroutines, from one buffer into another: the
// ceiling for BenchmarkPull64MiB.
func BenchmarkRawTCP64MiB(b *testing.B) { benchRawTCP(b, 64<<20) }

// BenchmarkRawTCP256MiB is the same with 256 MiB.
func BenchmarkRawTCP256MiB(b *testing.B) { benchRawTCP(b, 256<<20) }

func benchRawTCP(b *testing.B, size int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	src := pattern(size, 1)
	dst := make([]byte, size)
	next := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		for range next {
			_, err := c.Write(src)
			sent <- err
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	round := func() {
		next <- struct{}{}
		if _, err := io.ReadFull(c, dst); err != nil {
			b.Fatal(err)
		}
		if err := <-sent; err != nil {
			b.Fatal(err)
		}
	}
	round() // warm up
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		round()
	}
	b.StopTimer()
	close(next)
}

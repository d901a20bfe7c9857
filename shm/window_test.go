package shm

import (
	"bytes"
	"testing"

	"manta/internal/faulttest"
)

func TestWindowIsACopyOnWriteViewOfTheSegment(t *testing.T) {
	seg, err := NewSegment("window-test", 5*pageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	mem := seg.Bytes()
	for i := range mem {
		mem[i] = byte(i * 7)
	}
	off, n := pageSize+64, 2*pageSize+100 // neither end on a page boundary
	w, err := seg.MapWindow(off, n)
	if err != nil {
		t.Fatal(err)
	}
	got := w.Bytes()
	if len(got) != n || !bytes.Equal(got, mem[off:off+n]) {
		t.Fatal("window does not show the segment's bytes")
	}
	got[0], got[n-1] = ^got[0], ^got[n-1]
	if mem[off] == got[0] || mem[off+n-1] == got[n-1] {
		t.Fatal("a write to the window reached the segment")
	}
	if err := w.Revoke(); err != nil {
		t.Fatal(err)
	}
	if err := w.Revoke(); err != nil {
		t.Fatalf("second Revoke: %v", err)
	}
	mustFault(t, func() { sink += uint64(got[10]) })
	mustFault(t, func() { got[10] = 1 })
	if mem[off+10] != byte((off+10)*7) {
		t.Fatal("revoking changed the segment")
	}
}

func TestAnonymousWindowRevokes(t *testing.T) {
	w, err := NewWindow(3*pageSize + 1)
	if err != nil {
		t.Fatal(err)
	}
	b := w.Bytes()
	b[len(b)-1] = 9
	if err := w.Revoke(); err != nil {
		t.Fatal(err)
	}
	mustFault(t, func() { sink += uint64(b[len(b)-1]) })
	empty, err := NewWindow(0)
	if err != nil || len(empty.Bytes()) != 0 || empty.Revoke() != nil {
		t.Fatalf("empty window: %v", err)
	}
}

func TestWindowOutOfRange(t *testing.T) {
	seg, err := NewSegment("window-range", pageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	for _, c := range [][2]int{{-1, 1}, {0, pageSize + 1}, {pageSize, 1}, {1, -1}} {
		if _, err := seg.MapWindow(c[0], c[1]); err == nil {
			t.Errorf("MapWindow(%d, %d) succeeded", c[0], c[1])
		}
	}
}

func mustFault(t *testing.T, f func()) {
	t.Helper()
	if !faulttest.Faults(f) {
		t.Error("access to released memory did not fault")
	}
}

// BenchmarkWindowRead maps a 64 MiB window, reads every word and revokes
// it, beside copying the same bytes out of the segment: what a zero-copy
// view costs against a copy.
func BenchmarkWindowRead(b *testing.B) {
	const size = 64 << 20
	seg, err := NewSegment("window-bench", size)
	if err != nil {
		b.Fatal(err)
	}
	defer seg.Close()
	mem := seg.Bytes()
	for i := range mem {
		mem[i] = byte(i)
	}
	b.Run("window", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			w, err := seg.MapWindow(0, size)
			if err != nil {
				b.Fatal(err)
			}
			sumWords(w.Bytes())
			if err := w.Revoke(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		dst := make([]byte, size)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			copy(dst, mem)
			sumWords(dst)
		}
	})
}

var sink uint64

func sumWords(b []byte) {
	var s uint64
	for i := 0; i+8 <= len(b); i += 4096 {
		s += uint64(b[i])
	}
	sink += s
}

package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"manta/shm"
)

// FuzzHeader writes arbitrary bytes where an object header would be and
// asks a View for the object at an arbitrary Slot. It must never panic or
// return a slice outside the segment; a header it accepts must be the one
// encoding of what it says, and must describe the Slot exactly.
func FuzzHeader(f *testing.F) {
	const segSize = 1 << 16
	seg, err := shm.NewSegment("fuzz-header", segSize)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { seg.Close() })
	v, err := NewView(seg)
	if err != nil {
		f.Fatal(err)
	}
	mem := seg.Bytes()

	valid := make([]byte, HeaderSize)
	putHeader(valid, 1024, idOf(7), 100, true)
	f.Add(valid, int64(1024+HeaderSize), int64(100))
	putHeader(valid, 1024, idOf(7), 100, false)
	f.Add(valid, int64(1024+HeaderSize), int64(100))
	f.Add(valid, int64(1024+HeaderSize), int64(101))
	f.Add(make([]byte, HeaderSize), int64(HeaderSize), int64(0))
	f.Add([]byte("short"), int64(-64), int64(-1))
	f.Add(valid, int64(segSize), int64(0))
	f.Add(valid, int64(1<<62), int64(1<<62))

	f.Fuzz(func(t *testing.T, hdr []byte, off, size int64) {
		// The header goes at 1024 (where a valid one belongs) and, if the
		// Slot asks for another place inside the segment, there too.
		clear(mem)
		copy(mem[1024:1024+HeaderSize], hdr)
		if off >= HeaderSize && off <= segSize {
			copy(mem[off-HeaderSize:off], hdr)
		}
		sl := Slot{Offset: off, Size: size}
		for _, sealed := range []bool{true, false} {
			b, id, err := v.access(sl, sealed)
			if err != nil {
				if b != nil {
					t.Fatal("a slice with an error")
				}
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrSealed) && !errors.Is(err, ErrNotSealed) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			if int64(len(b)) != size || off < HeaderSize || off+size > segSize || off%Align != 0 {
				t.Fatalf("slot %d+%d gave %d bytes", off, size, len(b))
			}
			re := make([]byte, HeaderSize)
			putHeader(re, off-HeaderSize, id, size, sealed)
			if !bytes.Equal(re, mem[off-HeaderSize:off]) {
				t.Fatalf("accepted header %x is not the encoding %x", mem[off-HeaderSize:off], re)
			}
		}
		// parseHeader alone, on the raw input.
		if h, ok := parseHeader(hdr); ok {
			re := make([]byte, HeaderSize)
			putHeader(re, h.self, h.id, h.size, h.sealed)
			if !bytes.Equal(re, hdr[:HeaderSize]) {
				t.Fatalf("parsed %+v from %x, encodes as %x", h, hdr[:HeaderSize], re)
			}
			if binary.LittleEndian.Uint32(hdr) != objMagic {
				t.Fatal("accepted a bad magic number")
			}
		}
	})
}

package collective

import (
	"bytes"
	"testing"
	"unsafe"
)

// elementsOf reads another process's inline chunk: the elements are the
// bytes' whole elements, read in place or copied (a misaligned start),
// never past the end.
func FuzzElementsOf(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, uint8(0))
	f.Add(bytes.Repeat([]byte{1, 2, 3}, 11), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, skip uint8) {
		// Misaligned starts, as a decoder could hand over.
		b = b[min(int(skip%8), len(b)):]
		check := func(size int, got []byte, n int) {
			if n != len(b)/size || !bytes.Equal(got, b[:n*size]) {
				t.Fatalf("%d bytes as %d-byte elements: %d elements, bytes %x", len(b), size, n, got)
			}
		}
		e64 := elementsOf[float64](b)
		check(8, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(e64))), len(e64)*8), len(e64))
		e32 := elementsOf[float32](b)
		check(4, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(e32))), len(e32)*4), len(e32))
	})
}

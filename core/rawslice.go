package core

import (
	"encoding/binary"
	"reflect"
	"unsafe"
)

// Raw slices ([]byte, []float32, []float64 and named types of them) travel
// as a format byte, zero padding, then the elements' memory, little-endian.
// Small ones pad to 8 bytes (floats, to stay aligned) or not at all
// (bytes). From alignAbove bytes of elements on, the elements start
// rawAligned bytes in, so in the object store, whose data is 64-byte
// aligned, they are cache-line aligned: a misaligned copy of a value that
// sits in cache runs at about 60% of an aligned one, which puts and reads
// of large values would pay every time.
const (
	alignAbove = 32 << 10
	rawAligned = 64
	rawPadded  = 8
)

// rawFormats names the two formats of one element type.
type rawFormats struct {
	small, aligned byte
	smallHeader    int
}

func rawFormatsOf[E Elem]() rawFormats {
	switch reflect.TypeFor[E]().Kind() {
	case reflect.Uint8:
		return rawFormats{fmtBytes, fmtBytesAligned, 1}
	case reflect.Float32:
		return rawFormats{fmtFloat32s, fmtFloat32sAligned, rawPadded}
	}
	return rawFormats{fmtFloat64s, fmtFloat64sAligned, rawPadded}
}

// header returns the format and header length for n bytes of elements.
func (f rawFormats) header(n int) (byte, int) {
	if n >= alignAbove {
		return f.aligned, rawAligned
	}
	return f.small, f.smallHeader
}

// rawEncodedLen is the encoded size of n elements of E.
func rawEncodedLen[E Elem](n int) int {
	body := n * int(unsafe.Sizeof(E(0)))
	_, h := rawFormatsOf[E]().header(body)
	return h + body
}

// appendRawSlice encodes s.
func appendRawSlice[E Elem](dst []byte, s []E) []byte {
	size := int(unsafe.Sizeof(E(0)))
	f, h := rawFormatsOf[E]().header(len(s) * size)
	dst = append(dst, f)
	dst = append(dst, make([]byte, h-1)...)
	if len(s) == 0 {
		return dst
	}
	if littleEndian {
		return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*size)...)
	}
	for i := range s {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&s[i])), size)
		for j := size - 1; j >= 0; j-- {
			dst = append(dst, b[j])
		}
	}
	return dst
}

// rawBytes returns the element bytes of src, an encoding of []E, or false
// if src is not one.
func rawBytes[E Elem](src []byte) ([]byte, bool) {
	if len(src) == 0 {
		return nil, false
	}
	fs := rawFormatsOf[E]()
	h := 0
	switch src[0] {
	case fs.small:
		h = fs.smallHeader
	case fs.aligned:
		h = rawAligned
	default:
		return nil, false
	}
	if len(src) < h || (len(src)-h)%int(unsafe.Sizeof(E(0))) != 0 {
		return nil, false
	}
	return src[h:], true
}

// decodeRawSlice decodes src into a new []E.
func decodeRawSlice[E Elem](src []byte) ([]E, error) {
	body, ok := rawBytes[E](src)
	if !ok {
		return nil, formatError(src, "[]"+reflect.TypeFor[E]().String())
	}
	size := int(unsafe.Sizeof(E(0)))
	out := make([]E, len(body)/size)
	if len(out) == 0 {
		return out, nil
	}
	if littleEndian {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(body)), body)
		return out, nil
	}
	for i := range out {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&out[i])), size)
		for j := range size {
			b[size-1-j] = body[i*size+j]
		}
	}
	return out, nil
}

// viewRawSlice reinterprets the elements of src in place; false if it is
// not an encoding of []E, or its elements are not aligned for E.
func viewRawSlice[E Elem](src []byte) ([]E, bool) {
	body, ok := rawBytes[E](src)
	if !ok || !littleEndian {
		return nil, false
	}
	size := int(unsafe.Sizeof(E(0)))
	if len(body) == 0 {
		return []E{}, true
	}
	if uintptr(unsafe.Pointer(&body[0]))%uintptr(size) != 0 {
		return nil, false
	}
	return unsafe.Slice((*E)(unsafe.Pointer(&body[0])), len(body)/size), true
}

// setRawCodec makes c, for a slice type T of E, encode as a raw slice.
func setRawCodec[T any, E Elem](c *codec[T]) {
	c.enc = func(dst []byte, v *T) ([]byte, error) { return appendRawSlice(dst, *(*[]E)(unsafe.Pointer(v))), nil }
	c.size = func(v *T) int { return rawEncodedLen[E](len(*(*[]E)(unsafe.Pointer(v)))) }
	c.dec = func(src []byte, v *T) error {
		s, err := decodeRawSlice[E](src)
		*(*[]E)(unsafe.Pointer(v)) = s
		return err
	}
}

// littleEndian: raw slices travel little-endian, so on such machines (all
// that Go runs manta on today) they are copied as raw memory, at memcpy
// speed.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

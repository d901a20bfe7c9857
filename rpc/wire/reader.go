package wire

import (
	"encoding/binary"
	"fmt"
)

// Reader reads the fields of a binary message off a byte slice: unsigned
// and zig-zag varints in their one minimal encoding, length-prefixed byte
// strings (aliasing the input), counts checked against the bytes left so a
// forged length cannot force a huge allocation. The first failure sticks
// (later reads return zero values and the input is dropped), so a decoder
// reads straight through and checks Err once. Every failure wraps the
// sentinel given to NewReader. Other message formats (the GCS's) use it
// too.
type Reader struct {
	buf       []byte
	err       error
	malformed error
}

// NewReader reads src; failures wrap malformed.
func NewReader(src []byte, malformed error) Reader { return Reader{buf: src, malformed: malformed} }

// Err is the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Len is the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.buf) }

// Rest returns the bytes not read yet (aliasing the input).
func (r *Reader) Rest() []byte { return r.buf }

// Fail records a failure (unless one is recorded) and drops the input.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{r.malformed}, args...)...)
	}
	r.buf = nil
}

// Next returns the next n bytes as they are (aliasing the input).
func (r *Reader) Next(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.buf) < n {
		r.Fail("truncated %s", what)
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

// Byte reads one byte.
func (r *Reader) Byte(what string) byte {
	if b := r.Next(1, what); b != nil {
		return b[0]
	}
	return 0
}

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool(what string) bool {
	switch b := r.Byte(what); b {
	case 0, 1:
		return b == 1
	default:
		r.Fail("%s flag %d", what, b)
		return false
	}
}

// Fixed32 reads a little-endian uint32.
func (r *Reader) Fixed32(what string) uint32 {
	if b := r.Next(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// Fixed64 reads a little-endian uint64.
func (r *Reader) Fixed64(what string) uint64 {
	if b := r.Next(8, what); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// TaskID reads a task ID in AppendTaskID's form.
func (r *Reader) TaskID(what string) TaskID {
	return TaskID{Hi: r.Fixed64(what), Lo: r.Fixed64(what)}
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint(what string) uint64 {
	v, ok := r.rawUvarint()
	if !ok {
		r.Fail("bad %s varint", what)
	}
	return v
}

// rawUvarint reads a varint, leaving the error message to the caller so
// that callers never build one on the success path.
func (r *Reader) rawUvarint() (uint64, bool) {
	if r.err != nil {
		return 0, true
	}
	v, n := binary.Uvarint(r.buf)
	// Overlong encodings are refused so every message has one encoding.
	if n <= 0 || n != uvarintLen(v) {
		return 0, false
	}
	r.buf = r.buf[n:]
	return v, true
}

// Varint reads a zig-zag varint.
func (r *Reader) Varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 || n != uvarintLen(zigzag(v)) {
		r.Fail("bad %s varint", what)
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// Uint32 reads an unsigned varint that must fit in 32 bits.
func (r *Reader) Uint32(what string) uint32 {
	v := r.Uvarint(what)
	if v > 1<<32-1 {
		r.Fail("%s %d overflows 32 bits", what, v)
		return 0
	}
	return uint32(v)
}

// Count reads a list length and checks it against the bytes left, given
// the least each element takes.
func (r *Reader) Count(what string, minElem int) int {
	n, ok := r.rawUvarint()
	if !ok {
		r.Fail("bad %s count", what)
		return 0
	}
	if r.err == nil && n > uint64(len(r.buf)/minElem) {
		r.Fail("%s count %d exceeds the %d bytes left", what, n, len(r.buf))
		return 0
	}
	return int(n)
}

// Bytes reads a length-prefixed byte string; it aliases the input.
func (r *Reader) Bytes(what string) []byte {
	n, ok := r.rawUvarint()
	if !ok {
		r.Fail("bad %s length", what)
	}
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.buf)) {
		r.Fail("%s length %d exceeds the %d bytes left", what, n, len(r.buf))
		return nil
	}
	return r.Next(int(n), what)
}

// End fails if bytes are left after what should have been the last field.
func (r *Reader) End(what string) {
	if r.err == nil && len(r.buf) != 0 {
		r.Fail("%d trailing bytes after %s", len(r.buf), what)
	}
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

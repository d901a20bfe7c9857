package gcs

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error decoding a frame, message,
// command or snapshot.
var ErrMalformed = errors.New("gcs: malformed message")

// decoder reads fields off buf; the first failure sticks and later reads
// return zero values, so decoders read straight through and check once.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	d.buf = nil
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) < 1 {
		d.fail("truncated %s", what)
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) bool(what string) bool {
	switch b := d.byte(what); b {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("%s %d is not a bool", what, b)
		return false
	}
}

func (d *decoder) uvarint(what string) uint64 {
	v, ok := d.rawUvarint()
	if !ok {
		d.fail("bad %s varint", what)
	}
	return v
}

// rawUvarint reads a varint, leaving the error message to the caller so
// that no message is built on the success path.
func (d *decoder) rawUvarint() (uint64, bool) {
	if d.err != nil {
		return 0, true
	}
	v, n := binary.Uvarint(d.buf)
	// Overlong encodings are refused so every message has one encoding.
	if n <= 0 || n != uvarintLen(v) {
		return 0, false
	}
	d.buf = d.buf[n:]
	return v, true
}

func (d *decoder) uint32(what string) uint32 {
	v := d.uvarint(what)
	if v > 1<<32-1 {
		d.fail("%s %d overflows 32 bits", what, v)
		return 0
	}
	return uint32(v)
}

// count reads a list length and checks it against the bytes left, given the
// least each element takes, so a forged length cannot force a huge
// allocation.
func (d *decoder) count(what string, minElem int) int {
	n, ok := d.rawUvarint()
	if !ok {
		d.fail("bad %s count", what)
		return 0
	}
	if d.err == nil && n > uint64(len(d.buf)/minElem) {
		d.fail("%s count %d exceeds the %d bytes left", what, n, len(d.buf))
		return 0
	}
	return int(n)
}

// bytes reads a length-prefixed field; it aliases the input.
func (d *decoder) bytes(what string) []byte {
	n, ok := d.rawUvarint()
	if !ok {
		d.fail("bad %s length", what)
	}
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail("%s length %d exceeds the %d bytes left", what, n, len(d.buf))
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) end(what string) {
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes after %s", len(d.buf), what)
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

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendOp encodes op onto dst: kind, table, key, value (the last two
// length-prefixed). It is the command a chain replicates.
func AppendOp(dst []byte, op *Op) []byte {
	dst = append(dst, byte(op.Kind), byte(op.Table))
	dst = appendBytes(dst, op.Key)
	return appendBytes(dst, op.Value)
}

// DecodeOp decodes what AppendOp encoded. Key and Value alias src. It
// checks the encoding, not the op's validity (see Op's limits).
func DecodeOp(src []byte, op *Op) error {
	d := decoder{buf: src}
	op.Kind = OpKind(d.byte("op kind"))
	op.Table = Table(d.byte("table"))
	op.Key = d.bytes("key")
	op.Value = d.bytes("value")
	d.end("op")
	return d.err
}

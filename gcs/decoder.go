package gcs

import (
	"encoding/binary"
	"errors"

	"manta/rpc/wire"
)

// ErrMalformed is wrapped by every error decoding a frame, message,
// command or snapshot.
var ErrMalformed = errors.New("gcs: malformed message")

// decoder is rpc/wire's Reader, failing with ErrMalformed, plus the GCS's
// own compound fields (see wire.go).
type decoder struct{ wire.Reader }

func newDecoder(src []byte) decoder { return decoder{wire.NewReader(src, ErrMalformed)} }

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
	d := newDecoder(src)
	op.Kind = OpKind(d.Byte("op kind"))
	op.Table = Table(d.Byte("table"))
	op.Key = d.Bytes("key")
	op.Value = d.Bytes("value")
	d.End("op")
	return d.Err()
}

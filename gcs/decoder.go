package gcs

import (
	"encoding/binary"
	"errors"

	"manta/rpc/wire"
)

// ErrMalformed is wrapped by every error decoding a record, op, snapshot,
// frame or chain-protocol message (every GCS package decodes with it).
var ErrMalformed = errors.New("gcs: malformed message")

// newDecoder reads src with rpc/wire's Reader, failing with ErrMalformed.
func newDecoder(src []byte) wire.Reader { return wire.NewReader(src, ErrMalformed) }

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
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

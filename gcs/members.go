package gcs

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// The value under a key of a log or set table is its members back to back,
// each a uvarint length then the bytes, oldest first. Get returns that
// encoding; Members splits it.

func appendMember(dst, m []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m)))
	return append(dst, m...)
}

// Members splits the value of a key in a log or set table into its members,
// oldest first, appending them to dst. They alias data.
func Members(data []byte, dst [][]byte) ([][]byte, error) {
	for len(data) > 0 {
		m, rest, ok := nextMember(data)
		if !ok {
			return dst, fmt.Errorf("%w: bad member encoding", ErrBadOp)
		}
		dst = append(dst, m)
		data = rest
	}
	return dst, nil
}

func nextMember(data []byte) (m, rest []byte, ok bool) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) {
		return nil, nil, false
	}
	return data[k : k+int(n) : k+int(n)], data[k+int(n):], true
}

// findMember returns the offset and encoded length of member m in data, or
// -1.
func findMember(data, m []byte) (off, n int) {
	rest := data
	for len(rest) > 0 {
		cur, next, ok := nextMember(rest)
		if !ok {
			return -1, 0
		}
		if bytes.Equal(cur, m) {
			return len(data) - len(rest), len(rest) - len(next)
		}
		rest = next
	}
	return -1, 0
}

package store

import (
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
)

// ID names an object. Core passes its 20-byte ObjectID encoding.
type ID [20]byte

// String returns the ID in hexadecimal.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Slot says where an object's data lives in the segment: Size bytes from
// Offset. Offset is a multiple of Align; the object's header occupies the
// HeaderSize bytes before it.
type Slot struct {
	Offset, Size int64
}

// Memory layout of one allocation: a HeaderSize header, then the data,
// then padding up to a multiple of Align. Allocations start at multiples
// of Align, so the data does too: float64 or float32 elements stored at
// an aligned offset in it can be read in place.
const (
	// Align is the alignment of every allocation and of every object's
	// data: a cache line, enough for any Go scalar type.
	Align = 64
	// HeaderSize is the size of the object header in front of the data.
	HeaderSize = 64
)

// Header fields, little-endian. The checksum covers bytes [0, hdrCRC).
const (
	hdrMagic   = 0  // uint32
	hdrVersion = 4  // uint16
	hdrFlags   = 6  // uint16: flagSealed
	hdrID      = 8  // [20]byte
	hdrSize    = 32 // uint64 data size
	hdrSelf    = 40 // uint64 offset of this header in the segment
	hdrCRC     = 60 // uint32 CRC-32C of bytes [0, 60)

	objMagic   = 0x6a626f6d // "mobj"
	objVersion = 1
	flagSealed = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// allocSize is the bytes an object of size data bytes occupies.
func allocSize(size int64) int64 {
	return HeaderSize + (size+Align-1)&^(Align-1)
}

// putHeader writes the header of an object whose allocation starts at
// mem[off] (h must be mem[off:off+HeaderSize]).
func putHeader(h []byte, off int64, id ID, size int64, sealed bool) {
	_ = h[HeaderSize-1]
	clear(h)
	binary.LittleEndian.PutUint32(h[hdrMagic:], objMagic)
	binary.LittleEndian.PutUint16(h[hdrVersion:], objVersion)
	if sealed {
		binary.LittleEndian.PutUint16(h[hdrFlags:], flagSealed)
	}
	copy(h[hdrID:], id[:])
	binary.LittleEndian.PutUint64(h[hdrSize:], uint64(size))
	binary.LittleEndian.PutUint64(h[hdrSelf:], uint64(off))
	binary.LittleEndian.PutUint32(h[hdrCRC:], crc32.Checksum(h[:hdrCRC], castagnoli))
}

// header is a decoded, checksum-verified object header.
type header struct {
	id     ID
	size   int64
	self   int64
	sealed bool
}

// parseHeader decodes h (HeaderSize bytes) and checks magic, version,
// flags and checksum. It only reports whether the header is well formed;
// the caller checks it against what it expected.
func parseHeader(h []byte) (header, bool) {
	if len(h) < HeaderSize {
		return header{}, false
	}
	if binary.LittleEndian.Uint32(h[hdrMagic:]) != objMagic ||
		binary.LittleEndian.Uint16(h[hdrVersion:]) != objVersion ||
		binary.LittleEndian.Uint32(h[hdrCRC:]) != crc32.Checksum(h[:hdrCRC], castagnoli) {
		return header{}, false
	}
	flags := binary.LittleEndian.Uint16(h[hdrFlags:])
	if flags&^flagSealed != 0 || binary.LittleEndian.Uint32(h[hdrID+len(ID{}):]) != 0 || !allZero(h[hdrSelf+8:hdrCRC]) {
		return header{}, false // reserved bits are zero: a header has one encoding
	}
	size := binary.LittleEndian.Uint64(h[hdrSize:])
	self := binary.LittleEndian.Uint64(h[hdrSelf:])
	if size > 1<<62 || self > 1<<62 {
		return header{}, false
	}
	var hd header
	copy(hd.id[:], h[hdrID:])
	hd.size, hd.self, hd.sealed = int64(size), int64(self), flags&flagSealed != 0
	return hd, true
}

// invalidate makes the header at h fail parseHeader, so a stale Slot to
// freed memory reads as ErrCorrupt rather than as another object's bytes.
func invalidate(h []byte) {
	binary.LittleEndian.PutUint32(h[hdrMagic:], 0)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

package gcs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
)

// A flush segment is one file of flushed entries, written once and then
// only read:
//
//	magic   "MNTSEG01"
//	records each: u32 payload length, u32 CRC32C of the payload, payload =
//	        table u8, flags u8, uvarint key length, key, data
//	index   one 16-byte entry per record, sorted by key hash: u64 key hash,
//	        u32 record offset, u32 CRC32C of the first 12 bytes
//	footer  u64 index offset, u32 record count, u32 CRC32C of the index,
//	        u32 CRC32C of the first 16 footer bytes, "MSEG"
//
// Integers are little-endian. Every read checks the checksum of what it
// reads, so a corrupt segment is reported as ErrCorrupt, never served.
const (
	segMagic       = "MNTSEG01"
	segFooterMagic = "MSEG"
	segFooterSize  = 24
	segIndexEntry  = 16
	segRecordHead  = 8

	flagTomb    = 1 << 0 // a deleted key: hides older versions
	flagPartial = 1 << 1 // a log entry whose older members are in older segments
	flagsKnown  = flagTomb | flagPartial
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// segment is one segment file and what is kept of it in memory.
type segment struct {
	path     string
	f        *os.File
	size     int64
	indexOff int64
	count    int
	bloom    bloom
}

// segRecord is one decoded record.
type segRecord struct {
	t     Table
	flags byte
	key   []byte
	data  []byte
}

// encodeSegment builds a segment file's bytes from entries, reusing buf.
func encodeSegment(buf []byte, entries []*entry) ([]byte, bloom) {
	type idx struct {
		h   uint64
		off uint32
	}
	index := make([]idx, 0, len(entries))
	bl := newBloom(len(entries))
	buf = append(buf[:0], segMagic...)
	for _, e := range entries {
		off := len(buf)
		buf = append(buf, make([]byte, segRecordHead)...)
		var flags byte
		if e.tomb {
			flags |= flagTomb
		}
		if e.partial {
			flags |= flagPartial
		}
		buf = append(buf, byte(e.t), flags)
		buf = binary.AppendUvarint(buf, uint64(len(e.key)))
		buf = append(buf, e.key...)
		buf = append(buf, e.data...)
		payload := buf[off+segRecordHead:]
		binary.LittleEndian.PutUint32(buf[off:], uint32(len(payload)))
		binary.LittleEndian.PutUint32(buf[off+4:], crc(payload))
		h := keyHash(e.t, []byte(e.key))
		index = append(index, idx{h, uint32(off)})
		bl.add(h)
	}
	slices.SortFunc(index, func(a, b idx) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		return int(a.off) - int(b.off)
	})
	indexOff := len(buf)
	for _, x := range index {
		at := len(buf)
		buf = binary.LittleEndian.AppendUint64(buf, x.h)
		buf = binary.LittleEndian.AppendUint32(buf, x.off)
		buf = binary.LittleEndian.AppendUint32(buf, crc(buf[at:at+12]))
	}
	footer := len(buf)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(indexOff))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(index)))
	buf = binary.LittleEndian.AppendUint32(buf, crc(buf[indexOff:footer]))
	buf = binary.LittleEndian.AppendUint32(buf, crc(buf[footer:footer+16]))
	buf = append(buf, segFooterMagic...)
	return buf, bl
}

// writeSegment writes data to path (through a temporary name, so a crash
// never leaves a half-written file under the final name) and opens it for
// reading.
func writeSegment(path string, data []byte, bl bloom) (*segment, error) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("gcs: cannot write flush segment: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("gcs: cannot write flush segment: %w", err)
	}
	seg, err := openSegment(path)
	if err != nil {
		return nil, err
	}
	seg.bloom = bl
	return seg, nil
}

// openSegment opens a segment file and checks its footer and index. The
// bloom filter is rebuilt from the index.
func openSegment(path string) (*segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gcs: cannot open flush segment: %w", err)
	}
	seg := &segment{path: path, f: f}
	if err := seg.readFooter(); err != nil {
		f.Close()
		return nil, err
	}
	return seg, nil
}

func (s *segment) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, s.path, fmt.Sprintf(format, args...))
}

func (s *segment) readFooter() error {
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	s.size = st.Size()
	if s.size < int64(len(segMagic)+segFooterSize) {
		return s.corrupt("%d bytes is too short", s.size)
	}
	var head [len(segMagic)]byte
	if _, err := s.f.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	if string(head[:]) != segMagic {
		return s.corrupt("bad magic %q", head[:])
	}
	var ft [segFooterSize]byte
	if _, err := s.f.ReadAt(ft[:], s.size-segFooterSize); err != nil {
		return fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	if string(ft[20:]) != segFooterMagic || binary.LittleEndian.Uint32(ft[16:]) != crc(ft[:16]) {
		return s.corrupt("footer checksum mismatch")
	}
	s.indexOff = int64(binary.LittleEndian.Uint64(ft[0:]))
	s.count = int(binary.LittleEndian.Uint32(ft[8:]))
	if s.indexOff < int64(len(segMagic)) || s.indexOff+int64(s.count)*segIndexEntry != s.size-segFooterSize {
		return s.corrupt("index of %d entries at %d does not fit %d bytes", s.count, s.indexOff, s.size)
	}
	return nil
}

// loadIndex reads and checks the whole index and rebuilds the bloom filter.
func (s *segment) loadIndex() error {
	index := make([]byte, s.count*segIndexEntry)
	if _, err := s.f.ReadAt(index, s.indexOff); err != nil {
		return fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	var ft [4]byte
	if _, err := s.f.ReadAt(ft[:], s.size-segFooterSize+12); err != nil {
		return fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	if crc(index) != binary.LittleEndian.Uint32(ft[:]) {
		return s.corrupt("index checksum mismatch")
	}
	s.bloom = newBloom(s.count)
	for i := 0; i < s.count; i++ {
		s.bloom.add(binary.LittleEndian.Uint64(index[i*segIndexEntry:]))
	}
	return nil
}

// indexAt reads index entry i and checks its checksum.
func (s *segment) indexAt(i int) (h uint64, off int64, err error) {
	var b [segIndexEntry]byte
	if _, err := s.f.ReadAt(b[:], s.indexOff+int64(i)*segIndexEntry); err != nil {
		return 0, 0, fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	if crc(b[:12]) != binary.LittleEndian.Uint32(b[12:]) {
		return 0, 0, s.corrupt("index entry %d checksum mismatch", i)
	}
	off = int64(binary.LittleEndian.Uint32(b[8:]))
	if off < int64(len(segMagic)) || off+segRecordHead > s.indexOff {
		return 0, 0, s.corrupt("index entry %d points at %d", i, off)
	}
	return binary.LittleEndian.Uint64(b[:]), off, nil
}

// recordAt reads and checks the record at off, reusing buf. The record's
// fields alias buf.
func (s *segment) recordAt(off int64, buf []byte) (segRecord, []byte, int64, error) {
	var head [segRecordHead]byte
	if _, err := s.f.ReadAt(head[:], off); err != nil {
		return segRecord{}, buf, 0, fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	n := int64(binary.LittleEndian.Uint32(head[:]))
	if off+segRecordHead+n > s.indexOff {
		return segRecord{}, buf, 0, s.corrupt("record at %d: length %d runs past the records", off, n)
	}
	buf = slices.Grow(buf[:0], int(n))[:n]
	if _, err := s.f.ReadAt(buf, off+segRecordHead); err != nil {
		return segRecord{}, buf, 0, fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	if crc(buf) != binary.LittleEndian.Uint32(head[4:]) {
		return segRecord{}, buf, 0, s.corrupt("record at %d: checksum mismatch", off)
	}
	r, err := decodeRecord(buf)
	if err != nil {
		return segRecord{}, buf, 0, s.corrupt("record at %d: %v", off, err)
	}
	return r, buf, off + segRecordHead + n, nil
}

func decodeRecord(p []byte) (segRecord, error) {
	if len(p) < 3 {
		return segRecord{}, io.ErrUnexpectedEOF
	}
	r := segRecord{t: Table(p[0]), flags: p[1]}
	if !r.t.Valid() || r.flags&^flagsKnown != 0 {
		return segRecord{}, fmt.Errorf("table %d flags %#x", p[0], p[1])
	}
	n, k := binary.Uvarint(p[2:])
	if k <= 0 || n > uint64(len(p)-2-k) {
		return segRecord{}, fmt.Errorf("bad key length")
	}
	r.key = p[2+k : 2+k+int(n)]
	r.data = p[2+k+int(n):]
	return r, nil
}

// find looks key up in the segment, appending its record's data to dst.
func (s *segment) find(t Table, key []byte, h uint64, dst []byte, buf *[]byte) (_ []byte, flags byte, found bool, err error) {
	// Binary search for the first index entry with hash >= h.
	lo, hi := 0, s.count
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		mh, _, err := s.indexAt(mid)
		if err != nil {
			return dst, 0, false, err
		}
		if mh < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for i := lo; i < s.count; i++ {
		mh, off, err := s.indexAt(i)
		if err != nil {
			return dst, 0, false, err
		}
		if mh != h {
			break
		}
		var r segRecord
		r, *buf, _, err = s.recordAt(off, *buf)
		if err != nil {
			return dst, 0, false, err
		}
		if r.t == t && bytes.Equal(r.key, key) {
			return append(dst, r.data...), r.flags, true, nil
		}
	}
	return dst, 0, false, nil
}

// scan calls fn for every record in file order, checking each.
func (s *segment) scan(fn func(r segRecord) error) error {
	var buf []byte
	for off := int64(len(segMagic)); off < s.indexOff; {
		var r segRecord
		var err error
		r, buf, off, err = s.recordAt(off, buf)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// verify checks every checksum in the segment.
func (s *segment) verify() error {
	if err := s.loadIndex(); err != nil {
		return err
	}
	return s.scan(func(segRecord) error { return nil })
}

func (s *segment) close() error { return s.f.Close() }

package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
)

// A segment is one file of records, written once and then only read:
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
	magic       = "MNTSEG01"
	footerMagic = "MSEG"
	footerSize  = 24
	indexEntry  = 16
	recordHead  = 8
)

// ErrCorrupt is wrapped by every error about a segment that failed a
// checksum or is malformed.
var ErrCorrupt = errors.New("gcs: corrupt segment")

// Flags say what a record stands for besides its data.
type Flags uint8

const (
	// Tomb marks a deleted key: it hides the key's versions in older
	// segments.
	Tomb Flags = 1 << 0
	// Partial marks a log entry whose older members are in older
	// segments.
	Partial Flags = 1 << 1

	knownFlags = Tomb | Partial
)

// Record is one entry of a segment. Table (never 0) and Key name it; Hash
// is the caller's hash of the two, which the index is sorted by and the
// Bloom filter holds, so every process must hash alike; Data is the value.
type Record struct {
	Hash  uint64
	Table uint8
	Flags Flags
	Key   string
	Data  []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Segment is one segment: a file a Flusher wrote or loaded, or bytes in
// memory (Parse). Its index and records stay where they are; only the
// Bloom filter is kept in memory.
type Segment struct {
	name     string // the path, for errors
	r        io.ReaderAt
	f        *os.File // nil for a segment in memory
	size     int64
	indexOff int64
	count    int
	bloom    bloom
}

// rawRecord is one decoded record; key and data alias a read buffer.
type rawRecord struct {
	table uint8
	flags Flags
	key   []byte
	data  []byte
}

// encode builds a segment's bytes from recs, reusing buf.
func encode(buf []byte, recs []Record) ([]byte, bloom) {
	type idx struct {
		h   uint64
		off uint32
	}
	index := make([]idx, 0, len(recs))
	bl := newBloom(len(recs))
	buf = append(buf[:0], magic...)
	for _, r := range recs {
		off := len(buf)
		buf = append(buf, make([]byte, recordHead)...)
		buf = append(buf, r.Table, byte(r.Flags))
		buf = binary.AppendUvarint(buf, uint64(len(r.Key)))
		buf = append(buf, r.Key...)
		buf = append(buf, r.Data...)
		payload := buf[off+recordHead:]
		binary.LittleEndian.PutUint32(buf[off:], uint32(len(payload)))
		binary.LittleEndian.PutUint32(buf[off+4:], crc(payload))
		index = append(index, idx{r.Hash, uint32(off)})
		bl.add(r.Hash)
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
	buf = append(buf, footerMagic...)
	return buf, bl
}

// create writes data to path (through a temporary name, so a crash never
// leaves a half-written file under the final name) and opens it; bl is
// its Bloom filter, already built.
func create(path string, data []byte, bl bloom) (*Segment, error) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("gcs: cannot write flush segment: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("gcs: cannot write flush segment: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gcs: cannot open flush segment: %w", err)
	}
	s := &Segment{name: path, r: f, f: f, size: int64(len(data))}
	if err := s.readFooter(); err != nil {
		f.Close()
		return nil, err
	}
	s.bloom = bl
	return s, nil
}

// open opens a segment file and checks its footer. The Bloom filter is
// built by loadIndex.
func open(path string) (*Segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gcs: cannot open flush segment: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	s := &Segment{name: path, r: f, f: f, size: st.Size()}
	if err := s.readFooter(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// Parse checks and indexes a segment held in memory (one a snapshot
// carried), aliasing data.
func Parse(data []byte) (*Segment, error) {
	s := &Segment{name: "segment in memory", r: bytes.NewReader(data), size: int64(len(data))}
	if err := s.readFooter(); err != nil {
		return nil, err
	}
	if err := s.loadIndex(); err != nil {
		return nil, err
	}
	return s, nil
}

// Size is the segment's length in bytes.
func (s *Segment) Size() int64 { return s.size }

// AppendTo appends the segment's bytes to dst.
func (s *Segment) AppendTo(dst []byte) ([]byte, error) {
	at := len(dst)
	dst = slices.Grow(dst, int(s.size))[:at+int(s.size)]
	if _, err := s.r.ReadAt(dst[at:], 0); err != nil {
		return dst[:at], fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	return dst, nil
}

func (s *Segment) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, s.name, fmt.Sprintf(format, args...))
}

func (s *Segment) readAt(b []byte, off int64) error {
	if _, err := s.r.ReadAt(b, off); err != nil {
		return fmt.Errorf("gcs: cannot read flush segment: %w", err)
	}
	return nil
}

func (s *Segment) readFooter() error {
	if s.size < int64(len(magic)+footerSize) {
		return s.corrupt("%d bytes is too short", s.size)
	}
	var head [len(magic)]byte
	if err := s.readAt(head[:], 0); err != nil {
		return err
	}
	if string(head[:]) != magic {
		return s.corrupt("bad magic %q", head[:])
	}
	var ft [footerSize]byte
	if err := s.readAt(ft[:], s.size-footerSize); err != nil {
		return err
	}
	if string(ft[20:]) != footerMagic || binary.LittleEndian.Uint32(ft[16:]) != crc(ft[:16]) {
		return s.corrupt("footer checksum mismatch")
	}
	s.indexOff = int64(binary.LittleEndian.Uint64(ft[0:]))
	s.count = int(binary.LittleEndian.Uint32(ft[8:]))
	if s.indexOff < int64(len(magic)) || s.indexOff+int64(s.count)*indexEntry != s.size-footerSize {
		return s.corrupt("index of %d entries at %d does not fit %d bytes", s.count, s.indexOff, s.size)
	}
	return nil
}

// loadIndex reads and checks the whole index and rebuilds the Bloom
// filter.
func (s *Segment) loadIndex() error {
	index := make([]byte, s.count*indexEntry)
	if err := s.readAt(index, s.indexOff); err != nil {
		return err
	}
	var ft [4]byte
	if err := s.readAt(ft[:], s.size-footerSize+12); err != nil {
		return err
	}
	if crc(index) != binary.LittleEndian.Uint32(ft[:]) {
		return s.corrupt("index checksum mismatch")
	}
	s.bloom = newBloom(s.count)
	for i := 0; i < s.count; i++ {
		s.bloom.add(binary.LittleEndian.Uint64(index[i*indexEntry:]))
	}
	return nil
}

// indexAt reads index entry i and checks its checksum.
func (s *Segment) indexAt(i int) (h uint64, off int64, err error) {
	var b [indexEntry]byte
	if err := s.readAt(b[:], s.indexOff+int64(i)*indexEntry); err != nil {
		return 0, 0, err
	}
	if crc(b[:12]) != binary.LittleEndian.Uint32(b[12:]) {
		return 0, 0, s.corrupt("index entry %d checksum mismatch", i)
	}
	off = int64(binary.LittleEndian.Uint32(b[8:]))
	if off < int64(len(magic)) || off+recordHead > s.indexOff {
		return 0, 0, s.corrupt("index entry %d points at %d", i, off)
	}
	return binary.LittleEndian.Uint64(b[:]), off, nil
}

// recordAt reads and checks the record at off, reusing buf. The record's
// fields alias buf.
func (s *Segment) recordAt(off int64, buf []byte) (rawRecord, []byte, int64, error) {
	var head [recordHead]byte
	if err := s.readAt(head[:], off); err != nil {
		return rawRecord{}, buf, 0, err
	}
	n := int64(binary.LittleEndian.Uint32(head[:]))
	if off+recordHead+n > s.indexOff {
		return rawRecord{}, buf, 0, s.corrupt("record at %d: length %d runs past the records", off, n)
	}
	buf = slices.Grow(buf[:0], int(n))[:n]
	if err := s.readAt(buf, off+recordHead); err != nil {
		return rawRecord{}, buf, 0, err
	}
	if crc(buf) != binary.LittleEndian.Uint32(head[4:]) {
		return rawRecord{}, buf, 0, s.corrupt("record at %d: checksum mismatch", off)
	}
	r, err := decodeRecord(buf)
	if err != nil {
		return rawRecord{}, buf, 0, s.corrupt("record at %d: %v", off, err)
	}
	return r, buf, off + recordHead + n, nil
}

func decodeRecord(p []byte) (rawRecord, error) {
	if len(p) < 3 {
		return rawRecord{}, io.ErrUnexpectedEOF
	}
	r := rawRecord{table: p[0], flags: Flags(p[1])}
	if r.table == 0 || r.flags&^knownFlags != 0 {
		return rawRecord{}, fmt.Errorf("table %d flags %#x", p[0], p[1])
	}
	n, k := binary.Uvarint(p[2:])
	if k <= 0 || n > uint64(len(p)-2-k) {
		return rawRecord{}, fmt.Errorf("bad key length")
	}
	r.key = p[2+k : 2+k+int(n)]
	r.data = p[2+k+int(n):]
	return r, nil
}

// find looks key up in the segment, appending its record's data to dst.
func (s *Segment) find(h uint64, table uint8, key []byte, dst []byte, buf *[]byte) (_ []byte, flags Flags, found bool, err error) {
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
		var r rawRecord
		r, *buf, _, err = s.recordAt(off, *buf)
		if err != nil {
			return dst, 0, false, err
		}
		if r.table == table && bytes.Equal(r.key, key) {
			return append(dst, r.data...), r.flags, true, nil
		}
	}
	return dst, 0, false, nil
}

// Scan calls fn for every record in file order, checking each. Records
// come without their Hash; Data aliases a buffer reused for the next.
func (s *Segment) Scan(fn func(r Record) error) error {
	var buf []byte
	for off := int64(len(magic)); off < s.indexOff; {
		var r rawRecord
		var err error
		r, buf, off, err = s.recordAt(off, buf)
		if err != nil {
			return err
		}
		if err := fn(Record{Table: r.table, Flags: r.flags, Key: string(r.key), Data: r.data}); err != nil {
			return err
		}
	}
	return nil
}

// Verify checks every checksum in the segment.
func (s *Segment) Verify() error {
	if err := s.loadIndex(); err != nil {
		return err
	}
	return s.Scan(func(Record) error { return nil })
}

func (s *Segment) close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

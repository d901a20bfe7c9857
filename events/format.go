package events

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"manta/rpc/wire"
)

// FileExt ends the name of every process's events file, PID.mev.
const FileExt = ".mev"

// The file: the magic and a header, then records, each a tag byte and a
// fixed or length-prefixed body, all little-endian.
const (
	magic      = "MANTAEV1"
	tagEvent   = 'E' // time i64, kind u8, index u32, task hi u64, lo u64, aux u64
	tagName    = 'N' // id u32, length u16, bytes
	tagDropped = 'D' // count u64
	eventBody  = 8 + 1 + 4 + 8 + 8 + 8
	maxLabel   = 1 << 10
)

type header struct {
	PID   uint32
	Role  Role
	Label string
}

func appendHeader(dst []byte, h header) []byte {
	dst = append(dst, magic...)
	dst = binary.LittleEndian.AppendUint32(dst, h.PID)
	dst = append(dst, byte(h.Role))
	if len(h.Label) > maxLabel {
		h.Label = h.Label[:maxLabel]
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(h.Label)))
	return append(dst, h.Label...)
}

// appendEvent grows dst once and stores the fields in place: the flusher
// writes millions a second.
func appendEvent(dst []byte, e *Event) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 1+eventBody)[:n+1+eventBody]
	b := dst[n : n+1+eventBody]
	b[0] = tagEvent
	binary.LittleEndian.PutUint64(b[1:], uint64(e.Time))
	b[9] = byte(e.Kind)
	binary.LittleEndian.PutUint32(b[10:], e.Index)
	binary.LittleEndian.PutUint64(b[14:], e.Task.Hi)
	binary.LittleEndian.PutUint64(b[22:], e.Task.Lo)
	binary.LittleEndian.PutUint64(b[30:], e.Aux)
	return dst
}

func appendName(dst []byte, id uint32, name string) []byte {
	if len(name) > 1<<16-1 {
		name = name[:1<<16-1]
	}
	dst = append(dst, tagName)
	dst = binary.LittleEndian.AppendUint32(dst, id)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(name)))
	return append(dst, name...)
}

func appendDropped(dst []byte, n uint64) []byte {
	return binary.LittleEndian.AppendUint64(append(dst, tagDropped), n)
}

// Process is what one process recorded.
type Process struct {
	PID     int
	Role    Role
	Label   string
	Events  []Event
	Names   map[uint64]string // Submit's Aux to the function's name
	Dropped uint64            // events lost to a full ring
	// Truncated is set when the file ended inside a record: the
	// process was still writing it (or died while it did).
	Truncated bool
}

// ErrFormat is wrapped by the errors of files that are not events files.
var ErrFormat = errors.New("events: not an events file")

// Parse reads one process's events file, its events in time order. A
// record cut short at the end (the process is still writing) sets
// Truncated; anything else malformed is an error wrapping ErrFormat.
func Parse(b []byte) (*Process, error) {
	p, err := parseRecords(b)
	if err != nil {
		return nil, err
	}
	// A recorder writes each P's events in order, one P's after another's.
	byTime := func(a, b Event) int { return cmp.Compare(a.Time, b.Time) }
	if !slices.IsSortedFunc(p.Events, byTime) {
		slices.SortStableFunc(p.Events, byTime)
	}
	return p, nil
}

func parseRecords(b []byte) (*Process, error) {
	if len(b) < len(magic)+4+1+2 || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: bad header", ErrFormat)
	}
	b = b[len(magic):]
	p := &Process{PID: int(binary.LittleEndian.Uint32(b)), Role: Role(b[4]), Names: map[uint64]string{}}
	n := int(binary.LittleEndian.Uint16(b[5:]))
	b = b[7:]
	if n > maxLabel || len(b) < n {
		return nil, fmt.Errorf("%w: bad label", ErrFormat)
	}
	p.Label, b = string(b[:n]), b[n:]
	for len(b) > 0 {
		switch b[0] {
		case tagEvent:
			if len(b) < 1+eventBody {
				p.Truncated = true
				return p, nil
			}
			e := Event{Time: int64(binary.LittleEndian.Uint64(b[1:])), Kind: Kind(b[9]), Index: binary.LittleEndian.Uint32(b[10:]),
				Task: wire.TaskID{Hi: binary.LittleEndian.Uint64(b[14:]), Lo: binary.LittleEndian.Uint64(b[22:])}, Aux: binary.LittleEndian.Uint64(b[30:])}
			if e.Kind == 0 || e.Kind >= numKinds {
				return nil, fmt.Errorf("%w: event kind %d", ErrFormat, e.Kind)
			}
			p.Events = append(p.Events, e)
			b = b[1+eventBody:]
		case tagName:
			if len(b) < 7 {
				p.Truncated = true
				return p, nil
			}
			id, n := binary.LittleEndian.Uint32(b[1:]), int(binary.LittleEndian.Uint16(b[5:]))
			if len(b) < 7+n {
				p.Truncated = true
				return p, nil
			}
			p.Names[uint64(id)] = string(b[7 : 7+n])
			b = b[7+n:]
		case tagDropped:
			if len(b) < 9 {
				p.Truncated = true
				return p, nil
			}
			p.Dropped += binary.LittleEndian.Uint64(b[1:])
			b = b[9:]
		default:
			return nil, fmt.Errorf("%w: record tag %#x", ErrFormat, b[0])
		}
	}
	return p, nil
}

// ReadDir parses every events file in dir, ordered by PID.
func ReadDir(dir string) ([]*Process, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*"+FileExt))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("events: no %s files in %s", FileExt, dir)
	}
	var out []*Process
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		p, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

package events

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"unsafe"

	"manta/rpc/wire"
)

// FileExt ends the name of every process's events file, PID.mev.
const FileExt = ".mev"

// The file: the magic and a header, then records, each a tag byte and a
// fixed or length-prefixed body, all little-endian. A block's events are
// stamped (Stamp); the clock record before it turns them into
// nanoseconds.
const (
	magic      = "MANTAEV3" // 3: pairs of events in a slot; a version 2 file (magicV2) has none and reads alike
	magicV2    = "MANTAEV2"
	tagBlock   = 'B' // count u32, then count events of eventSize bytes: stamp i64, kind u8, second kind u8, 2 unused, index u32, task hi u64, lo u64, aux u64 (a pair: index is the second's distance in stamps)
	tagClock   = 'C' // the stamp i64 and nanoseconds i64 of an anchor, nanoseconds a stamp f64: the conversion of the blocks after it
	tagName    = 'N' // id u32, length u16, bytes
	tagDropped = 'D' // count u64
	eventSize  = 40
	clockBody  = 8 + 8 + 8
	maxLabel   = 1 << 10
)

// nativeLayout says an Event in memory is laid out as in a block, so
// the flusher writes a ring's events as they are: on a little-endian
// machine, which is every one Go's amd64 and arm64 run on.
var nativeLayout = func() bool {
	var e Event
	return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 && unsafe.Sizeof(e) == eventSize &&
		unsafe.Offsetof(e.Kind) == 8 && unsafe.Offsetof(e.then) == 9 && unsafe.Offsetof(e.Index) == 12 && unsafe.Offsetof(e.Task) == 16 && unsafe.Offsetof(e.Aux) == 32
}()

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

// appendBlockHeader begins a block of n events, which follow it.
func appendBlockHeader(dst []byte, n int) []byte {
	return binary.LittleEndian.AppendUint32(append(dst, tagBlock), uint32(n))
}

func appendEventBody(dst []byte, e *Event) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Time))
	dst = append(dst, byte(e.Kind), byte(e.then), 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, e.Index)
	dst = binary.LittleEndian.AppendUint64(dst, e.Task.Hi)
	dst = binary.LittleEndian.AppendUint64(dst, e.Task.Lo)
	return binary.LittleEndian.AppendUint64(dst, e.Aux)
}

func appendClock(dst []byte, c *stampClock) []byte {
	dst = binary.LittleEndian.AppendUint64(append(dst, tagClock), uint64(c.from.stamp))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(c.from.nanos))
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(c.perStamp))
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
// Truncated; anything else malformed is an error wrapping ErrFormat. A
// file that ends inside its header (its process died before writing it
// whole) reads as a Process with PID 0, no events and Truncated set.
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
	noHeader := &Process{Names: map[uint64]string{}, Truncated: true}
	m := b[:min(len(b), len(magic))]
	if string(m) != magic[:len(m)] && string(m) != magicV2[:len(m)] {
		return nil, fmt.Errorf("%w: bad header", ErrFormat)
	}
	if len(b) < len(magic)+4+1+2 {
		return noHeader, nil
	}
	b = b[len(magic):]
	p := &Process{PID: int(binary.LittleEndian.Uint32(b)), Role: Role(b[4]), Names: map[uint64]string{}}
	n := int(binary.LittleEndian.Uint16(b[5:]))
	b = b[7:]
	if n > maxLabel {
		return nil, fmt.Errorf("%w: bad label", ErrFormat)
	}
	if len(b) < n {
		return noHeader, nil
	}
	p.Label, b = string(b[:n]), b[n:]
	clock := stampClock{perStamp: 1} // stamps are nanoseconds until a clock record says otherwise
	for len(b) > 0 {
		switch b[0] {
		case tagClock:
			if len(b) < 1+clockBody {
				p.Truncated = true
				return p, nil
			}
			clock = stampClock{from: anchor{Stamp(binary.LittleEndian.Uint64(b[1:])), int64(binary.LittleEndian.Uint64(b[9:]))},
				perStamp: math.Float64frombits(binary.LittleEndian.Uint64(b[17:]))}
			if !(clock.perStamp > 0 && clock.perStamp < 1e6) { // NaN too
				return nil, fmt.Errorf("%w: clock of %v ns a stamp", ErrFormat, clock.perStamp)
			}
			b = b[1+clockBody:]
		case tagBlock:
			if len(b) < 5 {
				p.Truncated = true
				return p, nil
			}
			n := int(binary.LittleEndian.Uint32(b[1:]))
			body := b[5:]
			if have := len(body) / eventSize; have < n {
				p.Truncated, n = true, have // the events written before the cut
			}
			for i := range n {
				e := body[i*eventSize:]
				stamp := Stamp(binary.LittleEndian.Uint64(e))
				ev := Event{Time: clock.nanos(stamp), Kind: Kind(e[8]), then: Kind(e[9]), Index: binary.LittleEndian.Uint32(e[12:]),
					Task: wire.TaskID{Hi: binary.LittleEndian.Uint64(e[16:]), Lo: binary.LittleEndian.Uint64(e[24:])}, Aux: binary.LittleEndian.Uint64(e[32:])}
				if ev.Kind == 0 || ev.Kind >= numKinds {
					return nil, fmt.Errorf("%w: event kind %d", ErrFormat, ev.Kind)
				}
				if ev.then == 0 {
					p.Events = append(p.Events, ev)
					continue
				}
				if ev.then >= numKinds || ev.Kind.Object() || ev.then.Object() {
					return nil, fmt.Errorf("%w: a pair of events %d and %d", ErrFormat, ev.Kind, ev.then)
				}
				second, _ := ev.second()
				second.Time = clock.nanos(stamp + Stamp(ev.Index))
				p.Events = append(p.Events, ev.first(), second)
			}
			if p.Truncated {
				return p, nil
			}
			b = body[n*eventSize:]
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

// ReadDir parses every events file in dir, ordered by PID. It skips,
// with a warning, a file without a whole header: a process killed as it
// began recording, with no events.
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
		if p.PID == 0 {
			slog.Warn("events: skipping a file without a header (its process died as it began recording)", "file", name)
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

package wire

import (
	"encoding/binary"
	"fmt"
)

// Decode parses src into m, reusing m's slices. Byte fields alias src.
func Decode(src []byte, m *Msg) error {
	d := decoder{buf: src}
	kind := Kind(d.byte("kind"))
	if d.err != nil {
		return d.err
	}
	if kind == 0 || kind >= kindEnd {
		return fmt.Errorf("%w: unknown kind %d", ErrMalformed, uint8(kind))
	}
	m.Kind = kind
	f := fieldsOf[kind]
	if f&fTask != 0 {
		m.Task = d.taskID("task")
	}
	if f&fActor != 0 {
		m.Actor = d.taskID("actor")
	}
	if f&fAttempt != 0 {
		m.Attempt = d.uint32("attempt")
	}
	if f&fStatus != 0 {
		m.Status = Status(d.byte("status"))
		if d.err == nil && m.Status > StatusError {
			d.fail("status %d", m.Status)
		}
	}
	if f&fSubmit != 0 {
		m.Submit = SubmitKind(d.byte("submit kind"))
		if d.err == nil && m.Submit > SubmitActorCall {
			d.fail("submit kind %d", m.Submit)
		}
	}
	if f&fName != 0 {
		m.Name = d.bytes("name")
	}
	if f&fReqID != 0 {
		m.ReqID = d.uvarint("request id")
	}
	if f&fK != 0 {
		m.K = d.uint32("k")
	}
	if f&fTimeout != 0 {
		m.TimeoutNanos = d.varint("timeout")
	}
	if f&fMaxConcurrency != 0 {
		m.MaxConcurrency = d.uint32("max concurrency")
	}
	if f&fObject != 0 {
		m.Object = d.objectID("object")
	}
	if f&fStored != 0 {
		m.Stored = d.bool("stored")
	}
	if f&fSlot != 0 {
		m.Slot = d.slot("slot")
	}
	if f&fData != 0 {
		m.Data = d.bytes("data")
	}
	if f&fArgs != 0 {
		n := d.count("args", 2)
		m.Args = m.Args[:0]
		for i := 0; i < n && d.err == nil; i++ {
			var a Arg
			switch flag := d.byte("arg flag"); flag {
			case argInline:
				a.Data = d.bytes("arg")
			case argRef:
				a.IsRef = true
				a.Ref = d.objectID("arg ref")
			case argStored:
				a.Stored = true
				a.Slot = d.slot("arg slot")
			default:
				d.fail("arg flag %d", flag)
			}
			m.Args = append(m.Args, a)
		}
	}
	if f&fIDs != 0 {
		n := d.count("ids", ObjectIDSize)
		m.IDs = m.IDs[:0]
		for i := 0; i < n && d.err == nil; i++ {
			m.IDs = append(m.IDs, d.objectID("id"))
		}
	}
	if f&fResults != 0 {
		n := d.count("results", 2)
		m.Results = m.Results[:0]
		for i := 0; i < n && d.err == nil; i++ {
			var r Result
			r.Status = Status(d.byte("result status"))
			if d.err == nil && r.Status > StatusError {
				d.fail("result status %d", r.Status)
			}
			if r.Stored = d.bool("result stored"); r.Stored {
				r.Slot = d.slot("result slot")
			} else {
				r.Data = d.bytes("result")
			}
			m.Results = append(m.Results, r)
		}
	}
	if f&fReady != 0 {
		n := d.count("ready", 1)
		m.Ready = m.Ready[:0]
		for i := 0; i < n && d.err == nil; i++ {
			m.Ready = append(m.Ready, d.uint32("ready index"))
		}
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes after %v", len(d.buf), kind)
	}
	return d.err
}

// decoder reads fields off buf; the first failure sticks and later reads
// return zero values, so Decode can read straight through and check once.
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
	case 0, 1:
		return b == 1
	default:
		d.fail("%s flag %d", what, b)
		return false
	}
}

func (d *decoder) slot(string) Slot {
	return Slot{Offset: d.uvarint("slot offset"), Size: d.uvarint("slot size")}
}

func (d *decoder) uvarint(what string) uint64 {
	v, ok := d.rawUvarint()
	if !ok {
		d.fail("bad %s varint", what)
	}
	return v
}

// rawUvarint reads a varint, leaving the error message to the caller so
// that callers never build one on the success path.
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

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 || n != uvarintLen(zigzag(v)) {
		d.fail("bad %s varint", what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
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

func (d *decoder) taskID(what string) TaskID {
	if d.err != nil {
		return TaskID{}
	}
	if len(d.buf) < 16 {
		d.fail("truncated %s", what)
		return TaskID{}
	}
	t := TaskID{Hi: binary.LittleEndian.Uint64(d.buf), Lo: binary.LittleEndian.Uint64(d.buf[8:])}
	d.buf = d.buf[16:]
	return t
}

func (d *decoder) objectID(what string) ObjectID {
	if d.err != nil {
		return ObjectID{}
	}
	if len(d.buf) < ObjectIDSize {
		d.fail("truncated %s", what)
		return ObjectID{}
	}
	o, _ := ObjectIDFromBytes(d.buf[:ObjectIDSize])
	d.buf = d.buf[ObjectIDSize:]
	return o
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

package wire

import (
	"fmt"
)

// Decode parses src into m, reusing m's slices. Byte fields alias src.
func Decode(src []byte, m *Msg) error {
	d := decoder{NewReader(src, ErrMalformed)}
	kind := Kind(d.Byte("kind"))
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
	if f&fParent != 0 {
		m.Parent = d.taskID("parent")
	}
	if f&fAttempt != 0 {
		m.Attempt = d.Uint32("attempt")
	}
	if f&fWorker != 0 {
		m.Worker = d.Uint32("worker")
	}
	if f&fDeadline != 0 {
		m.Deadline = d.Varint("deadline")
	}
	if f&fStatus != 0 {
		m.Status = Status(d.Byte("status"))
		if d.err == nil && m.Status > StatusExists {
			d.Fail("status %d", m.Status)
		}
	}
	if f&fSubmit != 0 {
		m.Submit = SubmitKind(d.Byte("submit kind"))
		if d.err == nil && m.Submit > SubmitActorCall {
			d.Fail("submit kind %d", m.Submit)
		}
	}
	if f&fReturns != 0 {
		m.Returns = d.Uint32("returns")
	}
	if f&fName != 0 {
		m.Name = d.Bytes("name")
	}
	if f&fOpts != 0 {
		m.Opts = d.Bytes("options")
	}
	if f&fReqID != 0 {
		m.ReqID = d.Uvarint("request id")
	}
	if f&fK != 0 {
		m.K = d.Uint32("k")
	}
	if f&fTimeout != 0 {
		m.TimeoutNanos = d.Varint("timeout")
	}
	if f&fMaxConcurrency != 0 {
		m.MaxConcurrency = d.Uint32("max concurrency")
	}
	if f&fCheckpointEvery != 0 {
		m.CheckpointEvery = d.Uint32("checkpoint every")
	}
	if f&fObject != 0 {
		m.Object = d.objectID("object")
	}
	if f&fStored != 0 {
		m.Stored = d.Bool("stored")
	}
	if f&fSlot != 0 {
		m.Slot = d.slot("slot")
	}
	if f&fData != 0 {
		m.Data = d.Bytes("data")
	}
	if f&fArgs != 0 {
		n := d.Count("args", 2)
		m.Args = m.Args[:0]
		for i := 0; i < n && d.err == nil; i++ {
			var a Arg
			switch flag := d.Byte("arg flag"); flag {
			case argInline:
				a.Data = d.Bytes("arg")
			case argRef:
				a.IsRef = true
				a.Ref = d.objectID("arg ref")
			case argStored:
				a.Stored = true
				a.Slot = d.slot("arg slot")
			default:
				d.Fail("arg flag %d", flag)
			}
			m.Args = append(m.Args, a)
		}
	}
	if f&fIDs != 0 {
		m.IDs = d.ids(m.IDs[:0])
	}
	if f&fResults != 0 {
		n := d.Count("results", 3)
		keep := m.Results[:cap(m.Results)]
		m.Results = m.Results[:0]
		for i := 0; i < n && d.err == nil; i++ {
			var r Result
			if i < len(keep) {
				r.IDs = keep[i].IDs[:0] // reuse the previous message's lists
			}
			r.Status = Status(d.Byte("result status"))
			if d.err == nil && r.Status > StatusError {
				d.Fail("result status %d", r.Status)
			}
			if r.Stored = d.Bool("result stored"); r.Stored {
				r.Slot = d.slot("result slot")
			} else {
				r.Data = d.Bytes("result")
			}
			r.IDs = d.ids(r.IDs)
			m.Results = append(m.Results, r)
		}
	}
	if f&fReady != 0 {
		m.Ready = d.uint32s(m.Ready[:0], "ready index")
	}
	if f&fDevices != 0 {
		m.Devices = d.uint32s(m.Devices[:0], "device")
	}
	d.End(kind.String())
	return d.err
}

// decoder is a Reader that also reads this package's IDs and slots.
type decoder struct{ Reader }

// uint32s appends a counted list of what to dst.
func (d *decoder) uint32s(dst []uint32, what string) []uint32 {
	n := d.Count(what, 1)
	for i := 0; i < n && d.err == nil; i++ {
		dst = append(dst, d.Uint32(what))
	}
	return dst
}

func (d *decoder) slot(string) Slot {
	return Slot{Offset: d.Uvarint("slot offset"), Size: d.Uvarint("slot size")}
}

// ids appends a counted list of object IDs to dst.
func (d *decoder) ids(dst []ObjectID) []ObjectID {
	n := d.Count("ids", ObjectIDSize)
	for i := 0; i < n && d.err == nil; i++ {
		dst = append(dst, d.objectID("id"))
	}
	return dst
}

func (d *decoder) taskID(what string) TaskID {
	return TaskID{Hi: d.Fixed64(what), Lo: d.Fixed64(what)}
}

func (d *decoder) objectID(what string) ObjectID {
	b := d.Next(ObjectIDSize, what)
	o, _ := ObjectIDFromBytes(b)
	return o
}

package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sampleMessages() []Msg {
	t := TaskID{Hi: 1, Lo: 2}
	id := ReturnID(t)
	return []Msg{
		{Kind: KindExecute, Task: t, Actor: TaskID{Hi: 9}, Attempt: 2, Worker: 7, Deadline: 1_700_000_000_000_000_000, Name: []byte("add"),
			Args: []Arg{{Data: []byte{1, 2}}, {Data: []byte{}}, {Stored: true, Slot: Slot{Offset: 4096, Size: 1 << 30}}}},
		{Kind: KindCreateActor, Task: t, Attempt: 1, Worker: 3, Name: []byte("Counter"), MaxConcurrency: 4, CheckpointEvery: 100, Data: []byte("state"), Args: []Arg{{Data: []byte("x")}}},
		{Kind: KindGetReply, ReqID: 77, Results: []Result{{Status: StatusOK, Data: []byte("v")}, {Status: StatusError, Data: []byte("e")},
			{Status: StatusOK, Stored: true, Slot: Slot{Offset: 64, Size: 200000}}}},
		{Kind: KindWaitReply, ReqID: 5, Ready: []uint32{0, 3, 1 << 31}},
		{Kind: KindShutdown},
		{Kind: KindDone, Task: t, Status: StatusError, Data: []byte("boom"), IDs: []ObjectID{id}},
		{Kind: KindDone, Task: t, Status: StatusOK, Stored: true},
		{Kind: KindDone, Task: t, Status: StatusOK, Results: []Result{{Data: []byte("a"), IDs: []ObjectID{id}},
			{Stored: true, Slot: Slot{Offset: 64, Size: 1 << 20}}}},
		{Kind: KindSubmit, Task: t.Child(1), Actor: t, Parent: t, Deadline: -1, Submit: SubmitActorCall, Returns: 2, Name: []byte("Incr"),
			Opts: []byte{0xa0}, Args: []Arg{{IsRef: true, Ref: id}, {Data: []byte{7}}}, IDs: []ObjectID{id}},
		{Kind: KindGet, ReqID: 1<<63 + 5, TimeoutNanos: -1, IDs: []ObjectID{id, {Task: t, Index: PutIndexBase}}},
		{Kind: KindWait, ReqID: 3, K: 2, TimeoutNanos: 1e9, IDs: []ObjectID{id}},
		{Kind: KindPut, Object: ObjectID{Task: t, Index: PutIndexBase + 1}, Data: []byte("put")},
		{Kind: KindBlocked, Worker: 1},
		{Kind: KindUnblocked, Worker: 1 << 31},
		{Kind: KindAddRef, IDs: []ObjectID{id}},
		{Kind: KindDelRef, IDs: []ObjectID{id}},
		{Kind: KindActorReady, Task: t, Status: StatusOK},
		{Kind: KindCreate, ReqID: 9, Object: id, Slot: Slot{Size: 1 << 20}},
		{Kind: KindCreateReply, ReqID: 9, Status: StatusOK, Slot: Slot{Offset: 128, Size: 1 << 20}},
		{Kind: KindCreateReply, ReqID: 10, Status: StatusError, Data: []byte("full")},
		{Kind: KindCancel, Task: t},
		{Kind: KindLookupActor, ReqID: 11, Name: []byte("ps")},
		{Kind: KindLookupReply, ReqID: 11, Status: StatusOK, Task: t, Name: []byte("ParamServer")},
		{Kind: KindKillActor, Actor: t},
		{Kind: KindCheckpoint, Task: t, Data: []byte("state")},
		{Kind: KindDevices, Devices: []uint32{0, 3}},
		{Kind: KindDevices},
	}
}

// normalize maps the nil and empty forms of a decoded message's lists and
// byte fields together, since the wire does not tell them apart.
func normalize(m Msg) Msg {
	if len(m.Name) == 0 {
		m.Name = nil
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	if len(m.IDs) == 0 {
		m.IDs = nil
	}
	if len(m.Args) == 0 {
		m.Args = nil
	}
	for i := range m.Args {
		if len(m.Args[i].Data) == 0 {
			m.Args[i].Data = nil
		}
	}
	if len(m.Opts) == 0 {
		m.Opts = nil
	}
	if len(m.Results) == 0 {
		m.Results = nil
	}
	for i := range m.Results {
		if len(m.Results[i].IDs) == 0 {
			m.Results[i].IDs = nil
		}
		if len(m.Results[i].Data) == 0 {
			m.Results[i].Data = nil
		}
	}
	if len(m.Ready) == 0 {
		m.Ready = nil
	}
	return m
}

func TestRoundTripEveryKind(t *testing.T) {
	seen := map[Kind]bool{}
	for _, m := range sampleMessages() {
		seen[m.Kind] = true
		buf := Append(nil, &m)
		var got Msg
		if err := Decode(buf, &got); err != nil {
			t.Fatalf("%v: %v", m.Kind, err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(m)) {
			t.Errorf("%v round trip:\n got %+v\nwant %+v", m.Kind, got, m)
		}
	}
	for k := Kind(1); k < kindEnd; k++ {
		if !seen[k] {
			t.Errorf("no sample for %v", k)
		}
	}
}

func TestDecodeRejectsTruncationAndTrailingBytes(t *testing.T) {
	for _, m := range sampleMessages() {
		buf := Append(nil, &m)
		for n := 0; n < len(buf); n++ {
			var got Msg
			if err := Decode(buf[:n], &got); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v cut to %d of %d bytes: err = %v, want ErrMalformed", m.Kind, n, len(buf), err)
			}
		}
		var got Msg
		if err := Decode(append(buf, 0), &got); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%v with a trailing byte: err = %v", m.Kind, err)
		}
	}
}

func TestDecodeRejectsForgedCounts(t *testing.T) {
	// A Get claiming 2^40 IDs in a 12-byte message must fail without
	// allocating room for them.
	buf := []byte{byte(KindGet), 1, 0}
	buf = append(buf, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20)
	var m Msg
	allocs := testing.AllocsPerRun(10, func() { _ = Decode(buf, &m) })
	if err := Decode(buf, &m); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
	if allocs > 10 { // the error message's few allocations, not 2^40 IDs
		t.Fatalf("forged count allocated %v times", allocs)
	}
}

func TestSteadyStateDecodeDoesNotAllocate(t *testing.T) {
	msgs := sampleMessages()
	var bufs [][]byte
	for i := range msgs {
		bufs = append(bufs, Append(nil, &msgs[i]))
	}
	var m Msg
	for _, b := range bufs { // warm the reused slices
		_ = Decode(b, &m)
	}
	var enc []byte
	allocs := testing.AllocsPerRun(100, func() {
		for _, b := range bufs {
			if err := Decode(b, &m); err != nil {
				t.Fatal(err)
			}
			enc = Append(enc[:0], &m)
		}
	})
	if allocs != 0 {
		t.Fatalf("decode+encode allocated %v times per round", allocs)
	}
}

func TestChildIDsAreDeterministicAndDistinct(t *testing.T) {
	root := TaskID{Hi: 42, Lo: 7}
	seen := map[TaskID]bool{root: true}
	for i := uint64(0); i < 10000; i++ {
		c := root.Child(i)
		if c != root.Child(i) {
			t.Fatal("Child is not deterministic")
		}
		if seen[c] || c.IsZero() {
			t.Fatalf("child %d collides: %v", i, c)
		}
		seen[c] = true
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(Append(nil, &m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Msg
		if err := Decode(b, &m); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Whatever decodes must re-encode to the same bytes: the format
		// has one encoding per message.
		if again := Append(nil, &m); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
	})
}

package chain

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"manta/gcs"
)

func sampleMessages() []Message {
	chain := Chain{Shard: 3, Epoch: 9, Members: []Member{{1, "127.0.0.1:1"}, {2, "127.0.0.1:2"}}, Joiner: Member{3, "127.0.0.1:3"}}
	return []Message{
		{Kind: MsgForward, From: 1, To: 2, Shard: 3, Epoch: 9, Entries: []Entry{{Seq: 5, Client: 7, Req: 8, Acked: 6, Cmd: []byte("cmd")}, {Seq: 6}}},
		{Kind: MsgAck, From: 2, To: 1, Shard: 3, Epoch: 9, Seq: 6},
		{Kind: MsgHello, From: 3, To: 2, Epoch: 9, Seq: 0, Flag: true},
		{Kind: MsgSnapshot, From: 2, To: 3, Epoch: 9, Seq: 6, Echo: 1, Offset: 4, Total: 10, Sum: 0xdeadbeef, Data: []byte("snap")},
		{Kind: MsgJoin, From: 4, Shard: 1, Echo: 17, Addr: "127.0.0.1:4"},
		{Kind: MsgHeartbeat, From: 2, Epoch: 9, Seq: 6, Echo: 20, Flag: true, Addr: "127.0.0.1:2"},
		{Kind: MsgConfig, To: 2, Shard: 3, Epoch: 9, Echo: 20, Chain: chain},
		{Kind: MsgConfig, To: 2, Chain: Chain{}},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	ms := sampleMessages()
	for _, m := range ms {
		b := appendMessage(nil, &m)
		var got Message
		if err := decodeMessage(b, &got); err != nil {
			t.Fatalf("%v: %v", &m, err)
		}
		if !reflect.DeepEqual(normal(got), normal(m)) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
		}
		for i := range b {
			if err := decodeMessage(b[:i], &got); !errors.Is(err, gcs.ErrMalformed) {
				t.Fatalf("%v truncated to %d bytes: %v", &m, i, err)
			}
		}
	}
	batch := AppendMessages(nil, ms)
	got, err := DecodeMessages(batch, nil)
	if err != nil || len(got) != len(ms) {
		t.Fatalf("batch: %d messages, %v", len(got), err)
	}
}

// normal makes empty slices nil, so DeepEqual compares contents.
func normal(m Message) Message {
	if len(m.Entries) == 0 {
		m.Entries = nil
	}
	for i := range m.Entries {
		if len(m.Entries[i].Cmd) == 0 {
			m.Entries[i].Cmd = nil
		}
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	if len(m.Chain.Members) == 0 {
		m.Chain.Members = nil
	}
	return m
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(appendMessage(nil, &m))
	}
	f.Add(AppendMessages(nil, sampleMessages()))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := decodeMessage(b, &m); err != nil {
			if !errors.Is(err, gcs.ErrMalformed) {
				t.Fatalf("error %v does not wrap gcs.ErrMalformed", err)
			}
		} else if again := appendMessage(nil, &m); !bytes.Equal(again, b) {
			// One encoding per message.
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
		if ms, err := DecodeMessages(b, nil); err == nil {
			if again := AppendMessages(nil, ms); !bytes.Equal(again, b) {
				t.Fatalf("batch re-encoding differs:\n in %x\nout %x", b, again)
			}
		} else if !errors.Is(err, gcs.ErrMalformed) {
			t.Fatalf("error %v does not wrap gcs.ErrMalformed", err)
		}
	})
}

// FuzzRestore restores arbitrary bytes as a joiner installs a snapshot:
// the sessions, then the shard. An error or a state, never a panic.
func FuzzRestore(f *testing.F) {
	s, err := gcs.NewShard(gcs.ShardConfig{})
	if err != nil {
		f.Fatal(err)
	}
	s.Apply(gcs.AppendOp(nil, &gcs.Op{Kind: gcs.OpPut, Table: gcs.KV, Key: []byte("k"), Value: []byte("v")}))
	ss := sessions{}
	ss.record(Entry{Seq: 1, Client: 9, Req: 1}, nil)
	f.Add(append(ss.appendSnapshot(nil), s.Snapshot().AppendTo(nil)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ss sessions
		rest, err := ss.restore(b)
		if err != nil {
			return
		}
		s, _ := gcs.NewShard(gcs.ShardConfig{})
		s.Restore(rest)
	})
}

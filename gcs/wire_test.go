package gcs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
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
		b := AppendMessage(nil, &m)
		var got Message
		if err := DecodeMessage(b, &got); err != nil {
			t.Fatalf("%v: %v", &m, err)
		}
		if !reflect.DeepEqual(normal(got), normal(m)) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
		}
		for i := range b {
			if err := DecodeMessage(b[:i], &got); !errors.Is(err, ErrMalformed) {
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
		f.Add(AppendMessage(nil, &m))
	}
	f.Add(AppendMessages(nil, sampleMessages()))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := DecodeMessage(b, &m); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		} else if again := AppendMessage(nil, &m); !bytes.Equal(again, b) {
			// One encoding per message.
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
		if ms, err := DecodeMessages(b, nil); err == nil {
			if again := AppendMessages(nil, ms); !bytes.Equal(again, b) {
				t.Fatalf("batch re-encoding differs:\n in %x\nout %x", b, again)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}

// appendReadResults encodes read results as a replica does.
func appendReadResults(dst []byte, rs []result) []byte {
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(rs)))
	for _, r := range rs {
		switch {
		case r.code != codeOK:
			dst = append(dst, 2, r.code)
			dst = appendBytes(dst, []byte(r.msg))
		case r.found:
			dst = append(dst, 1)
			dst = appendBytes(dst, r.value)
		default:
			dst = append(dst, 0)
		}
	}
	return dst
}

// FuzzDecodeFrames feeds one input to every client-protocol decoder:
// each must fail with ErrMalformed or decode something that re-encodes to
// the same bytes.
func FuzzDecodeFrames(f *testing.F) {
	op := Op{Kind: OpPut, Table: KV, Key: []byte("k"), Value: []byte("v")}
	f.Add(appendWriteRequest(nil, &writeRequest{client: 1, acked: 2, reqs: []uint64{3}, ops: []Op{op}}))
	f.Add(appendReadRequest(nil, &readRequest{tables: []Table{KV}, keys: [][]byte{[]byte("k")}}))
	f.Add(appendWriteResults(nil, []result{{code: codeOK}, {code: codeTooLarge, msg: "too large"}}))
	f.Add(appendReadResults(nil, []result{{found: true, value: []byte("v")}, {}, {code: codeCorrupt, msg: "bad"}}))
	f.Add(appendRedirect(nil, &sampleMessages()[6].Chain))
	f.Add(appendChains(nil, []Chain{{Shard: 0, Epoch: 1, Members: []Member{{1, "a"}}}}))
	f.Add(appendNotifications(nil, []Notification{{Table: KV, Op: OpPut, Key: []byte("k"), Value: []byte("v")}, {Op: OpResync}}))
	f.Add(appendSubscribe(nil, Nodes, nil))
	f.Add(AppendOp(nil, &op))
	f.Add(AppendNodeInfo(nil, NodeInfo{Addr: "a", State: NodeAlive}))
	f.Add(AppendActorInfo(nil, ActorInfo{Node: "n", State: ActorAlive, Restarts: 1}))
	f.Add(AppendObjectLocation(nil, ObjectLocation{Node: "n", Size: 9}))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(what string, err error, again func() []byte) {
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s: error %v does not wrap ErrMalformed", what, err)
				}
				return
			}
			if out := again(); !bytes.Equal(out, b) {
				t.Fatalf("%s: re-encoding differs:\n in %x\nout %x", what, b, out)
			}
		}
		var w writeRequest
		check("write request", decodeWriteRequest(b, &w), func() []byte { return appendWriteRequest(nil, &w) })
		var r readRequest
		check("read request", decodeReadRequest(b, &r), func() []byte { return appendReadRequest(nil, &r) })
		for _, reads := range []bool{false, true} {
			var c Chain
			rs, redirect, err := decodeResults(b, reads, nil, &c)
			check("results", err, func() []byte {
				switch {
				case redirect:
					return appendRedirect(nil, &c)
				case reads:
					return appendReadResults(nil, rs)
				}
				return appendWriteResults(nil, rs)
			})
		}
		cs, err := decodeChains(b)
		check("chains", err, func() []byte { return appendChains(nil, cs) })
		ns, gone, err := decodeNotifications(b, nil)
		check("notifications", err, func() []byte {
			if gone {
				return []byte{1}
			}
			return appendNotifications(nil, ns)
		})
		tb, key, err := decodeSubscribe(b)
		if err == nil && key == nil && !bytes.Equal(b, appendSubscribe(nil, tb, nil)) {
			return // a table subscription may carry any key bytes, which it ignores
		}
		check("subscribe", err, func() []byte { return appendSubscribe(nil, tb, key) })
		var o Op
		check("op", DecodeOp(b, &o), func() []byte { return AppendOp(nil, &o) })
		ni, err := DecodeNodeInfo(b)
		check("node info", err, func() []byte { return AppendNodeInfo(nil, ni) })
		ai, err := DecodeActorInfo(b)
		check("actor info", err, func() []byte { return AppendActorInfo(nil, ai) })
		ol, err := DecodeObjectLocation(b)
		check("object location", err, func() []byte { return AppendObjectLocation(nil, ol) })
	})
}

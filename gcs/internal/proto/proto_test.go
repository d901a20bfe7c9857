package proto

import (
	"bytes"
	"errors"
	"testing"

	"manta/gcs"
	"manta/gcs/chain"
)

// appendReadResults encodes read results as a replica does.
func appendReadResults(dst []byte, rs []Result) []byte {
	dst = AppendReadResults(dst, len(rs))
	for _, r := range rs {
		dst = AppendReadResult(dst, func(dst []byte) ([]byte, bool, error) {
			if err := CodeError(r.Code, r.Msg); err != nil {
				return dst, false, err
			}
			return append(dst, r.Value...), r.Found, nil
		})
	}
	return dst
}

func sampleChain() chain.Chain {
	return chain.Chain{Shard: 3, Epoch: 9, Members: []chain.Member{{ID: 1, Addr: "127.0.0.1:1"}, {ID: 2, Addr: "127.0.0.1:2"}}, Joiner: chain.Member{ID: 3, Addr: "127.0.0.1:3"}}
}

// FuzzDecodeFrames feeds one input to every client-protocol decoder:
// each must fail with ErrMalformed or decode something that re-encodes to
// the same bytes.
func FuzzDecodeFrames(f *testing.F) {
	op := gcs.Op{Kind: gcs.OpPut, Table: gcs.KV, Key: []byte("k"), Value: []byte("v")}
	c := sampleChain()
	f.Add(AppendWriteRequest(nil, &WriteRequest{Client: 1, Acked: 2, Reqs: []uint64{3}, Ops: []gcs.Op{op}}))
	f.Add(AppendReadRequest(nil, &ReadRequest{Tables: []gcs.Table{gcs.KV}, Keys: [][]byte{[]byte("k")}}))
	f.Add(AppendWriteResults(nil, []Result{{Code: CodeOK}, {Code: CodeTooLarge, Msg: "too large"}}))
	f.Add(appendReadResults(nil, []Result{{Found: true, Value: []byte("v")}, {}, {Code: CodeCorrupt, Msg: "bad"}}))
	f.Add(AppendRedirect(nil, &c))
	f.Add(AppendChains(nil, []chain.Chain{{Shard: 0, Epoch: 1, Members: []chain.Member{{ID: 1, Addr: "a"}}}}))
	f.Add(AppendNotifications(nil, []gcs.Notification{{Table: gcs.KV, Op: gcs.OpPut, Key: []byte("k"), Value: []byte("v")}, {Op: gcs.OpResync}}))
	f.Add(AppendSubscribe(nil, gcs.Nodes, nil))
	f.Add(AppendSubscribed(nil, 7))
	f.Add(gcs.AppendOp(nil, &op))
	f.Add(gcs.AppendNodeInfo(nil, gcs.NodeInfo{Addr: "a", State: gcs.NodeAlive}))
	f.Add(gcs.AppendActorInfo(nil, gcs.ActorInfo{Node: "n", State: gcs.ActorAlive, Restarts: 1}))
	f.Add(gcs.AppendObjectLocation(nil, gcs.ObjectLocation{Node: "n", Size: 9}))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(what string, err error, again func() []byte) {
			if err != nil {
				if !errors.Is(err, gcs.ErrMalformed) {
					t.Fatalf("%s: error %v does not wrap gcs.ErrMalformed", what, err)
				}
				return
			}
			if out := again(); !bytes.Equal(out, b) {
				t.Fatalf("%s: re-encoding differs:\n in %x\nout %x", what, b, out)
			}
		}
		var w WriteRequest
		check("write request", DecodeWriteRequest(b, &w), func() []byte { return AppendWriteRequest(nil, &w) })
		var r ReadRequest
		check("read request", DecodeReadRequest(b, &r), func() []byte { return AppendReadRequest(nil, &r) })
		for _, reads := range []bool{false, true} {
			var c chain.Chain
			rs, redirect, err := DecodeResults(b, reads, nil, &c)
			check("results", err, func() []byte {
				switch {
				case redirect:
					return AppendRedirect(nil, &c)
				case reads:
					return appendReadResults(nil, rs)
				}
				return AppendWriteResults(nil, rs)
			})
		}
		cs, err := DecodeChains(b)
		check("chains", err, func() []byte { return AppendChains(nil, cs) })
		ns, gone, err := DecodeNotifications(b, nil)
		check("notifications", err, func() []byte {
			if gone {
				return AppendGone(nil)
			}
			return AppendNotifications(nil, ns)
		})
		var c chain.Chain
		id, redirect, err := DecodeSubscribed(b, &c)
		check("subscribed", err, func() []byte {
			if redirect {
				return AppendRedirect(nil, &c)
			}
			return AppendSubscribed(nil, id)
		})
		var o gcs.Op
		check("op", gcs.DecodeOp(b, &o), func() []byte { return gcs.AppendOp(nil, &o) })
		ni, err := gcs.DecodeNodeInfo(b)
		check("node info", err, func() []byte { return gcs.AppendNodeInfo(nil, ni) })
		ai, err := gcs.DecodeActorInfo(b)
		check("actor info", err, func() []byte { return gcs.AppendActorInfo(nil, ai) })
		ol, err := gcs.DecodeObjectLocation(b)
		check("object location", err, func() []byte { return gcs.AppendObjectLocation(nil, ol) })
		tb, key, err := DecodeSubscribe(b)
		if err == nil && key == nil && !bytes.Equal(b, AppendSubscribe(nil, tb, nil)) {
			return // a table subscription may carry any key bytes, which it ignores
		}
		check("subscribe", err, func() []byte { return AppendSubscribe(nil, tb, key) })
	})
}

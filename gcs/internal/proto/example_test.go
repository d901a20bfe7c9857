package proto_test

import (
	"fmt"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/gcs/internal/proto"
)

// A client's batch of two writes, as a replica decodes it, and the
// replica's answer as the client decodes it: one result per write.
func Example() {
	frame := proto.AppendWriteRequest(nil, &proto.WriteRequest{
		Client: 7, Acked: 1, Reqs: []uint64{1, 2},
		Ops: []gcs.Op{
			{Kind: gcs.OpPut, Table: gcs.KV, Key: []byte("a"), Value: []byte("1")},
			{Kind: gcs.OpAppend, Table: gcs.KV, Key: []byte("b"), Value: []byte("2")},
		},
	})
	var w proto.WriteRequest
	if err := proto.DecodeWriteRequest(frame, &w); err != nil {
		panic(err)
	}
	results := make([]proto.Result, len(w.Ops))
	for i := range w.Ops {
		// The replica would propose the op; here it only checks the kind.
		if w.Ops[i].Kind != gcs.OpPut {
			err := fmt.Errorf("%w: %v on a value table", gcs.ErrBadOp, w.Ops[i].Kind)
			results[i] = proto.Result{Code: proto.ErrorCode(err), Msg: err.Error()}
		}
	}
	resp := proto.AppendWriteResults(nil, results)

	var c chain.Chain
	rs, redirect, err := proto.DecodeResults(resp, false, nil, &c)
	fmt.Println("redirect:", redirect, err)
	for i, r := range rs {
		fmt.Printf("request %d: %v\n", w.Reqs[i], proto.CodeError(r.Code, r.Msg))
	}
	// Output:
	// redirect: false <nil>
	// request 1: <nil>
	// request 2: gcs: bad operation: append on a value table
}

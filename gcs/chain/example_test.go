package chain_test

import (
	"fmt"

	"manta/gcs"
	"manta/gcs/chain"
)

// A monitor and two replicas of one shard, driven by hand: every message
// is delivered at once, in order. The first replica becomes the chain's
// only member, the second joins by state transfer and becomes its tail;
// a write proposed at the head is answered once the tail holds it.
func Example() {
	mon := chain.NewMonitor(chain.MonitorConfig{Shards: 1})
	replicas := map[chain.ReplicaID]*chain.Replica{}
	shards := map[chain.ReplicaID]*gcs.Shard{}
	var queue []chain.Message
	collect := func(out []chain.Message) {
		for i := range out {
			queue = out[i].Expand(queue) // a snapshot goes as its chunks
		}
	}
	deliver := func() {
		for len(queue) > 0 {
			m := queue[0]
			queue = queue[1:]
			if m.To == chain.MonitorID {
				mon.Step(m)
				collect(mon.Outbox())
				mon.ClearOutputs()
				continue
			}
			r := replicas[m.To]
			r.Step(m)
			collect(r.Outbox())
			for _, reply := range r.Replies() {
				fmt.Printf("write %d: %v\n", reply.Token, reply.Err)
			}
			r.ClearOutputs()
		}
	}
	for id := chain.ReplicaID(1); id <= 2; id++ {
		shard, err := gcs.NewShard(gcs.ShardConfig{})
		if err != nil {
			panic(err)
		}
		r := chain.NewReplica(chain.ReplicaConfig{ID: id, Addr: fmt.Sprint("replica-", id), App: shard})
		replicas[id], shards[id] = r, shard
		collect(r.Outbox()) // its request to join
		r.ClearOutputs()
		deliver()
	}
	fmt.Println(mon.Chain(0))

	head := replicas[mon.Chain(0).Head().ID]
	if err := head.Propose(1, 0, 0, 0, gcs.AppendOp(nil, &gcs.Op{Kind: gcs.OpPut, Table: gcs.KV, Key: []byte("a"), Value: []byte("1")})); err != nil {
		panic(err)
	}
	collect(head.Outbox())
	head.ClearOutputs()
	deliver()
	tail := mon.Chain(0).Tail().ID
	fmt.Println("at the tail:", shards[tail].Dump())
	// Output:
	// shard=0 epoch=3 chain=[1 2]
	// write 1: <nil>
	// at the tail: kv a=1
}

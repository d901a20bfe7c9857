package gcs_test

import (
	"context"
	"fmt"

	"manta/gcs"
)

// The embedded store: an object gets two locations, a subscriber sees
// them arrive, and a task is recorded.
func Example() {
	ctx := context.Background()
	st, err := gcs.Open(gcs.Config{Shards: 4})
	if err != nil {
		panic(err)
	}
	defer st.Close()

	sub, _ := st.Subscribe(ctx, gcs.Objects, []byte("obj-1"))
	defer sub.Close()
	st.Add(ctx, gcs.Objects, []byte("obj-1"), []byte("node-a"))
	st.Add(ctx, gcs.Objects, []byte("obj-1"), []byte("node-b"))
	st.Put(ctx, gcs.Tasks, []byte("task-1"), []byte("f(obj-0)"))

	for range 2 {
		n, _ := sub.Next(ctx)
		fmt.Printf("%v %v %s: %s\n", n.Table, n.Op, n.Key, n.Value)
	}
	data, _, _ := st.Get(ctx, gcs.Objects, []byte("obj-1"), nil)
	locations, _ := gcs.Members(data, nil)
	fmt.Printf("obj-1 is on %d nodes\n", len(locations))
	spec, ok, _ := st.Get(ctx, gcs.Tasks, []byte("task-1"), nil)
	fmt.Printf("task-1: %s %v\n", spec, ok)
	// Output:
	// objects add obj-1: node-a
	// objects add obj-1: node-b
	// obj-1 is on 2 nodes
	// task-1: f(obj-0) true
}

// A replicated GCS in one process: the monitor and a chain of two
// replicas, reached through a Client. (StartHead runs the replicas as
// processes instead.)
func Example_replicated() {
	ctx := context.Background()
	token := gcs.NewToken()
	quiet := func(string, ...any) {}
	mon, err := gcs.StartMonitor(gcs.MonitorServerConfig{Shards: 1, Token: token, Logf: quiet})
	if err != nil {
		panic(err)
	}
	defer mon.Close()
	for range 2 {
		r, err := gcs.StartReplica(gcs.ReplicaServerConfig{Shard: 0, Monitor: mon.Addr(), Token: token, Logf: quiet})
		if err != nil {
			panic(err)
		}
		defer r.Close()
	}
	chains, _ := mon.WaitChains(ctx, func(cs []gcs.Chain) bool { return len(cs[0].Members) == 2 })
	fmt.Println("members:", len(chains[0].Members))

	c, err := gcs.Dial(ctx, gcs.ClientConfig{Monitor: mon.Addr(), Token: token, Logf: quiet})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.Put(ctx, gcs.Nodes, []byte("node-a"), []byte("alive")); err != nil {
		panic(err)
	}
	v, ok, err := c.Get(ctx, gcs.Nodes, []byte("node-a"), nil)
	fmt.Printf("%s %v %v\n", v, ok, err)
	// Output:
	// members: 2
	// alive true <nil>
}

package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/gcs/client"
	"manta/gcs/server"
)

// A client of a replicated GCS (here a monitor and one replica in this
// process): it writes, reads, and watches a node's key.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	token := server.NewToken()
	mon, err := server.StartMonitor(server.MonitorConfig{Shards: 1, Token: token, Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer mon.Close()
	r, err := server.StartReplica(server.ReplicaConfig{Shard: 0, Monitor: mon.Addr(), Token: token, Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	if _, err := mon.WaitChains(ctx, func(cs []chain.Chain) bool { return len(cs[0].Members) == 1 }); err != nil {
		panic(err)
	}

	c, err := client.Dial(ctx, client.Config{Monitor: mon.Addr(), Token: token, Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, gcs.Nodes, []byte("node-a"))
	if err != nil {
		panic(err)
	}
	defer sub.Close()
	if err := c.Put(ctx, gcs.Nodes, []byte("node-a"), []byte("alive")); err != nil {
		panic(err)
	}
	v, ok, err := c.Get(ctx, gcs.Nodes, []byte("node-a"), nil)
	fmt.Printf("get: %s %v %v\n", v, ok, err)
	n, err := sub.Next(ctx)
	fmt.Printf("seen: %v %v %s=%s %v\n", n.Table, n.Op, n.Key, n.Value, err)
	// Output:
	// get: alive true <nil>
	// seen: nodes put node-a=alive <nil>
}

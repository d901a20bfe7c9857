package cluster_test

import (
	"context"
	"fmt"

	"manta/cluster"
	"manta/gcs"
)

func Example() {
	ctx := context.Background()
	st, _ := gcs.Open(gcs.Config{}) // a replicated GCS's client (gcs/client) in a real cluster
	defer st.Close()
	cluster.InitHead(ctx, st)
	node, err := cluster.Join(ctx, cluster.Config{GCS: st, Addr: "127.0.0.1:7001", Resources: map[string]float64{"CPU": 4}})
	if err != nil {
		fmt.Println(err)
		return
	}
	nodes, _ := cluster.List(ctx, st)
	fmt.Println(len(nodes), nodes[0].State, nodes[0].Resources["CPU"])
	node.Leave(ctx)
	nodes, _ = cluster.List(ctx, st)
	fmt.Println(nodes[0].State)
	// Output:
	// 1 alive 4
	// dead
}

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

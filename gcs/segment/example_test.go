package segment_test

import (
	"fmt"
	"hash/fnv"
	"os"

	"manta/gcs/segment"
)

func hash(table uint8, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte{table})
	h.Write([]byte(key))
	return h.Sum64()
}

// Two records go to a segment; one is read back, and a key that was never
// written is not looked for on disk at all (most of the time: the Bloom
// filter can be wrong, never the lookup).
func Example() {
	dir, err := os.MkdirTemp("", "segment-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	f, err := segment.NewFlusher(dir, 1<<20)
	if err != nil {
		panic(err)
	}
	defer f.Close()

	const tasks = 2
	err = f.Write([]segment.Record{
		{Hash: hash(tasks, "task-1"), Table: tasks, Key: "task-1", Data: []byte("f(x)")},
		{Hash: hash(tasks, "task-2"), Table: tasks, Key: "task-2", Data: []byte("g(y)")},
	})
	if err != nil {
		panic(err)
	}
	spec, ok, err := f.Lookup(hash(tasks, "task-2"), tasks, []byte("task-2"), false, nil)
	fmt.Printf("task-2: %s %v %v\n", spec, ok, err)
	_, ok, err = f.Lookup(hash(tasks, "task-9"), tasks, []byte("task-9"), false, nil)
	fmt.Printf("task-9: %v %v\n", ok, err)
	fmt.Println("segments:", f.Stats().Segments, "verify:", f.Verify())
	// Output:
	// task-2: g(y) true <nil>
	// task-9: false <nil>
	// segments: 1 verify: <nil>
}

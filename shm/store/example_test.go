package store_test

import (
	"context"
	"fmt"

	"manta/shm/store"
)

// A node stores objects in a store too small for all of them: the least
// recently used one is spilled to disk and read back when pinned. A
// worker would do the View part in its own process, over its own
// mapping of Segment().File().
func Example() {
	s, err := store.New(store.Config{Capacity: 64 << 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	v, err := store.NewView(s.Segment())
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	const size = 16<<10 - store.HeaderSize // four fill the store
	for i := range 5 {
		id := store.ID{byte(i)}
		slot, err := s.Create(ctx, id, size)
		if err != nil {
			fmt.Println(err)
			return
		}
		data, _ := v.Writable(slot) // the creator fills it in place
		for j := range data {
			data[j] = byte(i)
		}
		if err := s.Seal(id); err != nil {
			fmt.Println(err)
			return
		}
	}
	st := s.Stats()
	fmt.Printf("in memory %d, spilled %d\n", st.InMemory, st.Spilled)

	// Object 0 was the least recently used: pinning it restores it.
	slot, err := s.Pin(ctx, store.ID{0})
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := v.Bytes(slot)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("object 0: %d bytes, first %d, last %d\n", len(data), data[0], data[len(data)-1])
	s.Unpin(store.ID{0})
	st = s.Stats()
	fmt.Printf("restores %d, hit rate %.1f\n", st.Restores, st.HitRate())
	// Output:
	// in memory 4, spilled 1
	// object 0: 16320 bytes, first 0, last 0
	// restores 1, hit rate 0.0
}

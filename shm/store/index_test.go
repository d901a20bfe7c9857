package store

import (
	"math/rand/v2"
	"testing"
)

// Random inserts and deletes against a Go map, with IDs that collide in
// the table's low bits often enough to exercise the backward shift
// across wrapped probe runs.
func TestIndexAgainstMap(t *testing.T) {
	var x idIndex
	x.init(minIndexSlots)
	var objs []object
	var spare []int32
	model := map[ID]int32{}
	rng := rand.New(rand.NewPCG(7, 8))
	for step := 0; step < 200_000; step++ {
		id := idOf(uint64(rng.IntN(5000)))
		i, ok := x.get(objs, &id)
		j, want := model[id]
		if ok != want || (ok && i != j) {
			t.Fatalf("step %d: get %v = %d, %v; want %d, %v", step, id, i, ok, j, want)
		}
		if ok {
			x.del(objs, i)
			objs[i] = object{}
			spare = append(spare, i)
			delete(model, id)
			continue
		}
		if n := len(spare); n > 0 {
			i, spare = spare[n-1], spare[:n-1]
		} else {
			objs = append(objs, object{})
			i = int32(len(objs) - 1)
		}
		objs[i] = object{id: id, live: true}
		x.put(objs, i)
		model[id] = i
		if x.n != len(model) {
			t.Fatalf("step %d: %d entries, want %d", step, x.n, len(model))
		}
	}
	for id, i := range model {
		if j, ok := x.get(objs, &id); !ok || j != i {
			t.Fatalf("final: %v = %d, %v; want %d", id, j, ok, i)
		}
	}
}

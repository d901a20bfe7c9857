package gcs

import (
	"fmt"
	"sync"
	"testing"
)

// A captured snapshot encodes the state at capture time even while writes
// go on (copy-on-write), and the shard goes back to changing data in place
// once it is released.
func TestSnapshotCaptureIsConsistent(t *testing.T) {
	s := newShard(t, ShardConfig{})
	for i := range 100 {
		s.apply(&Op{Kind: OpPut, Table: KV, Key: fmt.Appendf(nil, "k%d", i), Value: []byte("old")})
		s.apply(&Op{Kind: OpAdd, Table: Objects, Key: []byte("o"), Value: fmt.Appendf(nil, "n%d", i)})
		s.apply(&Op{Kind: OpAppend, Table: Events, Key: []byte("e"), Value: fmt.Appendf(nil, "m%d", i)})
	}
	want := s.Dump()
	snap := s.Snapshot()
	var wg sync.WaitGroup
	var enc []byte
	wg.Add(1)
	go func() { // encode concurrently with the writes, as a peer sender does
		defer wg.Done()
		enc = snap.AppendTo(nil)
	}()
	for i := range 100 {
		s.apply(&Op{Kind: OpPut, Table: KV, Key: fmt.Appendf(nil, "k%d", i), Value: []byte("new")})
		s.apply(&Op{Kind: OpRemove, Table: Objects, Key: []byte("o"), Value: fmt.Appendf(nil, "n%d", i)})
		s.apply(&Op{Kind: OpAppend, Table: Events, Key: []byte("e"), Value: []byte("later")})
	}
	wg.Wait()
	d := newShard(t, ShardConfig{})
	if err := d.Restore(enc); err != nil {
		t.Fatal(err)
	}
	if got := d.Dump(); got != want {
		t.Fatalf("snapshot saw later writes:\n got %.200s\nwant %.200s", got, want)
	}
	if s.cow.Load() != 0 {
		t.Fatalf("capture not released: %d", s.cow.Load())
	}
	s.Snapshot().Release()
	if s.cow.Load() != 0 {
		t.Fatal("Release did not release")
	}
}

package gcs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFlushKeepsMemoryUnderCap(t *testing.T) {
	ctx := context.Background()
	const memCap = 64 << 10
	st := openStore(t, Config{Shards: 1, FlushDir: t.TempDir(), MemoryCap: memCap})
	spec := make([]byte, 100)
	for i := range 5000 {
		if err := st.Put(ctx, Tasks, fmt.Appendf(nil, "task-%d", i), spec); err != nil {
			t.Fatal(err)
		}
		if s := st.Stats(); s.FlushableMem > memCap {
			t.Fatalf("after %d tasks: %d bytes in memory, over the cap of %d", i, s.FlushableMem, memCap)
		}
	}
	s := st.Stats()
	if s.Segments == 0 || s.Flushed == 0 || s.FlushErrors != 0 {
		t.Fatalf("stats %+v: want segments and no errors", s)
	}
	// Everything reads back, flushed or not.
	for i := range 5000 {
		v, ok, err := st.Get(ctx, Tasks, fmt.Appendf(nil, "task-%d", i), nil)
		if err != nil || !ok || len(v) != len(spec) {
			t.Fatalf("task-%d: %d bytes, %v, %v", i, len(v), ok, err)
		}
	}
	if err := st.verify(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", s)
}

func TestFlushedEntriesChange(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, Config{Shards: 1, FlushDir: t.TempDir(), MemoryCap: 8 << 10})
	fill := func(prefix string) {
		for i := range 300 {
			st.Put(ctx, Tasks, fmt.Appendf(nil, "%s-%d", prefix, i), make([]byte, 64))
		}
	}
	st.Put(ctx, Tasks, []byte("t"), []byte("v1"))
	st.Append(ctx, Lineage, []byte("o"), []byte("a"))
	st.Put(ctx, Tasks, []byte("gone"), []byte("x"))
	fill("f1") // t, o and gone are flushed
	st.Append(ctx, Lineage, []byte("o"), []byte("b"))
	st.Put(ctx, Tasks, []byte("t"), []byte("v2"))
	st.Delete(ctx, Tasks, []byte("gone"))
	if v, _ := mustGet(t, st, Lineage, "o"); strings.Join(membersOf(t, v), ",") != "a,b" {
		t.Fatalf("lineage across a flush: %q", membersOf(t, v))
	}
	fill("f2") // the new versions are flushed too
	st.Append(ctx, Lineage, []byte("o"), []byte("c"))
	fill("f3")
	if v, _ := mustGet(t, st, Lineage, "o"); strings.Join(membersOf(t, v), ",") != "a,b,c" {
		t.Fatalf("lineage across three segments: %q", membersOf(t, v))
	}
	if v, ok := mustGet(t, st, Tasks, "t"); !ok || v != "v2" {
		t.Fatalf("t = %q %v, want the newer version", v, ok)
	}
	if _, ok := mustGet(t, st, Tasks, "gone"); ok {
		t.Fatal("a deleted, flushed key came back")
	}
	st.Delete(ctx, Lineage, []byte("o"))
	st.Append(ctx, Lineage, []byte("o"), []byte("new"))
	fill("f4")
	if v, _ := mustGet(t, st, Lineage, "o"); strings.Join(membersOf(t, v), ",") != "new" {
		t.Fatalf("lineage after delete: %q", membersOf(t, v))
	}
	if st.Stats().Segments < 4 {
		t.Fatalf("only %d segments", st.Stats().Segments)
	}
}

func TestCorruptSegmentIsDetected(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t, Config{Shards: 1, FlushDir: dir, MemoryCap: 8 << 10})
	for i := range 300 {
		st.Put(ctx, Tasks, fmt.Appendf(nil, "task-%d", i), fmt.Appendf(nil, "spec-%d", i))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "seg-*"))
	if len(files) == 0 {
		t.Fatal("no segment written")
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// Flip a bit in every record's payload (not the index): each read of
	// a flushed key in that segment must fail its checksum.
	const magicSize = len("MNTSEG01")
	for off := magicSize; off < len(data)/2; off += 7 {
		data[off] ^= 0x10
	}
	if err := os.WriteFile(files[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	var corrupt int
	for i := range 300 {
		v, ok, err := st.Get(ctx, Tasks, fmt.Appendf(nil, "task-%d", i), nil)
		switch {
		case errors.Is(err, ErrCorrupt):
			corrupt++
		case err != nil:
			t.Fatalf("task-%d: %v, want ErrCorrupt", i, err)
		case !ok || string(v) != fmt.Sprintf("spec-%d", i):
			t.Fatalf("task-%d read back as %q %v: corruption went unnoticed", i, v, ok)
		}
	}
	if corrupt == 0 {
		t.Fatal("no read saw the corruption")
	}
	if err := st.verify(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), files[0]) {
		t.Fatalf("Verify: %v, want ErrCorrupt naming %s", err, files[0])
	}
}

func TestSnapshotRestoreWithSegments(t *testing.T) {
	dir := t.TempDir()
	src := newShard(t, ShardConfig{FlushDir: filepath.Join(dir, "a"), MemoryCap: 4 << 10})
	for i := range 200 {
		src.apply(&Op{Kind: OpPut, Table: Tasks, Key: fmt.Appendf(nil, "t%d", i), Value: make([]byte, 40)})
		src.apply(&Op{Kind: OpAppend, Table: Lineage, Key: []byte("o"), Value: fmt.Appendf(nil, "m%d", i)})
		if i%10 == 0 {
			src.apply(&Op{Kind: OpDelete, Table: Tasks, Key: fmt.Appendf(nil, "t%d", i/2)})
		}
		src.apply(&Op{Kind: OpPut, Table: KV, Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v")})
	}
	if n := src.flush.Count(); n < 2 {
		t.Fatalf("%d segments", n)
	}
	snap := src.Snapshot().AppendTo(nil)
	want := src.Dump()

	for name, dst := range map[string]*Shard{
		"flushing":  newShard(t, ShardConfig{FlushDir: filepath.Join(dir, "b"), MemoryCap: 4 << 10}),
		"in memory": newShard(t, ShardConfig{}),
	} {
		dst.apply(&Op{Kind: OpPut, Table: KV, Key: []byte("stale"), Value: []byte("x")})
		if err := dst.Restore(snap); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := dst.Dump(); got != want {
			t.Fatalf("%s: restored state differs:\n got %s\nwant %s", name, got, want)
		}
	}
	// A damaged snapshot is refused, never half-applied silently.
	bad := append([]byte(nil), snap...)
	bad[len(bad)-30] ^= 1
	if err := newShard(t, ShardConfig{}).Restore(bad); err == nil {
		t.Fatal("a damaged snapshot restored")
	}
}

// newShard returns a shard that the test closes.
func newShard(t testing.TB, cfg ShardConfig) *Shard {
	t.Helper()
	s, err := NewShard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// FuzzRestore restores arbitrary bytes as a snapshot: an error or a
// state, never a panic.
func FuzzRestore(f *testing.F) {
	s := newShard(f, ShardConfig{})
	s.apply(&Op{Kind: OpPut, Table: KV, Key: []byte("k"), Value: []byte("v")})
	s.apply(&Op{Kind: OpAdd, Table: Objects, Key: []byte("o"), Value: []byte("n")})
	f.Add(s.Snapshot().AppendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		newShard(t, ShardConfig{}).Restore(b)
	})
}

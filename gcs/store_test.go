package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func openStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	st, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func mustGet(t *testing.T, st *Store, tb Table, key string) (string, bool) {
	t.Helper()
	v, ok, err := st.Get(context.Background(), tb, []byte(key), nil)
	if err != nil {
		t.Fatalf("get %v %q: %v", tb, key, err)
	}
	return string(v), ok
}

func membersOf(t *testing.T, data string) []string {
	t.Helper()
	ms, err := Members([]byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, string(m))
	}
	return out
}

func TestTableKinds(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, Config{Shards: 3})

	if err := st.Put(ctx, Tasks, []byte("t1"), []byte("spec")); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, Tasks, []byte("t1"), []byte("spec2")); err != nil {
		t.Fatal(err)
	}
	if v, ok := mustGet(t, st, Tasks, "t1"); !ok || v != "spec2" {
		t.Fatalf("tasks t1 = %q %v", v, ok)
	}

	for _, m := range []string{"n1", "n2", "n1", "n3"} {
		if err := st.Add(ctx, Objects, []byte("o1"), []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Remove(ctx, Objects, []byte("o1"), []byte("n2")); err != nil {
		t.Fatal(err)
	}
	v, _ := mustGet(t, st, Objects, "o1")
	if got := strings.Join(membersOf(t, v), ","); got != "n1,n3" {
		t.Fatalf("objects o1 = %s", got)
	}
	st.Remove(ctx, Objects, []byte("o1"), []byte("n1"))
	st.Remove(ctx, Objects, []byte("o1"), []byte("n3"))
	if _, ok := mustGet(t, st, Objects, "o1"); ok {
		t.Fatal("an empty set should be gone")
	}

	for _, m := range []string{"a", "b", "a"} {
		if err := st.Append(ctx, Events, []byte("job1"), []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	v, _ = mustGet(t, st, Events, "job1")
	if got := strings.Join(membersOf(t, v), ","); got != "a,b,a" {
		t.Fatalf("events job1 = %s", got)
	}
	if err := st.Delete(ctx, Events, []byte("job1")); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, st, Events, "job1"); ok {
		t.Fatal("deleted key still there")
	}

	bad := []Op{
		{Kind: OpAppend, Table: Tasks, Key: []byte("k"), Value: []byte("v")},
		{Kind: OpPut, Table: Objects, Key: []byte("k"), Value: []byte("v")},
		{Kind: OpAdd, Table: Events, Key: []byte("k"), Value: []byte("v")},
		{Kind: OpPut, Table: 0, Key: []byte("k")},
		{Kind: OpPut, Table: Tasks},
		{Kind: 99, Table: Tasks, Key: []byte("k")},
	}
	for _, op := range bad {
		if err := st.Apply(ctx, op); !errors.Is(err, ErrBadOp) {
			t.Errorf("%v on %v: got %v, want ErrBadOp", op.Kind, op.Table, err)
		}
	}
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, Config{Shards: 1, Limits: Limits{MaxKey: 8, MaxValue: 16, MaxEntry: 40}})
	err := st.Put(ctx, KV, []byte("k"), make([]byte, 17))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "limit of 16 bytes (MaxValue)") {
		t.Fatalf("oversized value: %v", err)
	}
	err = st.Put(ctx, KV, []byte("123456789"), nil)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "MaxKey") {
		t.Fatalf("oversized key: %v", err)
	}
	for i := 0; ; i++ {
		err = st.Append(ctx, Events, []byte("k"), []byte("0123456789"))
		if err != nil {
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "MaxEntry") {
				t.Fatalf("oversized entry: %v", err)
			}
			if i != 2 {
				t.Fatalf("entry refused after %d appends", i)
			}
			break
		}
	}
	v, _ := mustGet(t, st, Events, "k")
	if n := len(membersOf(t, v)); n != 2 {
		t.Fatalf("a refused append changed the entry: %d members", n)
	}
}

func TestShardOfIsStable(t *testing.T) {
	// Placement must never change between releases or processes: clients
	// and replicas must agree on it.
	if got := keyHash(Objects, []byte("a")); got != 0x30ccdd7f603d5594 {
		t.Fatalf("keyHash(objects, a) = %#x: the placement function changed", got)
	}
	if keyHash(Objects, []byte("a")) == keyHash(Tasks, []byte("a")) {
		t.Fatal("table does not enter the hash")
	}
	counts := make([]int, 8)
	for i := range 80000 {
		counts[ShardOf(Tasks, fmt.Appendf(nil, "task-%d", i), 8)]++
	}
	for s, c := range counts {
		if c < 9000 || c > 11000 {
			t.Errorf("shard %d holds %d of 80000 keys", s, c)
		}
	}
}

func TestSubscribeKeyAndTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := openStore(t, Config{Shards: 4})
	byKey, err := st.Subscribe(ctx, Objects, []byte("o1"))
	if err != nil {
		t.Fatal(err)
	}
	byTable, err := st.Subscribe(ctx, Nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Add(ctx, Objects, []byte("o2"), []byte("n1")) // not watched
	st.Add(ctx, Objects, []byte("o1"), []byte("n1"))
	st.Add(ctx, Objects, []byte("o1"), []byte("n1")) // no change: no notification
	st.Remove(ctx, Objects, []byte("o1"), []byte("n1"))
	for i := range 10 {
		st.Put(ctx, Nodes, fmt.Appendf(nil, "node-%d", i), []byte("dead"))
	}

	var got []string
	for range 2 {
		n, err := byKey.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%v %v %s %s", n.Table, n.Op, n.Key, n.Value))
	}
	if want := "objects add o1 n1|objects remove o1 n1"; strings.Join(got, "|") != want {
		t.Fatalf("key subscription got %q, want %q", strings.Join(got, "|"), want)
	}
	seen := map[string]bool{}
	for range 10 {
		n, err := byTable.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen[string(n.Key)] = true
	}
	if len(seen) != 10 {
		t.Fatalf("table subscription saw %d keys", len(seen))
	}
	byKey.Close()
	if _, err := byKey.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	st.Add(ctx, Objects, []byte("o1"), []byte("n9")) // must not block or panic
	short, cancelShort := context.WithTimeout(ctx, time.Millisecond)
	defer cancelShort()
	if _, err := byTable.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty subscription: %v", err)
	}
}

func TestSubscriptionOverflowResyncs(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, Config{Shards: 1, MaxQueued: 4})
	sub, _ := st.Subscribe(ctx, KV, nil)
	for i := range 10 {
		st.Put(ctx, KV, []byte("k"), fmt.Appendf(nil, "%d", i))
	}
	var got []string
	for range 2 {
		n, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%v:%s", n.Op, n.Value))
	}
	// 4 queued, the 5th replaces them with a resync, then 5..9 queue; the
	// 9th write overflows again.
	if got[0] != "resync:" {
		t.Fatalf("got %v, want a resync first", got)
	}
}

func TestGetAppendsToDst(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, Config{})
	st.Put(ctx, KV, []byte("k"), []byte("value"))
	dst, ok, err := st.Get(ctx, KV, []byte("k"), []byte("prefix:"))
	if err != nil || !ok || !bytes.Equal(dst, []byte("prefix:value")) {
		t.Fatalf("got %q %v %v", dst, ok, err)
	}
	st.Close()
	if _, _, err := st.Get(ctx, KV, []byte("k"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
	if err := st.Put(ctx, KV, []byte("k"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("put after close: %v", err)
	}
}

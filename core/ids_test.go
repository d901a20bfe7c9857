package core

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The graph of TestRerunReproducesIDs: idOuter calls two idMids (one with
// its context, one without), each calls an idLeaf and testAdd and makes a
// Put. Every execution appends "name id attempt" to the log, and every
// task returns the IDs of what it made.

func logExecution(ctx context.Context, log, name string) TaskInfo {
	info, _ := TaskFromContext(ctx)
	f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		fmt.Fprintf(f, "%s %v %d\n", name, info.ID, info.Attempt)
		f.Close()
	}
	return info
}

var testIDLeaf = Register2("test.ids.leaf", func(ctx context.Context, log string) (string, error) {
	return "leaf=" + logExecution(ctx, log, "leaf").ID.String(), nil
})

// idMid's children: the leaf, numbered from ctx when it has one and from
// the only running call when not; testAdd and the Put the same way.
func idMid(ctx context.Context, log, name string, leafCtx context.Context) ([]string, error) {
	info := logExecution(ctx, log, name)
	leaf := testIDLeaf.Remote(leafCtx, log)
	add := testAdd.Remote(1, 2)
	put, err := Put(name)
	if err != nil {
		return nil, err
	}
	got, err := leaf.Get(ctx)
	if err != nil {
		return nil, err
	}
	ids := []string{name + "=" + info.ID.String(), got, "leafref=" + leaf.ID().String(),
		"add=" + add.ID().String(), "put=" + put.ID().String()}
	// Given up now, so that the node frees them and a re-run runs them again.
	leaf.Release()
	add.Release()
	put.Release()
	return ids, nil
}

var testIDMidCtx = Register2("test.ids.midctx", func(ctx context.Context, log string) ([]string, error) {
	return idMid(ctx, log, "midctx", ctx)
})

var testIDMidPlain = Register2("test.ids.midplain", func(ctx context.Context, log string) ([]string, error) {
	return idMid(ctx, log, "midplain", context.Background())
})

// testIDOuter dies on its first attempt, after its graph has run and it
// has written the IDs to first; its retry returns them again.
var testIDOuter = Register3("test.ids.outer", func(ctx context.Context, log, first string) ([]string, error) {
	info := logExecution(ctx, log, "outer")
	ids := []string{"outer=" + info.ID.String()}
	put, err := Put(1)
	if err != nil {
		return nil, err
	}
	ids = append(ids, "put="+put.ID().String())
	for _, r := range []Ref[[]string]{testIDMidCtx.Remote(ctx, log), testIDMidPlain.Remote(context.Background(), log)} {
		sub, err := r.Get(ctx)
		if err != nil {
			return nil, err
		}
		ids = append(ids, "ref="+r.ID().String())
		ids = append(ids, sub...)
	}
	if info.Attempt == 1 {
		if err := os.WriteFile(first, []byte(strings.Join(ids, "\n")), 0o600); err != nil {
			return nil, err
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	return ids, nil
})

func TestRerunReproducesIDs(t *testing.T) {
	startCluster(t, Config{})
	dir := t.TempDir()
	log, first := filepath.Join(dir, "log"), filepath.Join(dir, "first")
	again, err := testIDOuter.Remote(ctxT(t), log, first).Get(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(again, "\n"); got != string(want) {
		t.Fatalf("the re-run made other IDs:\n%s\nthe first run:\n%s", got, want)
	}
	// Every task ran twice (its results were freed with the first run), and
	// under the same ID; only the one that died counts its attempts.
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runs := map[string][]string{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		name, rest, _ := strings.Cut(sc.Text(), " ")
		runs[name] = append(runs[name], rest)
	}
	for _, name := range []string{"outer", "midctx", "midplain", "leaf"} {
		got := runs[name]
		slices.Sort(got)
		n := 2
		if name == "leaf" {
			n = 4 // one per mid
		}
		if len(got) != n {
			t.Fatalf("%s ran %d times, want %d: %v", name, len(got), n, got)
		}
		for i := 0; i < n; i += 2 {
			a, b := strings.Fields(got[i]), strings.Fields(got[i+1])
			if a[0] != b[0] {
				t.Fatalf("%s ran under two IDs: %v", name, got)
			}
			if wantAttempts := name == "outer"; wantAttempts != (a[1] == "1" && b[1] == "2") {
				t.Fatalf("%s attempts: %v", name, got)
			}
		}
	}
}

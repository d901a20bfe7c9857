package main

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"manta/core"
)

// Functions for reconstruction: resource x is on the nodes that may run
// them, so a task made on a killed node can run again on another.
var (
	onX     = core.WithResources(map[string]float64{"CPU": 1, "x": 1})
	blobOnX = core.Register1("test.blobOnX", func(n int) ([]byte, error) { return bytes.Repeat([]byte{7}, n), nil }, onX)
	incOnX  = core.Register1("test.incOnX", func(b []byte) ([]byte, error) {
		out := slices.Clone(b)
		for i := range out {
			out[i]++
		}
		return out, nil
	}, onX)
	blobOnXOnce = core.Register1("test.blobOnXOnce", func(n int) ([]byte, error) { return bytes.Repeat([]byte{7}, n), nil },
		onX, core.WithMaxRetries(0))
)

// Values made on a node that is then killed are made again on another
// by running their tasks again (Ray's test_reconstruction scenarios, as
// separate processes on loopback): a plain result; the end of a chain
// whose middle the driver let go, rebuilt link by link; a result made
// from a value the driver put; and, where that cannot be, typed errors:
// a task with no retries, and one only the dead node could run.
func TestReconstructionAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	startProcess(t, dir, "start", "--head", "--node-timeout", "1s", "--heartbeat", "100ms", "--resources", "CPU=1").waitJoined(t)
	address := headAddress(t, dir)
	a := startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2,x=1,a=1")
	aID := a.waitJoined(t)
	ctx := joinDriver(t, dir, core.Config{Address: address, SpillQueue: 2, Resources: map[string]float64{"CPU": 1}})

	const size = 2 << 20 // stored, not inline
	blob := blobOnX.Remote(size)
	chain := incOnX.Remote(blob)
	for range 4 {
		next := incOnX.Remote(chain)
		chain.Release() // its record stays, as the next link's lineage
		chain = next
	}
	put, err := core.Put(bytes.Repeat([]byte{1}, size))
	if err != nil {
		t.Fatal(err)
	}
	fromPut := incOnX.Remote(put)
	once := blobOnXOnce.Remote(size)
	onlyA := blobOnA.Remote(size)
	all := []core.Ref[[]byte]{blob, chain, fromPut, once, onlyA}
	// Done, their bytes on a only: Wait pulls nothing.
	if _, _, err := core.Wait(ctx, all, len(all), 0); err != nil {
		t.Fatal(err)
	}

	startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2,x=1").waitJoined(t)
	killAndAwaitDeath(t, dir, address, a, aID)

	check := func(what string, r core.Ref[[]byte], want byte) {
		t.Helper()
		v, err := r.Get(ctx)
		if err != nil || len(v) != size || v[0] != want || v[size-1] != want {
			t.Fatalf("%s, made again: %d bytes (first %v), %v; want %d bytes of %d", what, len(v), v[:min(1, len(v))], err, size, want)
		}
	}
	check("a result", blob, 7)
	check("the end of a chain of 5", chain, 12)
	check("a result made from a Put", fromPut, 2)
	if _, err := once.Get(ctx); !errors.Is(err, core.ErrObjectLost) || !errors.Is(err, core.ErrRetriesExhausted) {
		t.Errorf("a lost result of a task with no retries: %v; want ErrObjectLost and ErrRetriesExhausted", err)
	} else {
		t.Logf("no retries: %v", err)
	}
	if _, err := onlyA.Get(ctx); !errors.Is(err, core.ErrInfeasible) {
		t.Errorf("a lost result of a task only the dead node could run: %v; want ErrInfeasible", err)
	} else {
		t.Logf("only the dead node could run it: %v", err)
	}
}

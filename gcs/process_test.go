package gcs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary serve as a replica process: a Head started
// by a test runs this binary with the MANTA_GCS_* variables set.
func TestMain(m *testing.M) {
	if cfg, ok, err := ReplicaConfigFromEnv(); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		cfg.Logf = quiet
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := RunReplica(ctx, cfg, nil)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// replicaCommand runs this test binary as a replica process.
func replicaCommand() *exec.Cmd { return exec.Command(os.Args[0], "-test.run=^$") }

// TestProcessesKilledMidWrite runs a head with S=2 shards of R=2 replicas,
// each a separate process on loopback, through the public API. While
// clients write, members are killed with SIGKILL (heads, tails, and one
// during a join); the head starts new replica processes, which join by
// state transfer. Every acknowledged write must be read back.
func TestProcessesKilledMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	head, err := StartHead(ctx, HeadConfig{Shards: 2, Replicas: 2, Command: replicaCommand, Restart: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer head.Close()
	c, err := Dial(ctx, ClientConfig{Monitor: head.Addr(), Token: head.Token(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var mu sync.Mutex
	acked := map[string]string{}
	failed := 0
	more := make(chan struct{}, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k, v := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("value %d of writer %d", i, w)
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				err := c.Put(wctx, KV, []byte(k), []byte(v))
				wcancel()
				mu.Lock()
				if err == nil {
					acked[k] = v
				} else {
					failed++
					t.Logf("write %s failed visibly: %v", k, err)
				}
				mu.Unlock()
				select {
				case more <- struct{}{}:
				default:
				}
			}
		}()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	progress := func(n int) {
		t.Helper()
		for count() < n {
			select {
			case <-more:
			case <-ctx.Done():
				t.Fatalf("only %d writes acknowledged, want %d", count(), n)
			}
		}
	}
	kill := func(shard int, which string) {
		t.Helper()
		chain := head.Monitor().Chains()[shard]
		m := chain.Tail()
		if which == "head" {
			m = chain.Head()
		}
		p := head.Process(m.ID)
		if p == nil {
			t.Fatalf("no process for %s %d of %v", which, m.ID, chain)
		}
		if err := head.Kill(m.ID); err != nil {
			t.Fatal(err)
		}
		<-p.Done()
		t.Logf("killed the %s of shard %d (pid %d)", which, shard, p.PID)
	}

	progress(300)
	for round, victim := range []struct {
		shard int
		which string
	}{{0, "tail"}, {1, "head"}, {0, "head"}, {1, "tail"}} {
		kill(victim.shard, victim.which)
		n := count()
		progress(n + 200)
		if _, err := head.WaitFull(ctx); err != nil {
			t.Fatal(err)
		}
		progress(count() + 200)
		t.Logf("round %d: chains %v", round, head.Monitor().Chains())
	}

	// Kill the tail, then the replica that replaces it while it is
	// (likely still) receiving the state.
	chain := head.Monitor().Chains()[0]
	if err := head.Kill(chain.Tail().ID); err != nil {
		t.Fatal(err)
	}
	cs, err := head.Monitor().WaitChains(ctx, func(cs []Chain) bool {
		return cs[0].Joiner.ID != 0 || len(cs[0].Members) == 2 && cs[0].Epoch > chain.Epoch+1
	})
	if err != nil {
		t.Fatal(err)
	}
	joiner := cs[0].Joiner.ID
	if joiner == 0 {
		joiner = cs[0].Tail().ID // already promoted: kill the new tail instead
	}
	if err := head.Kill(joiner); err != nil {
		t.Fatal(err)
	}
	if _, err := head.WaitFull(ctx); err != nil {
		t.Fatal(err)
	}
	progress(count() + 200)

	close(stop)
	wg.Wait()
	var lost int
	for k, v := range acked {
		got, ok, err := c.Get(ctx, KV, []byte(k), nil)
		if err != nil || !ok || string(got) != v {
			lost++
			t.Errorf("acknowledged write %s reads back %q %v %v", k, got, ok, err)
		}
	}
	t.Logf("%d writes acknowledged and read back (%d lost), %d failed visibly; chains %v", len(acked), lost, failed, head.Monitor().Chains())
}

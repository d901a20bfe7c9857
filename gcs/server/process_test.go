package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"manta/gcs/chain"
	"manta/gcs/client"
)

// TestMain lets the test binary serve as a replica process: a Head started
// by a test runs this binary with the MANTA_GCS_* variables set.
func TestMain(m *testing.M) {
	if cfg, ok, err := ReplicaConfigFromEnv(); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		cfg.Logger = quiet
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
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	head, err := StartHead(ctx, HeadConfig{Shards: 2, Replicas: 2, Command: replicaCommand, Restart: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer head.Close()
	c, err := client.Dial(ctx, client.Config{Monitor: head.Addr(), Token: head.Token(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	load := startWrites(ctx, t, c, 8, 10*time.Second)
	kill := func(shard int, which string) {
		t.Helper()
		ch := head.Monitor().Chains()[shard]
		m := ch.Tail()
		if which == "head" {
			m = ch.Head()
		}
		p := head.Process(m.ID)
		if p == nil {
			t.Fatalf("no process for %s %d of %v", which, m.ID, ch)
		}
		if err := head.Kill(m.ID); err != nil {
			t.Fatal(err)
		}
		<-p.Done()
		t.Logf("killed the %s of shard %d (pid %d)", which, shard, p.PID)
	}

	load.progress(ctx, 300)
	for round, victim := range []struct {
		shard int
		which string
	}{{0, "tail"}, {1, "head"}, {0, "head"}, {1, "tail"}} {
		kill(victim.shard, victim.which)
		load.progress(ctx, 200)
		if _, err := head.WaitFull(ctx); err != nil {
			t.Fatal(err)
		}
		load.progress(ctx, 200)
		t.Logf("round %d: chains %v", round, head.Monitor().Chains())
	}

	// Kill the tail, then the replica that replaces it while it is
	// (likely still) receiving the state.
	ch := head.Monitor().Chains()[0]
	if err := head.Kill(ch.Tail().ID); err != nil {
		t.Fatal(err)
	}
	cs, err := head.Monitor().WaitChains(ctx, func(cs []chain.Chain) bool {
		return cs[0].Joiner.ID != 0 || len(cs[0].Members) == 2 && cs[0].Epoch > ch.Epoch+1
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
	load.progress(ctx, 200)
	load.finish(ctx)
	t.Logf("chains %v", head.Monitor().Chains())
}

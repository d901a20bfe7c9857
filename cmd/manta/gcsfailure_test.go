package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"manta/cluster"
	"manta/core"
	"manta/gcs"
	"manta/gcs/client"
)

// A GCS replica killed while the cluster runs costs no acknowledged
// write: a head with a chain of 3 replica processes, a node and a driver
// running tasks, and a writer of its own. Two replicas are killed with
// SIGKILL, one after the other (the head restarts each); tasks keep
// finishing, the node is never taken for dead, and every write the GCS
// acknowledged reads back. The longest a task or a write waited is
// logged: the stall clients see while the chain reconfigures.
func TestGCSReplicaKilledInALiveCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	head := startProcess(t, dir, "start", "--head", "--gcs-replicas", "3", "--node-timeout", "2s", "--heartbeat", "100ms", "--resources", "CPU=1")
	replicas := <-head.replicas
	head.waitJoined(t)
	if len(replicas) != 3 {
		t.Fatalf("replica processes %v; want 3", replicas)
	}
	address := headAddress(t, dir)
	aID := startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2,x=2").waitJoined(t)
	ctx := joinDriver(t, dir, core.Config{Address: address, SpillQueue: 2, Resources: map[string]float64{"CPU": 1}})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	token, err := cluster.ReadToken(filepath.Join(dir, cluster.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	api, err := client.Dial(ctx, client.Config{Monitor: address, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]string{}
	var tasks, taskErrs int
	var slowestTask, slowestWrite time.Duration
	wg.Go(func() { // tasks that run on node a, through the cluster
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			_, err := slowOnX.Remote(1).Get(ctx)
			mu.Lock()
			tasks++
			if err != nil {
				taskErrs++
				t.Errorf("a task during the kills: %v", err)
			}
			slowestTask = max(slowestTask, time.Since(start))
			mu.Unlock()
		}
	})
	wg.Go(func() { // writes of the test's own, each acknowledged or failed visibly
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k, v := fmt.Sprintf("test-%d", i), fmt.Sprintf("value %d", i)
			start := time.Now()
			err := api.Put(ctx, gcs.KV, []byte(k), []byte(v))
			mu.Lock()
			if err == nil {
				acked[k] = v
			}
			slowestWrite = max(slowestWrite, time.Since(start))
			mu.Unlock()
		}
	})
	progress := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return tasks, len(acked)
	}
	awaitProgress := func(what string) {
		t.Helper()
		t0, w0 := progress()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if t1, w1 := progress(); t1 >= t0+20 && w1 >= w0+100 {
				return
			}
			if time.Now().After(deadline) {
				t1, w1 := progress()
				t.Fatalf("%s: %d tasks and %d writes in 30 s", what, t1-t0, w1-w0)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	awaitProgress("before the kills")
	for _, pid := range replicas[1:] {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		awaitProgress(fmt.Sprintf("after killing replica pid %d", pid))
	}
	close(stop)
	wg.Wait()

	for k, v := range acked {
		got, ok, err := api.Get(ctx, gcs.KV, []byte(k), nil)
		if err != nil || !ok || string(got) != v {
			t.Fatalf("acknowledged write %s reads back %q, %v, %v; want %q", k, got, ok, err, v)
		}
	}
	nodes, err := listNodes(t, dir, address)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if string(n.ID) == aID && n.State != gcs.NodeAlive {
			t.Errorf("node a is %v after the kills; its heartbeats must have gone on", n.State)
		}
	}
	t.Logf("%d tasks (%d failed) and %d acknowledged writes across two replica kills; the slowest task took %v, the slowest write %v",
		tasks, taskErrs, len(acked), slowestTask.Round(time.Millisecond), slowestWrite.Round(time.Millisecond))
}

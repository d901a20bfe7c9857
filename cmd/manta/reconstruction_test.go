package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"manta/core"
)

// nodeTimeout is the heads' --node-timeout here: generous, because under
// -race on a busy 2-core machine a live node's heartbeats can lag by a
// second, and a node taken for dead makes what only it can run
// infeasible.
const nodeTimeout = "3s"

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
	// flipOnX's result is stored on its first run and inline on any
	// other: made again, it changes kind (Ray's
	// test_nondeterministic_output).
	flipOnX = core.Register2("test.flipOnX", func(ctx context.Context, n int) ([]byte, error) {
		if info, _ := core.TaskFromContext(ctx); info.Attempt > 1 {
			return []byte{8}, nil
		}
		return bytes.Repeat([]byte{8}, n), nil
	}, onX)
	blobOnXOnce = core.Register1("test.blobOnXOnce", func(n int) ([]byte, error) { return bytes.Repeat([]byte{7}, n), nil },
		onX, core.WithMaxRetries(0))

	// Tallies on the nodes with resource x: one restarts once, one never.
	tallyOnX = core.RegisterActor0("test.TallyOnX", func() (*tally, error) { return &tally{}, nil },
		core.WithActorResources(map[string]float64{"CPU": 1, "x": 1}), core.WithMaxRestarts(1))
	tallyOnXAdd   = core.RegisterMethod1(tallyOnX, "Add", func(t *tally, k int) (int, error) { t.n += k; return t.n, nil })
	tallyOnXWhere = core.RegisterMethod0(tallyOnX, "Where", func(*tally) (int, error) { return os.Getppid(), nil })
	// tallyBlob returns n stored bytes: an actor's result held on its
	// node.
	tallyBlob    = core.RegisterMethod1(tallyOnX, "Blob", func(_ *tally, n int) ([]byte, error) { return bytes.Repeat([]byte{5}, n), nil })
	tallyOnXOnce = core.RegisterActor0("test.TallyOnXOnce", func() (*tally, error) { return &tally{}, nil },
		core.WithActorResources(map[string]float64{"CPU": 1, "x": 1}))
	tallyOnXOnceAdd = core.RegisterMethod1(tallyOnXOnce, "Add", func(t *tally, k int) (int, error) { t.n += k; return t.n, nil })
	// A holder of the sum of a value given to its constructor; restarted,
	// it needs the value again.
	holderOnX = core.RegisterActor1("test.HolderOnX", func(b []byte) (*tally, error) {
		t := &tally{}
		for _, x := range b {
			t.n += int(x)
		}
		return t, nil
	}, core.WithActorResources(map[string]float64{"CPU": 1, "x": 1}), core.WithMaxRestarts(1))
	holderSum = core.RegisterMethod0(holderOnX, "Sum", func(t *tally) (int, error) { return t.n, nil })
	// A tally whose calls are retried (at least once) across a restart.
	retryingOnX = core.RegisterActor0("test.RetryingOnX", func() (*tally, error) { return &tally{}, nil },
		core.WithActorResources(map[string]float64{"CPU": 1, "x": 1}), core.WithMaxRestarts(1), core.WithMaxTaskRetries(-1))
	retryingAdd = core.RegisterMethod1(retryingOnX, "Add", func(t *tally, k int) (int, error) { t.n += k; return t.n, nil })
	// addOnC calls the actor from a task on node c, through a handle
	// that came as an argument: a caller that is not its owner.
	addOnC = core.Register2("test.addOnC", func(h core.Actor[tally], k int) (int, error) {
		return retryingAdd.Remote(h, k).Get(context.Background())
	}, core.WithResources(map[string]float64{"CPU": 1, "c": 1}))
	retryingBlob = core.RegisterMethod1(retryingOnX, "Blob", func(_ *tally, n int) ([]byte, error) { return bytes.Repeat([]byte{6}, n), nil })
	// heldAdd adds k, except under the node process holdOn, where it
	// waits until that node is killed: a call in flight when its node
	// dies, whatever the time the test takes to kill it.
	heldAdd = core.RegisterMethod2(retryingOnX, "HeldAdd", func(t *tally, k, holdOn int) (int, error) {
		if os.Getppid() == holdOn {
			select {}
		}
		t.n += k
		return t.n, nil
	})

	// A tally that checkpoints every 3 calls and replays on a restart.
	checkpointingOnX = core.RegisterActor0("test.CheckpointingOnX", func() (*savedTally, error) { return &savedTally{}, nil },
		core.WithActorResources(map[string]float64{"CPU": 1, "x": 1}), core.WithMaxRestarts(1), core.WithCheckpointEvery(3))
	checkpointingAdd = core.RegisterMethod1(checkpointingOnX, "Add", func(t *savedTally, k int) (int, error) {
		t.n += k
		t.runs++
		return t.n, nil
	})
	checkpointingRuns = core.RegisterMethod0(checkpointingOnX, "Runs", func(t *savedTally) (int, error) { return t.runs, nil })

	// putOnA puts n bytes from a task on node a and returns the
	// reference: the object's owner is a (its job node), which alone
	// could make it again.
	putOnA = core.Register1("test.putOnA", func(n int) (boxedRef, error) {
		r, err := core.Put(bytes.Repeat([]byte{9}, n))
		return boxedRef{R: r}, err
	}, core.WithResources(map[string]float64{"CPU": 1, "a": 1}))

	// fillOnX makes n bytes of value v; sumOnY, on the consumers' node,
	// adds them up, taking 10 ms at least (so that they are still running
	// when a test kills the producers' node).
	fillOnX = core.Register2("test.fillOnX", func(n, v int) ([]byte, error) { return bytes.Repeat([]byte{byte(v)}, n), nil }, onX)
	sumOnY  = core.Register1("test.sumOnY", func(b []byte) (int, error) {
		time.Sleep(10 * time.Millisecond)
		s := 0
		for _, x := range b {
			s += int(x)
		}
		return s, nil
	}, core.WithResources(map[string]float64{"CPU": 1, "y": 1}))
)

// Values made on a node that is then killed are made again on another
// by running their tasks again (Ray's test_reconstruction scenarios, as
// separate processes on loopback): a plain result; the end of a chain
// whose middle the driver let go, rebuilt link by link; a result made
// from a value the driver put; and, where that cannot be, typed errors:
// a task with no retries, and one only the dead node could run. An actor
// with a restart left is created again on another node; one without is
// dead; a call running when it died is sent again to the new instance
// when its actor has task retries; one whose constructor took a value
// made on the dead node gets it made again.
func TestReconstructionAcrossNodes(t *testing.T) {
	dir, address := startReconstructionHead(t)
	a := startReconstructionNode(t, dir, address, "CPU=8,x=8,a=1")
	aID := a.waitJoined(t)
	startReconstructionNode(t, dir, address, "CPU=2,c=1").waitJoined(t)
	ctx := joinReconstructionDriver(t, dir, address, 60*time.Second)

	const size = 2 << 20 // stored, not inline
	blob := blobOnX.Remote(size)
	chain := incOnX.Remote(blob)
	for range 19 { // a chain of 20 (Ray's test_reconstruction_chain)
		next := incOnX.Remote(chain)
		chain.Release() // its record stays, as the next link's lineage
		chain = next
	}
	put, err := core.Put(bytes.Repeat([]byte{1}, size))
	if err != nil {
		t.Fatal(err)
	}
	fromPut := incOnX.Remote(put)
	flip := flipOnX.Remote(ctx, size)
	once := blobOnXOnce.Remote(size)
	onlyA := blobOnA.Remote(size)
	restarts, never := tallyOnX.Remote(), tallyOnXOnce.Remote()
	if n, err := tallyOnXAdd.Remote(restarts, 5).Get(ctx); err != nil || n != 5 {
		t.Fatalf("a tally on a: %d, %v", n, err)
	}
	if pid, err := tallyOnXWhere.Remote(restarts).Get(ctx); err != nil || pid != a.cmd.Process.Pid {
		t.Fatalf("the tally lives under pid %d, %v; node a is %d", pid, err, a.cmd.Process.Pid)
	}
	if n, err := tallyOnXOnceAdd.Remote(never, 5).Get(ctx); err != nil || n != 5 {
		t.Fatalf("a tally on a: %d, %v", n, err)
	}
	holder := holderOnX.Remote(blob)
	if s, err := holderSum.Remote(holder).Get(ctx); err != nil || s != 7*size {
		t.Fatalf("a holder on a: %d, %v", s, err)
	}
	checkpointing := checkpointingOnX.Remote()
	for k := 1; k <= 7; k++ {
		if n, err := checkpointingAdd.Remote(checkpointing, k).Get(ctx); err != nil || n != k*(k+1)/2 {
			t.Fatalf("a checkpointing tally on a: Add(%d) = %d, %v", k, n, err)
		}
	}
	boxed, err := putOnA.Remote(size).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	retrying := retryingOnX.Remote()
	for { // infeasible until the driver's view has c
		_, err := addOnC.Remote(retrying, 1).Get(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, core.ErrInfeasible) || ctx.Err() != nil {
			t.Fatalf("a call through a handle on node c: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Actors' results stored on a, with and without task retries.
	actorBlobs := []core.Ref[[]byte]{retryingBlob.Remote(retrying, size), tallyBlob.Remote(restarts, size)}
	if _, _, err := core.Wait(ctx, actorBlobs, len(actorBlobs), 0); err != nil {
		t.Fatal(err)
	}
	inFlight := heldAdd.Remote(retrying, 3, a.cmd.Process.Pid) // running on a when a dies
	all := []core.Ref[[]byte]{blob, chain, fromPut, once, onlyA, flip}
	// Done, their bytes on a only: Wait pulls nothing.
	if _, _, err := core.Wait(ctx, all, len(all), 0); err != nil {
		t.Fatal(err)
	}

	b := startReconstructionNode(t, dir, address, "CPU=8,x=8,b=1")
	b.waitJoined(t)
	// Until the driver's view of the cluster (refreshed every heartbeat)
	// has b, a task only b can run is infeasible; once it ran, what a's
	// death starts at once (the actor's restart) can be placed on b.
	for {
		_, err := sumOnB.Remote([]byte{1}).Get(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, core.ErrInfeasible) || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	killAndAwaitDeath(t, dir, address, a, aID)

	check := func(what string, r core.Ref[[]byte], want byte) {
		t.Helper()
		v, err := r.Get(ctx)
		if err != nil || len(v) != size || v[0] != want || v[size-1] != want {
			t.Fatalf("%s, made again: %d bytes (first %v), %v; want %d bytes of %d", what, len(v), v[:min(1, len(v))], err, size, want)
		}
	}
	check("a result", blob, 7)
	check("the end of a chain of 20", chain, 7+20)
	check("a result made from a Put", fromPut, 2)
	if v, err := flip.Get(ctx); err != nil || len(v) != 1 || v[0] != 8 {
		t.Errorf("a stored result made again inline: %d bytes, %v; want its second run's 1 byte", len(v), err)
	}
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

	// The actor with a restart left is created again on b, its state
	// new (no checkpoint); the other is dead, with a typed error.
	if n, err := tallyOnXAdd.Remote(restarts, 1).Get(ctx); err != nil || n != 1 {
		t.Errorf("the restarted tally: %d, %v; want a new one's 1", n, err)
	}
	if pid, err := tallyOnXWhere.Remote(restarts).Get(ctx); err != nil || pid != b.cmd.Process.Pid {
		t.Errorf("the restarted tally lives under pid %d, %v; node b is %d", pid, err, b.cmd.Process.Pid)
	}
	if _, err := tallyOnXOnceAdd.Remote(never, 1).Get(ctx); !errors.Is(err, core.ErrActorDied) {
		t.Errorf("a tally without restarts on the dead node: %v; want ErrActorDied", err)
	}
	// The call in flight on a, retried, ran again on the new instance.
	if n, err := inFlight.Get(ctx); err != nil || n != 3 {
		t.Errorf("a call in flight when its actor's node died, with task retries: %d, %v; want 3 from the restarted actor", n, err)
	}
	// The holder restarted on b, its constructor's argument made again
	// (Ray's test_basic_reconstruction_actor_constructor).
	if s, err := holderSum.Remote(holder).Get(ctx); err != nil || s != 7*size {
		t.Errorf("the restarted holder: %d, %v; want %d", s, err, 7*size)
	}
	// An actor's result lost with its node: with task retries its call
	// runs again on the restarted actor (Ray's R5); without, it is lost
	// for good (R6).
	if v, err := actorBlobs[0].Get(ctx); err != nil || len(v) != size || v[0] != 6 {
		t.Errorf("an actor's result with task retries, made again: %d bytes, %v", len(v), err)
	}
	if _, err := actorBlobs[1].Get(ctx); !errors.Is(err, core.ErrObjectLost) {
		t.Errorf("an actor's result without task retries: %v; want ErrObjectLost", err)
	} else {
		t.Logf("an actor's result without task retries: %v", err)
	}
	// A value a task on a put, whose reference came back in its result:
	// its owner died with its only copy (Ray's OwnerDiedError). The
	// result that carried it is still there.
	if _, err := boxed.R.Get(ctx); !errors.Is(err, core.ErrOwnerDied) || !errors.Is(err, core.ErrObjectLost) {
		t.Errorf("a value whose owner died with it: %v; want ErrOwnerDied and ErrObjectLost", err)
	} else {
		t.Logf("owner died: %v", err)
	}
	// The checkpointing tally restarted on b from its checkpoint after
	// its 6th call, which a's reply carried to the driver, and the driver
	// sent its 7th call again.
	if n, err := checkpointingAdd.Remote(checkpointing, 0).Get(ctx); err != nil || n != 28 {
		t.Errorf("the restarted checkpointing tally: %d, %v; want 28, its state rebuilt", n, err)
	}
	if runs, err := checkpointingRuns.Remote(checkpointing).Get(ctx); err != nil || runs != 2 {
		t.Errorf("the restarted checkpointing tally ran %d Adds, %v; want 2 (the 7th again, then Add(0))", runs, err)
	}
	// Node c, which called the actor through a handle, finds it where its
	// owner restarted it.
	if _, err := addOnC.Remote(retrying, 1).Get(ctx); err != nil {
		t.Errorf("a call through a handle on another node after the actor's restart: %v", err)
	}
	runtime.KeepAlive(retrying) // a handle keeps it restartable
}

// boxedRef carries a reference in a task's result.
type boxedRef struct{ R core.Ref[[]byte] }

// savedTally is a tally whose sum is saved in checkpoints; runs counts
// the Adds its instance ran, and is not saved.
type savedTally struct{ n, runs int }

func (t *savedTally) SaveCheckpoint() ([]byte, error) {
	return strconv.AppendInt(nil, int64(t.n), 10), nil
}

func (t *savedTally) LoadCheckpoint(b []byte) (err error) {
	t.n, err = strconv.Atoi(string(b))
	return err
}

// startReconstructionNode starts a node of the head at address, with
// resources and 100 ms heartbeats.
func startReconstructionNode(t *testing.T, dir, address, resources string) *process {
	t.Helper()
	return startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", resources)
}

// startProducer starts a node that makes the tests' values (x=2) and
// waits until it joined: the node, and its ID.
func startProducer(t *testing.T, dir, address string) (*process, string) {
	t.Helper()
	p := startReconstructionNode(t, dir, address, "CPU=2,x=2")
	return p, p.waitJoined(t)
}

// joinReconstructionDriver joins this test's driver to the head at
// address, with one CPU and spilling when 2 tasks are queued, and returns
// a context that ends after timeout.
func joinReconstructionDriver(t *testing.T, dir, address string, timeout time.Duration) context.Context {
	t.Helper()
	ctx := joinDriver(t, dir, core.Config{Address: address, SpillQueue: 2, Resources: map[string]float64{"CPU": 1}})
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel)
	return ctx
}

// startReconstructionHead starts a head with one CPU in a fresh state
// directory (nodeTimeout, 100 ms heartbeats) and returns the directory
// and the head's address; it skips in short mode.
func startReconstructionHead(t *testing.T) (dir, address string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir = t.TempDir()
	startProcess(t, dir, "start", "--head", "--node-timeout", nodeTimeout, "--heartbeat", "100ms", "--resources", "CPU=1").waitJoined(t)
	return dir, headAddress(t, dir)
}

// Ray's reconstruction stress test at its scale (1000 values a round;
// of 128 KiB, not 100 KB, to be over the inline limit): stored values
// made on two producers' nodes and consumed on another; one producers'
// node is killed while the consumers run, and every consumer still gets
// its right value: three rounds, each with a new producers' node and
// killing the older one.
func TestReconstructionStress(t *testing.T) { reconstructionStress(t) }

// The same with the producers' values spilled to disk (Ray's R11 and
// R17): the nodes' stores hold 4 MiB, the 125 MiB of values the driver
// holds in a round cannot stay in memory (a producer that could not
// spill would fail its tasks with ErrStoreFull), and the spill files of
// the killed node are lost with it.
func TestReconstructionStressSpilling(t *testing.T) {
	t.Setenv("MANTA_STORE_BYTES", strconv.Itoa(4<<20))
	reconstructionStress(t)
}

func reconstructionStress(t *testing.T) {
	dir, address := startReconstructionHead(t)
	startReconstructionNode(t, dir, address, "CPU=2,y=2").waitJoined(t)
	a, aID := startProducer(t, dir, address)
	ctx := joinReconstructionDriver(t, dir, address, 90*time.Second)

	const objects, size = 1000, 128 << 10
	for round := range 3 {
		next, nextID := startProducer(t, dir, address) // a's replacement, which makes some values too
		values := make([]core.Ref[[]byte], objects)
		sums := make([]core.Ref[int], objects)
		for i := range values {
			values[i] = fillOnX.Remote(size, i%251)
			sums[i] = sumOnY.Remote(values[i])
		}
		if _, _, err := core.Wait(ctx, sums, objects/4, 0); err != nil {
			t.Fatal(err)
		}
		done, _, err := core.Wait(ctx, sums, objects, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		killAndAwaitDeath(t, dir, address, a, aID)
		t.Logf("round %d: %d of %d consumers were done when the producers' node was killed", round, len(done), objects)
		a, aID = next, nextID
		got, err := core.GetAll(ctx, sums)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, s := range got {
			if s != size*(i%251) {
				t.Fatalf("round %d: consumer %d got %d; want %d", round, i, s, size*(i%251))
			}
		}
		core.ReleaseAll(values)
		core.ReleaseAll(sums)
	}
}

// One stored value and four consumers of it, its maker's node killed
// twice in a row (Ray's test_multiple_downstream_tasks): each time the
// consumers submitted after the kill get the value made again on the
// node that replaced it.
func TestReconstructionFourConsumersTwoKills(t *testing.T) {
	dir, address := startReconstructionHead(t)
	startReconstructionNode(t, dir, address, "CPU=4,y=4").waitJoined(t)
	a, aID := startProducer(t, dir, address)
	ctx := joinReconstructionDriver(t, dir, address, 60*time.Second)

	const size = 1 << 20
	value := fillOnX.Remote(size, 3)
	consume := func(round int) {
		t.Helper()
		sums := make([]core.Ref[int], 4)
		for i := range sums {
			sums[i] = sumOnY.Remote(value)
		}
		got, err := core.GetAll(ctx, sums)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, s := range got {
			if s != 3*size {
				t.Fatalf("round %d: consumer %d got %d, want %d", round, i, s, 3*size)
			}
		}
		core.ReleaseAll(sums)
	}
	consume(0)
	for round := 1; round <= 2; round++ {
		next, nextID := startProducer(t, dir, address)
		killAndAwaitDeath(t, dir, address, a, aID)
		a, aID = next, nextID
		consume(round)
	}
}

// A value made on a node that is then killed, which a task on another
// node had pulled to run: that node keeps its copy (store.Cache) and the
// owner knows it, so the next task and the driver's Get read it there,
// although the task that made the value cannot run again (Ray's
// test_cached_object).
func TestReconstructionReadsACachedCopy(t *testing.T) {
	dir, address := startReconstructionHead(t)
	startReconstructionNode(t, dir, address, "CPU=2,y=2").waitJoined(t)
	a, aID := startProducer(t, dir, address)
	ctx := joinReconstructionDriver(t, dir, address, 60*time.Second)

	const size = 1 << 20
	value := blobOnXOnce.Remote(size) // no retries: only a copy can save it
	if s, err := sumOnY.Remote(value).Get(ctx); err != nil || s != 7*size {
		t.Fatalf("a consumer before the kill: %d, %v", s, err)
	}
	killAndAwaitDeath(t, dir, address, a, aID)
	if s, err := sumOnY.Remote(value).Get(ctx); err != nil || s != 7*size {
		t.Fatalf("a consumer after the maker's node died: %d, %v; want %d from the cached copy", s, err, 7*size)
	}
	if v, err := value.Get(ctx); err != nil || len(v) != size || v[0] != 7 {
		t.Fatalf("the driver's Get after the maker's node died: %d bytes, %v", len(v), err)
	}
}

// A lost value made again from an argument whose task cannot run again
// (no retries) but of which another node kept a copy (Ray's
// test_reconstruction_cached_dependency): the owner pulls the argument
// from that copy and runs the lost value's task again on the node that
// replaced its maker's.
func TestReconstructionFromACachedDependency(t *testing.T) {
	dir, address := startReconstructionHead(t)
	startReconstructionNode(t, dir, address, "CPU=2,y=2").waitJoined(t)
	a, aID := startProducer(t, dir, address)
	ctx := joinReconstructionDriver(t, dir, address, 60*time.Second)

	const size = 1 << 20
	up := blobOnXOnce.Remote(size) // on a, no retries
	if s, err := sumOnY.Remote(up).Get(ctx); err != nil || s != 7*size {
		t.Fatalf("a consumer on y: %d, %v", s, err) // y keeps a copy of up
	}
	down := incOnX.Remote(up) // on a, stored there
	if _, _, err := core.Wait(ctx, []core.Ref[[]byte]{down}, 1, 0); err != nil {
		t.Fatal(err)
	}
	startProducer(t, dir, address)
	killAndAwaitDeath(t, dir, address, a, aID)
	if v, err := down.Get(ctx); err != nil || len(v) != size || v[0] != 8 {
		t.Fatalf("the lost value made again: %d bytes, %v; want %d bytes of 8", len(v), err, size)
	}
	// Held to the end: a reference the driver let go has its copies
	// freed (as Ray's are), and then only running its task again, which
	// has no retries, could make it.
	runtime.KeepAlive(up)
}

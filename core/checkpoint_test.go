package core

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"syscall"
	"testing"
)

// ledger sums what it is given; its sum is its state. It can be made to
// save a checkpoint that does not load.
type ledger struct {
	sum     int64
	corrupt bool // the next checkpoint it saves does not load
}

func (l *ledger) SaveCheckpoint() ([]byte, error) {
	if l.corrupt {
		l.corrupt = false
		return []byte("garbled"), nil
	}
	return binary.AppendVarint(nil, l.sum), nil
}

func (l *ledger) LoadCheckpoint(state []byte) error {
	sum, n := binary.Varint(state)
	if n != len(state) || n <= 0 {
		return errors.New("not a ledger checkpoint")
	}
	l.sum = sum
	return nil
}

var (
	testLedger = RegisterActor0("test.Ledger", func() (*ledger, error) { return &ledger{}, nil }, WithMaxRestarts(3))
	testLAdd   = RegisterMethod1(testLedger, "Add", func(l *ledger, d int64) (int64, error) { l.sum += d; return l.sum, nil })
	testLSnap  = RegisterMethod1(testLedger, "Snapshot", func(l *ledger, ctx context.Context) (int64, error) {
		return l.sum, Checkpoint(ctx)
	})
	testLCorrupt = RegisterMethod0(testLedger, "Corrupt", func(l *ledger) (bool, error) { l.corrupt = true; return true, nil })
	testLCrash   = RegisterMethod0(testLedger, "Crash", func(l *ledger) (int64, error) {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		return 0, nil
	})
)

// addUpTo adds 1..n to the ledger and checks the running sums.
func addUpTo(t *testing.T, h Actor[ledger], n int64) {
	t.Helper()
	ctx := ctxT(t)
	refs := make([]Ref[int64], n)
	for i := range refs {
		refs[i] = testLAdd.Remote(h, int64(i+1))
	}
	for i, r := range refs {
		if v, err := r.Get(ctx); err != nil || v != int64((i+1)*(i+2)/2) {
			t.Fatalf("Add(%d) = %d, %v", i+1, v, err)
		}
	}
}

// crashAndRead kills the ledger's process and returns its sum as the
// restarted instance has it.
func crashAndRead(t *testing.T, h Actor[ledger]) int64 {
	t.Helper()
	ctx := ctxT(t)
	if _, err := testLCrash.Remote(h).Get(ctx); !errors.Is(err, ErrActorDied) {
		t.Fatalf("Crash = %v, want ErrActorDied", err)
	}
	v, err := testLAdd.Remote(h, int64(0)).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A restarted actor that replays rebuilds its state: without checkpoints
// by running every call it ran again, from its constructor; with one every
// 4 calls by loading the one after the 8th and running the 9th and 10th.
func TestActorReplayRebuildsState(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		opt                   ActorOption
		replayed, checkpoints int
	}{
		{"without checkpoints", WithReplay(), 10, 0},
		{"a checkpoint every 4 calls", WithCheckpointEvery(4), 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, Config{})
			h := testLedger.Options(tc.opt).Remote()
			addUpTo(t, h, 10)
			if sum := crashAndRead(t, h); sum != 55 {
				t.Fatalf("after the restart the sum is %d, want 55", sum)
			}
			if s := c.Stats(); s.CallsReplayed != tc.replayed || s.Checkpoints != tc.checkpoints {
				t.Fatalf("replayed %d calls and kept %d checkpoints; want %d and %d", s.CallsReplayed, s.Checkpoints, tc.replayed, tc.checkpoints)
			}
		})
	}
}

// A checkpoint that does not load is dropped: the actor restarts from the
// one before and replays the calls since, without spending a restart.
func TestActorBadCheckpointFallsBackToTheOneBefore(t *testing.T) {
	c := startCluster(t, Config{})
	ctx := ctxT(t)
	h := testLedger.Options(WithCheckpointEvery(4)).Remote()
	addUpTo(t, h, 4) // a good checkpoint after Add(4)
	if _, err := testLCorrupt.Remote(h).Get(ctx); err != nil {
		t.Fatal(err)
	}
	for i := int64(5); i <= 7; i++ { // the 8th call saves a garbled one
		testLAdd.Remote(h, i)
	}
	if sum := crashAndRead(t, h); sum != 28 {
		t.Fatalf("after the restart the sum is %d, want 28", sum)
	}
	s := c.Stats()
	if s.CheckpointsRejected != 1 || s.CallsReplayed != 4 {
		t.Fatalf("rejected %d checkpoints and replayed %d calls; want 1 and 4 (Corrupt and Add 5..7)", s.CheckpointsRejected, s.CallsReplayed)
	}
	// Restarts left: 3, less the crash; the fallback spent none.
	for range 2 {
		if sum := crashAndRead(t, h); sum != 28 {
			t.Fatalf("after another restart the sum is %d, want 28", sum)
		}
	}
}

// A method asks for a checkpoint with Checkpoint(ctx); outside an actor
// that implements Checkpointer it is an error.
func TestActorCheckpointOnRequest(t *testing.T) {
	c := startCluster(t, Config{})
	ctx := ctxT(t)
	h := testLedger.Options(WithReplay()).Remote()
	addUpTo(t, h, 5)
	if v, err := testLSnap.Remote(h, ctx).Get(ctx); err != nil || v != 15 {
		t.Fatalf("Snapshot = %d, %v", v, err)
	}
	testLAdd.Remote(h, int64(6))
	if sum := crashAndRead(t, h); sum != 21 {
		t.Fatalf("after the restart the sum is %d, want 21", sum)
	}
	if s := c.Stats(); s.CallsReplayed != 1 || s.Checkpoints != 1 {
		t.Fatalf("replayed %d calls and kept %d checkpoints; want 1 and 1", s.CallsReplayed, s.Checkpoints)
	}
	if err := Checkpoint(ctx); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Checkpoint in the driver = %v, want ErrInvalidArgument", err)
	}
}

package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testFib computes Fibonacci numbers as a tree of nested tasks, each
// blocking in Get on its children: on a one-CPU node this deadlocks unless a
// blocked task gives its CPU back.
var testFib *Func1[int, int]

func init() {
	testFib = Register1("test.fib", func(n int) (int, error) {
		if n < 2 {
			return n, nil
		}
		a, b := testFib.Remote(n-1), testFib.Remote(n-2)
		vals, err := GetAll(context.Background(), []Ref[int]{a, b})
		if err != nil {
			return 0, err
		}
		return vals[0] + vals[1], nil
	})
}

// testFibCtx is testFib written as a Ray user would port it: with the task
// context, so its children are its own (cancelled with it).
var testFibCtx *Func2[context.Context, int, int]

func init() {
	testFibCtx = Register2("test.fibctx", func(ctx context.Context, n int) (int, error) {
		if n < 2 {
			return n, nil
		}
		vals, err := GetAll(ctx, []Ref[int]{testFibCtx.Remote(ctx, n-1), testFibCtx.Remote(ctx, n-2)})
		if err != nil {
			return 0, err
		}
		return vals[0] + vals[1], nil
	})
}

func fibLocal(n int) int {
	if n < 2 {
		return n
	}
	return fibLocal(n-1) + fibLocal(n-2)
}

// A recursion whose every level waits in Get used to start a process per
// blocked task (fib(20) on one CPU: 807 processes). MaxWorkers caps task
// processes: blocked work gets extra slots in them instead.
func TestRecursionStaysWithinTheWorkerCap(t *testing.T) {
	for _, tc := range []struct {
		name string
		fib  func(n int) Ref[int]
	}{
		{"plain", func(n int) Ref[int] { return testFib.Remote(n) }},
		{"context", func(n int) Ref[int] { return testFibCtx.Remote(context.Background(), n) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, Config{Resources: map[string]float64{"CPU": 2}})
			const n = 20
			start := time.Now()
			got, err := tc.fib(n).Get(ctxT(t))
			if err != nil || got != fibLocal(n) {
				t.Fatalf("fib(%d) = %d, %v", n, got, err)
			}
			st := c.Stats()
			t.Logf("fib(%d): %d tasks in %v, %d worker processes started", n, 2*fibLocal(n+1)-1, time.Since(start), st.WorkersStarted)
			if st.WorkersStarted > 2 {
				t.Fatalf("%d worker processes started; MaxWorkers is 2", st.WorkersStarted)
			}
		})
	}
}

func TestMaxWorkersFromTheEnvironmentIsACap(t *testing.T) {
	t.Setenv("MANTA_MAX_WORKERS", "1")
	c := startCluster(t, Config{Resources: map[string]float64{"CPU": 2}})
	if got, err := testFib.Remote(15).Get(ctxT(t)); err != nil || got != 610 {
		t.Fatalf("fib(15) = %d, %v", got, err)
	}
	if st := c.Stats(); st.WorkersStarted != 1 {
		t.Fatalf("%d worker processes started under MANTA_MAX_WORKERS=1", st.WorkersStarted)
	}
}

func TestNestedTasksDoNotDeadlockOneCPU(t *testing.T) {
	startCluster(t, Config{Resources: map[string]float64{"CPU": 1}})
	got, err := testFib.Remote(7).Get(ctxT(t))
	if err != nil || got != 13 {
		t.Fatalf("fib(7) = %d, %v; want 13", got, err)
	}
}

type nested struct {
	Label string
	Inner Ref[int]
}

var testUnwrap = Register1("test.unwrap", func(n nested) (string, error) {
	v, err := n.Inner.Get(context.Background())
	return fmt.Sprintf("%s=%d", n.Label, v), err
})

var testMakeRef = Register1("test.makeref", func(x int) (nested, error) {
	return nested{Label: "made", Inner: testAdd.Remote(x, x)}, nil
})

func TestRefsNestedInValuesStayRefs(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	inner := testAdd.Remote(20, 22)
	got, err := testUnwrap.Remote(nested{Label: "x", Inner: inner}).Get(ctx)
	if err != nil || got != "x=42" {
		t.Fatalf("got %q, %v", got, err)
	}
	// A worker returns a value holding a ref to a task it submitted.
	n, err := testMakeRef.Remote(5).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := n.Inner.Get(ctx); err != nil || v != 10 {
		t.Fatalf("inner = %d, %v", v, err)
	}
}

func TestPutWaitAndGetAll(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	p, err := Put(40)
	if err != nil {
		t.Fatal(err)
	}
	refs := []Ref[int]{testAdd.Remote(p, 1), testAdd.Remote(p, 2), testAdd.Remote(p, 3)}
	vals, err := GetAll(ctx, refs)
	if err != nil || fmt.Sprint(vals) != "[41 42 43]" {
		t.Fatalf("GetAll = %v, %v", vals, err)
	}
	mixed := []AnyRef{refs[0], refs[1], refs[2], testSleep.Remote(int64(time.Hour))}
	ready, err := WaitAny(ctx, mixed, 3, 0)
	if err != nil || fmt.Sprint(ready) != "[0 1 2]" {
		t.Fatalf("WaitAny = %v, %v", ready, err)
	}
	ready, err = WaitAny(ctx, mixed, 4, 50*time.Millisecond)
	if err != nil || len(ready) != 3 {
		t.Fatalf("WaitAny with timeout = %v, %v; want the 3 ready", ready, err)
	}
	sleeper := testSleep.Remote(int64(time.Hour))
	typed := []Ref[int]{refs[0], sleeper, refs[2]}
	done, notDone, err := Wait(ctx, typed, 2, 0)
	if err != nil || len(done) != 2 || done[0] != refs[0] || done[1] != refs[2] || len(notDone) != 1 || notDone[0] != sleeper {
		t.Fatalf("Wait = %v, %v, %v", done, notDone, err)
	}
	// As Ray's: ready holds the first k found ready; the other ready refs
	// are left for the next Wait.
	first, rest, err := Wait(ctx, refs, 1, 0)
	if err != nil || len(first) != 1 || first[0] != refs[0] || len(rest) != 2 || rest[0] != refs[1] || rest[1] != refs[2] {
		t.Fatalf("Wait for 1 of 3 done = %v, %v, %v; want the first and the other two", first, rest, err)
	}
	if ready, err := WaitAny(ctx, mixed, 0, 0); err != nil || len(ready) != 0 {
		t.Fatalf("WaitAny for none = %v, %v", ready, err)
	}
	if _, _, err := Wait(ctx, typed, 4, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Wait for more refs than given: %v", err)
	}
	if err := Cancel(sleeper); err != nil {
		t.Fatal(err)
	}
}

var testSleep = Register1("test.sleep", func(ns int64) (int, error) {
	time.Sleep(time.Duration(ns))
	return 0, nil
})

var testDieOnce = Register1("test.dieonce", func(marker string) (int, error) {
	if _, err := os.Stat(marker); err != nil {
		os.WriteFile(marker, nil, 0o600)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	return 7, nil
})

var testDieAlways = Register0("test.diealways", func() (int, error) {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	return 0, nil
}, WithMaxRetries(1))

func TestKilledWorkerIsRetriedThenFails(t *testing.T) {
	c := startCluster(t, Config{})
	ctx := ctxT(t)
	marker := filepath.Join(t.TempDir(), "died")
	if v, err := testDieOnce.Remote(marker).Get(ctx); err != nil || v != 7 {
		t.Fatalf("retried task = %d, %v", v, err)
	}
	_, err := testDieAlways.Remote().Get(ctx)
	if !errors.Is(err, ErrWorkerDied) || !strings.Contains(err.Error(), "2 attempts") {
		t.Fatalf("err = %v; want ErrWorkerDied after 2 attempts", err)
	}
	if v, err := testAdd.Remote(1, 1).Get(ctx); v != 2 || err != nil {
		t.Fatalf("after worker deaths: %d, %v", v, err)
	}
	if s := c.Stats(); s.Tasks != 0 {
		t.Fatalf("tasks left behind: %+v", s)
	}
}

func TestGetTimesOutWithContext(t *testing.T) {
	startCluster(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := testSleep.Remote(int64(time.Hour)).Get(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

// refsAndPad is a result that carries references beside enough bytes to
// go through the store: storing it takes a while after the task returned.
type refsAndPad struct {
	Pad  []byte
	Refs []Ref[int]
}

var testReturnRefs = Register1("test.returnrefs", func(n int) (refsAndPad, error) {
	refs := make([]Ref[int], n)
	for i := range refs {
		refs[i] = testAdd.Remote(i, 0)
	}
	if _, err := GetAll(context.Background(), refs); err != nil {
		return refsAndPad{}, err
	}
	// Collect garbage while the result is encoded and stored, as a busy
	// worker would: the task's own handles are unreachable from here on.
	go func() {
		for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
			runtime.GC()
		}
	}()
	return refsAndPad{Pad: make([]byte, 16<<20), Refs: refs}, nil
})

// References a task returns stay usable: the worker's own handles, which
// nothing reaches once the task has returned, are not released before the
// node holds the objects for the result.
func TestReturnedRefsOutliveTheWorkersHandles(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	for round := range 30 {
		out, err := testReturnRefs.Remote(8).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range out.Refs {
			if v, err := r.Get(ctx); err != nil || v != i {
				t.Fatalf("round %d: returned ref %d: %d, %v", round, i, v, err)
			}
		}
	}
}

// testDieFourTimes is killed on its first four attempts, one more than
// the default retries, and asks for retries without limit (Ray's -1).
var testDieFourTimes = Register1("test.diefour", func(dir string) (int, error) {
	entries, _ := os.ReadDir(dir)
	if len(entries) < 4 {
		os.WriteFile(filepath.Join(dir, fmt.Sprint(len(entries))), nil, 0o600)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	return len(entries), nil
}, WithMaxRetries(-1))

// A task with retries without limit (-1, as in Ray) survives more worker
// deaths than the default budget.
func TestRetriesWithoutLimit(t *testing.T) {
	startCluster(t, Config{})
	if v, err := testDieFourTimes.Remote(t.TempDir()).Get(ctxT(t)); err != nil || v != 4 {
		t.Fatalf("a task killed four times with retries without limit: %d, %v; want 4", v, err)
	}
}

package core

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A fifo lets a test wait for a task to reach a point, without polling:
// the task writes a line, the test's read returns.
func fifo(t *testing.T) (path string, lines chan string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	lines = make(chan string, 16)
	go func() {
		f, err := os.OpenFile(path, os.O_RDWR, 0) // RDWR: never sees EOF while writers come and go
		if err != nil {
			close(lines)
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return path, lines
}

// say writes a line to the fifo at path; nothing for the empty path.
func say(path, line string) {
	if path == "" {
		return
	}
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.WriteString(line + "\n")
		f.Close()
	}
}

func expect(t *testing.T, lines chan string, want string) {
	t.Helper()
	select {
	case got := <-lines:
		if got != want {
			t.Fatalf("task said %q, want %q", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("task never said %q", want)
	}
}

// testWaitCancel says "started", waits for its context to end, and says
// why.
var testWaitCancel = Register2("test.waitcancel", func(ctx context.Context, path string) (int, error) {
	say(path, "started")
	select {
	case <-ctx.Done():
		say(path, "cancelled")
		return 0, ctx.Err()
	case <-time.After(time.Minute):
		return 1, nil
	}
})

var testTaskInfo = Register1("test.taskinfo", func(ctx context.Context) (string, error) {
	info, ok := TaskFromContext(ctx)
	_, hasDeadline := ctx.Deadline()
	return fmt.Sprintf("%v %v %d %s %v", ok, info.ID, info.Attempt, info.Name, hasDeadline), nil
})

func TestTaskContextCarriesIdentityAndDeadline(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t) // has a deadline, which the task's context inherits
	r := testTaskInfo.Remote(ctx)
	got, err := r.Get(ctx)
	if want := fmt.Sprintf("true %v 1 test.taskinfo true", r.ID().Task); err != nil || got != want {
		t.Fatalf("task saw %q, %v; want %q", got, err, want)
	}
	if got, _ := testTaskInfo.Remote(context.Background()).Get(ctx); got[len(got)-5:] != "false" {
		t.Fatalf("a call made with a context without deadline saw one: %q", got)
	}
	if _, ok := TaskFromContext(ctx); ok {
		t.Fatal("the driver's context names a task")
	}
}

func TestCancelRunningTaskCancelsItsContext(t *testing.T) {
	startCluster(t, Config{})
	path, lines := fifo(t)
	r := testWaitCancel.Remote(context.Background(), path)
	expect(t, lines, "started")
	if err := Cancel(r); err != nil {
		t.Fatal(err)
	}
	expect(t, lines, "cancelled")
	if _, err := r.Get(ctxT(t)); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Get of a cancelled task: %v", err)
	}
	// Cancelling a finished call does nothing.
	done := testAdd.Remote(1, 2)
	if v, err := done.Get(ctxT(t)); err != nil || v != 3 {
		t.Fatal(v, err)
	}
	if err := Cancel(done); err != nil {
		t.Fatal(err)
	}
	if v, err := done.Get(ctxT(t)); err != nil || v != 3 {
		t.Fatalf("a finished call changed when cancelled: %d, %v", v, err)
	}
	p, _ := Put(1)
	if err := Cancel(p); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Cancel of a Put: %v", err)
	}
}

func TestCancelQueuedTaskNeverRuns(t *testing.T) {
	c := startCluster(t, Config{Resources: map[string]float64{"CPU": 1}})
	path, lines := fifo(t)
	running := testWaitCancel.Remote(context.Background(), path)
	expect(t, lines, "started")
	queued := testWaitCancel.Remote(context.Background(), path) // no CPU for it
	if err := Cancel(queued); err != nil {
		t.Fatal(err)
	}
	if _, err := queued.Get(ctxT(t)); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Get of a cancelled queued task: %v", err)
	}
	waiting := testAdd.Remote(running, 1) // waits for its argument
	Cancel(waiting)
	if _, err := waiting.Get(ctxT(t)); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Get of a cancelled task waiting for its argument: %v", err)
	}
	Cancel(running)
	expect(t, lines, "cancelled")
	// The one worker reports in order: once a later task is done, so are
	// both cancelled ones.
	if _, err := testAdd.Remote(1, 1).Get(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case line := <-lines:
		t.Fatalf("the cancelled queued task ran: %q", line)
	default:
	}
	if s := c.Stats(); s.Tasks != 0 || s.Sched.Queued != 0 || s.Sched.Running != 0 {
		t.Fatalf("left behind: %+v", s)
	}
}

func TestCallerContextCancelsAndTimesOutCalls(t *testing.T) {
	startCluster(t, Config{})
	path, lines := fifo(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := testWaitCancel.Remote(ctx, path)
	expect(t, lines, "started")
	cancel()
	expect(t, lines, "cancelled")
	if _, err := r.Get(ctxT(t)); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Get after the caller's context was cancelled: %v", err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	r = testWaitCancel.Remote(short, path)
	expect(t, lines, "started")
	expect(t, lines, "cancelled")
	if _, err := r.Get(ctxT(t)); !errors.Is(err, ErrCancelled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get after the caller's deadline: %v", err)
	}
	if _, err := testWaitCancel.Remote(short, path).Get(ctxT(t)); !errors.Is(err, ErrCancelled) {
		t.Fatalf("a call made with an expired context: %v", err)
	}
}

// testParent submits a child with its context and waits for it.
var testParent = Register2("test.parent", func(ctx context.Context, path string) (int, error) {
	return testWaitCancel.Remote(ctx, path).Get(ctx)
})

// testCancelChild submits a child, cancels it itself, and reports what
// Get then says.
var testCancelChild = Register2("test.cancelchild", func(ctx context.Context, path string) (string, error) {
	child := testWaitCancel.Remote(context.Background(), "")
	say(path, "submitted")
	if err := Cancel(child); err != nil {
		return "", err
	}
	_, err := child.Get(ctx)
	return fmt.Sprint(errors.Is(err, ErrCancelled)), nil
})

func TestCancelReachesChildren(t *testing.T) {
	startCluster(t, Config{})
	path, lines := fifo(t)
	parent := testParent.Remote(context.Background(), path)
	expect(t, lines, "started") // the child runs
	if err := Cancel(parent); err != nil {
		t.Fatal(err)
	}
	expect(t, lines, "cancelled") // the child saw its context end
	if _, err := parent.Get(ctxT(t)); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Get of the cancelled parent: %v", err)
	}
	// A task cancels what it submitted.
	r := testCancelChild.Remote(context.Background(), path)
	expect(t, lines, "submitted")
	if got, err := r.Get(ctxT(t)); err != nil || got != "true" {
		t.Fatalf("Get of a child its task cancelled: %s, %v", got, err)
	}
}

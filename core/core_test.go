package core

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv(envRogueWorker) != "" && IsWorker() {
		rogueWorker()
	}
	WorkerMain()
	os.Exit(m.Run())
}

var (
	testAdd   = Register2("test.add", func(a, b int) (int, error) { return a + b, nil })
	testFail  = Register1("test.fail", func(msg string) (int, error) { return 0, errors.New(msg) })
	testPanic = Register0("test.panic", func() (int, error) { panic("kaboom") })
	testGPU   = Register0("test.gpu", func() (int, error) { return 1, nil }, WithResources(map[string]float64{"GPU": 1}))
)

func startCluster(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	if cfg.Resources == nil {
		cfg.Resources = map[string]float64{"CPU": 2}
	}
	c, err := Init(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Shutdown(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestTasksChainThroughRefs(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	a := testAdd.Remote(1, 2)
	b := testAdd.Remote(a, 10)
	c := testAdd.Remote(b, a)
	got, err := c.Get(ctx)
	if err != nil || got != 16 {
		t.Fatalf("got %d, %v; want 16", got, err)
	}
}

func TestTaskErrorsSurfaceAtGet(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	_, err := testFail.Remote("no good").Get(ctx)
	var te *TaskError
	if !errors.As(err, &te) || !errors.Is(err, ErrTaskFailed) || !strings.Contains(err.Error(), "no good") {
		t.Fatalf("err = %v", err)
	}
	_, err = testPanic.Remote().Get(ctx)
	if !errors.As(err, &te) || te.Panic != "kaboom" || !strings.Contains(te.Stack, "core_test.go") {
		t.Fatalf("panic err = %#v", err)
	}
	_, err = testAdd.Remote("x", 1).Get(ctx)
	if !errors.Is(err, ErrBadArguments) {
		t.Fatalf("bad args err = %v", err)
	}
	_, err = testGPU.Remote().Get(ctx)
	if !errors.Is(err, ErrInfeasible) {
		t.Fatalf("infeasible err = %v", err)
	}
	_, err = Call[int]("test.nope").Get(ctx)
	if !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("unknown err = %v", err)
	}
	// and the cluster still works
	if v, err := testAdd.Remote(2, 2).Get(ctx); v != 4 || err != nil {
		t.Fatalf("after errors: %d, %v", v, err)
	}
}

var testPid = Register0("test.pid", func() (int, error) { return os.Getpid(), nil })

func TestTasksRunInWorkerProcesses(t *testing.T) {
	startCluster(t, Config{})
	pid, err := testPid.Remote().Get(ctxT(t))
	if err != nil || pid == os.Getpid() || pid == 0 {
		t.Fatalf("task ran in pid %d (driver %d), err %v", pid, os.Getpid(), err)
	}
}

// runtimeGC runs the collector so that dropped references release their
// holds (their cleanups run on a separate goroutine, so twice).
func runtimeGC() {
	runtime.GC()
	runtime.GC()
}

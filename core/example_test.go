package core_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"manta/core"
)

var square = core.Register1("example.square", func(x int) (int, error) { return x * x, nil })

var addInts = core.Register2("example.add", func(a, b int) (int, error) { return a + b, nil })

// start starts an embedded cluster of two CPUs for an example.
func start() *core.Cluster {
	cluster, err := core.Init(core.Config{Resources: map[string]float64{"CPU": 2}})
	if err != nil {
		panic(err)
	}
	return cluster
}

func Example() {
	cluster := start()
	defer cluster.Shutdown()

	refs := make([]core.Ref[int], 4)
	for i := range refs {
		refs[i] = square.Remote(i) // returns at once
	}
	sum := addInts.Remote(refs[2], refs[3]) // refs as arguments are dependencies
	vals, _ := core.GetAll(context.Background(), refs)
	total, _ := sum.Get(context.Background())
	fmt.Println(vals, total)
	// Output: [0 1 4 9] 13
}

// fib calls itself, so it cannot be registered in its own initializer (Go
// reports an initialization cycle): it is declared here and registered in
// init. Its context makes the calls it submits its children.
var fib *core.Func2[context.Context, int, int]

func init() {
	fib = core.Register2("example.fib", func(ctx context.Context, n int) (int, error) {
		if n < 2 {
			return n, nil
		}
		vals, err := core.GetAll(ctx, []core.Ref[int]{fib.Remote(ctx, n-1), fib.Remote(ctx, n-2)})
		if err != nil {
			return 0, err
		}
		return vals[0] + vals[1], nil
	})
}

// A recursive task: every level waits for the next in Get, which gives its
// CPU back, so the recursion runs on two CPUs within two worker processes.
func Example_recursion() {
	cluster := start()
	defer cluster.Shutdown()
	v, err := fib.Remote(context.Background(), 12).Get(context.Background())
	fmt.Println(v, err, cluster.Stats().WorkersStarted <= 2)
	// Output: 144 <nil> true
}

type account struct{ balance int }

var (
	accountType = core.RegisterActor1("example.Account", func(open int) (*account, error) {
		return &account{balance: open}, nil
	})
	deposit = core.RegisterMethod1(accountType, "Deposit", func(a *account, amount int) (int, error) {
		a.balance += amount
		return a.balance, nil
	})
)

// An actor keeps state between calls, which run in the order they were
// made. A named actor can be found from any task.
func ExampleRegisterActor1() {
	cluster := start()
	defer cluster.Shutdown()
	ctx := context.Background()

	acct := accountType.Options(core.WithName("savings")).Remote(100)
	deposit.Remote(acct, 10)
	deposit.Remote(acct, 20)
	same, err := core.GetActor[account](ctx, "savings")
	if err != nil {
		panic(err)
	}
	balance, _ := deposit.Remote(same, 5).Get(ctx)
	fmt.Println(balance)
	// Output: 135
}

var sleepy = core.Register1("example.sleepy", func(ms int) (int, error) {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return ms, nil
})

// Wait takes results as they come: here the quickest first.
func ExampleWait() {
	cluster := start()
	defer cluster.Shutdown()
	ctx := context.Background()

	pending := []core.Ref[int]{sleepy.Remote(300), sleepy.Remote(1)}
	ready, pending, err := core.Wait(ctx, pending, 1, 0)
	if err != nil {
		panic(err)
	}
	first, _ := ready[0].Get(ctx)
	fmt.Println(first, len(pending))
	// Output: 1 1
}

var mean = core.Register1("example.mean", func(v *core.View[float64]) (float64, error) {
	s := 0.0
	for _, x := range v.Data() { // the store's pages, not a copy
		s += x
	}
	return s / float64(v.Len()), nil
})

// Put stores a value once for many calls; a *View parameter reads it in
// place, and GetView does so in the driver. Release frees the object at
// once instead of when the garbage collector finds the Ref unreachable.
func ExamplePut() {
	cluster := start()
	defer cluster.Shutdown()
	ctx := context.Background()

	xs := make([]float64, 1<<20) // 8 MiB: stored in shared memory
	for i := range xs {
		xs[i] = float64(i % 3)
	}
	ref, err := core.Put(xs)
	if err != nil {
		panic(err)
	}
	mr := mean.Remote(ref)
	m, _ := mr.Get(ctx)
	mr.Release()

	view, err := core.GetView(ctx, ref)
	if err != nil {
		panic(err)
	}
	fmt.Println(m, view.Len(), view.Data()[5])
	view.Release() // view.Data() must not be used from here on
	ref.Release()
	fmt.Println(cluster.Stats().Objects)
	// Output:
	// 0.9999990463256836 1048576 2
	// 0
}

var onGPU = core.Register0("example.ongpu", func() (string, error) { return "ran", nil },
	core.WithResources(map[string]float64{"GPU": 1}))

// Options changes a call's resources (or retries) without registering the
// function again; a request no node can meet fails at once.
func ExampleFunc0_Options() {
	cluster := start() // no GPU
	defer cluster.Shutdown()
	ctx := context.Background()

	_, err := onGPU.Remote().Get(ctx)
	fmt.Println(errors.Is(err, core.ErrInfeasible))
	v, err := onGPU.Options(core.WithResources(map[string]float64{"CPU": 1})).Remote().Get(ctx)
	fmt.Println(v, err)
	// Output:
	// true
	// ran <nil>
}

var waitForCancel = core.Register1("example.waitforcancel", func(ctx context.Context) (int, error) {
	<-ctx.Done() // a long task watches its context
	return 0, ctx.Err()
})

// Cancel drops a call or cancels its context; so does the end of the
// caller's context, here its deadline.
func ExampleCancel() {
	cluster := start()
	defer cluster.Shutdown()
	ctx := context.Background()

	ref := waitForCancel.Remote(ctx)
	core.Cancel(ref)
	_, err := ref.Get(ctx)
	fmt.Println(errors.Is(err, core.ErrCancelled))

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = waitForCancel.Remote(short).Get(ctx)
	fmt.Println(errors.Is(err, core.ErrCancelled), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// true
	// true true
}

var divide = core.Register2("example.divide", func(a, b int) (int, error) {
	if b == 0 {
		return 0, errors.New("division by zero")
	}
	return a / b, nil
})

var index = core.Register1("example.index", func(i int) (int, error) { return []int{1, 2, 3}[i], nil })

// A failed task's error, or its panic with the worker's stack, comes back
// at Get as a *TaskError wrapping a sentinel.
func ExampleTaskError() {
	cluster := start()
	defer cluster.Shutdown()
	ctx := context.Background()

	_, err := divide.Remote(1, 0).Get(ctx)
	var te *core.TaskError
	fmt.Println(errors.As(err, &te), errors.Is(err, core.ErrTaskFailed), te.Message)
	_, err = index.Remote(7).Get(ctx)
	fmt.Println(errors.As(err, &te), te.Panic)
	_, err = addInts.Remote("one", 2).Get(ctx)
	fmt.Println(errors.Is(err, core.ErrBadArguments))
	// Output:
	// true true division by zero
	// true runtime error: index out of range [7] with length 3
	// true
}

var minMax = core.Register1("example.minmax", func(xs []int) (core.Pair[int, int], error) {
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return core.Pair[int, int]{First: lo, Second: hi}, nil
})

// A function returning a Pair makes two objects; Split references each.
func ExampleSplit() {
	cluster := start()
	defer cluster.Shutdown()
	ctx := context.Background()

	lo, hi := core.Split(minMax.Remote([]int{4, 1, 9}))
	sum, _ := addInts.Remote(lo, hi).Get(ctx)
	fmt.Println(sum)
	// Output: 10
}

// An ActorPool spreads calls over a set of actors, one call each at a time.
func ExampleMap() {
	cluster := start()
	defer cluster.Shutdown()
	ctx := context.Background()

	pool := core.NewActorPool([]core.Actor[account]{accountType.Remote(0), accountType.Remote(1000)})
	for balance, err := range core.Map(ctx, pool, []int{1, 2, 3}, func(a core.Actor[account], v int) core.Ref[int] {
		return deposit.Remote(a, v)
	}) {
		fmt.Println(balance%1000, err)
	}
	// Output:
	// 1 <nil>
	// 2 <nil>
	// 4 <nil>
}

package sched_test

import (
	"errors"
	"fmt"

	"manta/sched"
)

// The node has 1 CPU; two tasks of one CPU each share one leased worker,
// the second pipelined behind the first.
func Example() {
	total, _ := sched.NewResources(map[string]float64{"CPU": 1})
	l := sched.New(sched.Config{Total: total})

	oneCPU, _ := sched.NewResources(map[string]float64{"CPU": 1})
	class, err := l.Class(oneCPU)
	if err != nil {
		panic(err)
	}
	l.Submit(class, 1)
	l.Submit(class, 2)
	carryOut(l) // no worker yet: start one

	l.WorkerStarted(7) // core names the worker it started
	carryOut(l)

	l.TaskDone(7, 1)
	l.TaskDone(7, 2)
	s := l.Stats()
	fmt.Println("idle workers:", s.Idle, "available:", s.Available)

	gpu, _ := sched.NewResources(map[string]float64{"GPU": 1})
	if _, err := l.Class(gpu); errors.Is(err, sched.ErrInfeasible) {
		fmt.Println(err)
	}
	// Output:
	// start-worker class=1
	// dispatch t=1 w=7 class=1
	// dispatch t=2 w=7 class=1
	// idle workers: 1 available: CPU=1
	// sched: infeasible: needs GPU=1 but node has GPU=0
}

// carryOut stands for core: it would send tasks to workers and start
// processes; here it prints what to do.
func carryOut(l *sched.Local) {
	for _, a := range l.Actions() {
		fmt.Println(a)
	}
	l.ClearActions()
}

package sched

import (
	"fmt"
	"testing"
)

// benchNode is core's side of the task path, reduced to what the
// scheduler needs: carry out the actions, and finish every dispatched task.
type benchNode struct {
	l     *Local
	class ClassID
	// running lists, in dispatch order, the worker of each dispatched task
	// not finished yet; finishing them in that order finishes each worker's
	// tasks in its FIFO order.
	running []Action
	next    TaskRef
}

func newBenchNode(tb testing.TB, cpus float64) *benchNode {
	total, err := NewResources(map[string]float64{"CPU": cpus})
	if err != nil {
		tb.Fatal(err)
	}
	l := New(Config{Total: total})
	req, err := NewResources(map[string]float64{"CPU": 1})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := l.Class(req)
	if err != nil {
		tb.Fatal(err)
	}
	n := &benchNode{l: l, class: c, running: make([]Action, 0, 1024)}
	for w := range WorkerID(cpus) {
		l.WorkerStarted(w + 1)
	}
	n.batch(1024) // warm up: grow every buffer to its steady-state size
	return n
}

// batch submits n tasks and runs them all to completion.
func (n *benchNode) batch(tasks int) {
	for range tasks {
		n.next++
		n.l.Submit(n.class, n.next)
	}
	n.collect()
	for i := 0; i < len(n.running); i++ {
		n.l.TaskDone(n.running[i].Worker, n.running[i].Task)
		n.collect()
	}
	n.running = n.running[:0]
}

func (n *benchNode) collect() {
	for _, a := range n.l.Actions() {
		if a.Kind == Dispatch {
			n.running = append(n.running, a)
		}
	}
	n.l.ClearActions()
}

// BenchmarkSubmitDispatchDone measures the scheduler's share of one task:
// Submit, the Dispatch it leads to, and TaskDone, on a 4-CPU node with
// every worker up. ns/op is per task. With batch=1 each task leases a
// worker and ends the lease; larger batches keep leases and pipelines busy.
func BenchmarkSubmitDispatchDone(b *testing.B) {
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			n := newBenchNode(b, 4)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				n.batch(batch)
			}
		})
	}
}

// TestSubmitDispatchDoneAllocs guards the benchmark's loop against
// allocating: the scheduler is on core's path for every task.
func TestSubmitDispatchDoneAllocs(t *testing.T) {
	for _, batch := range []int{1, 16, 256} {
		n := newBenchNode(t, 4)
		if allocs := testing.AllocsPerRun(100, func() { n.batch(batch) }); allocs != 0 {
			t.Errorf("batch=%d: %v allocations per batch, want 0", batch, allocs)
		}
	}
}

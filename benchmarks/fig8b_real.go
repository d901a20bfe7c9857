package benchmarks

import (
	"context"
	"fmt"
	"time"

	"manta/core"
)

// Figure 8b's real half: empty tasks per second on a local cluster of 1
// to 3 node processes on this machine, each with a client of its own, as
// the simulation's nodes each have a driver.

// fig8bRealCPUs is each node process's CPUs: one, so two nodes use the
// machine's two cores.
const fig8bRealCPUs = 1

// fig8bRealSpill is the nodes' SpillQueue: the simulation's threshold
// (sim.DefaultSpillThreshold), so that, as there, a node keeps its own
// client's tasks.
const fig8bRealSpill = 1000

// fig8bRealBatch is how many tasks a client submits before it waits for
// them: under fig8bRealSpill, so they stay on its node.
const fig8bRealBatch = 500

var (
	fig8bNoop = core.Register0("benchmarks.fig8bNoop", func() (int, error) { return 0, nil })
	// fig8bClient is a node's client: it runs pinned to its node (with no
	// CPU of its own) and submits batches of empty tasks there, waiting
	// for each batch; it returns the tasks run.
	fig8bClient = core.Register1("benchmarks.fig8bClient", func(batches int) (int, error) {
		refs := make([]core.Ref[int], fig8bRealBatch)
		for range batches {
			for i := range refs {
				refs[i] = fig8bNoop.Remote()
			}
			if _, err := core.GetAll(context.Background(), refs); err != nil {
				return 0, err
			}
		}
		return batches * fig8bRealBatch, nil
	})
)

// fig8bRealPoint is one cluster size: the rate of each repetition.
type fig8bRealPoint struct {
	Nodes     int       `json:"nodes"`
	TasksPerS []float64 `json:"tasks_per_s"`
}

// fig8bReal measures each cluster size in nodes: a fresh local cluster
// of that many node processes, a warm-up batch on every node, then reps
// runs of every node's client running batches × fig8bRealBatch tasks.
func fig8bReal(ctx context.Context, manta string, nodes []int, batches, reps int, progress func(string)) ([]fig8bRealPoint, error) {
	var pts []fig8bRealPoint
	for _, n := range nodes {
		progress(fmt.Sprintf("real: %d node processes", n))
		pt, err := fig8bRealSize(ctx, manta, n, batches, reps)
		if err != nil {
			return nil, fmt.Errorf("fig8b, %d node processes: %w", n, err)
		}
		pts = append(pts, pt)
	}
	return pts, nil
}

func fig8bRealSize(ctx context.Context, manta string, n, batches, reps int) (fig8bRealPoint, error) {
	pt := fig8bRealPoint{Nodes: n}
	res := make([]map[string]float64, n)
	for i := range res {
		res[i] = map[string]float64{"CPU": fig8bRealCPUs}
	}
	c, err := startLocalCluster(ctx, localClusterConfig{Manta: manta, Nodes: res, StoreBytes: 64 << 20,
		Env: []string{fmt.Sprintf("MANTA_SPILL_QUEUE=%d", fig8bRealSpill)}})
	if err != nil {
		return pt, err
	}
	defer c.Stop()
	driver, err := c.Driver(core.Config{Resources: map[string]float64{"CPU": 0}, StoreBytes: 64 << 20})
	if err != nil {
		return pt, err
	}
	defer driver.Shutdown()
	run := func(batches int) (int, time.Duration, error) {
		began := time.Now()
		refs := make([]core.Ref[int], n)
		for i := range refs {
			refs[i] = fig8bClient.Options(core.WithResources(onNode(i, 0))).Remote(batches)
		}
		done, err := core.GetAll(ctx, refs)
		tasks := 0
		for _, d := range done {
			tasks += d
		}
		return tasks, time.Since(began), err
	}
	if _, _, err := run(1); err != nil { // starts every node's workers
		return pt, err
	}
	for range reps {
		tasks, took, err := run(batches)
		if err != nil {
			return pt, err
		}
		pt.TasksPerS = append(pt.TasksPerS, float64(tasks)/took.Seconds())
	}
	if err := driver.Shutdown(); err != nil {
		return pt, err
	}
	return pt, c.Stop()
}

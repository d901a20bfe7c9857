package global_test

import (
	"fmt"

	"manta/sched"
	"manta/sched/global"
)

func Example() {
	s, _ := global.New(global.Config{})
	cpus, _ := sched.NewResources(map[string]float64{"CPU": 4})
	s.AddNode(1, cpus)
	s.AddNode(2, cpus)
	one, _ := sched.NewResources(map[string]float64{"CPU": 1})

	// A 100 MB input on node 2 draws the task there: pulling it would cost
	// node 1 far more than either queue.
	p, _ := s.Place(one, []global.Input{{Bytes: 100e6, On: []global.NodeID{2}}})
	fmt.Println("placed on node", p.Node, "pulling", p.Remote, "bytes")

	gpu, _ := sched.NewResources(map[string]float64{"GPU": 1})
	_, err := s.Place(gpu, nil)
	fmt.Println(err)
	// Output:
	// placed on node 2 pulling 0 bytes
	// sched: infeasible: no node of 2 can run GPU=1 (node 1 lacks GPU=1 (has 0))
}

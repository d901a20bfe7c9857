package sim_test

import (
	"fmt"
	"time"

	"manta/sim"
)

// Four nodes of 8 CPUs, each with a driver keeping 128 empty tasks in
// flight: throughput over 20 ms of virtual time, once every worker
// process has started.
func Example() {
	s, err := sim.New(sim.Config{Nodes: sim.Uniform(4, sim.NodeConfig{CPUs: 8, InFlight: 128})})
	if err != nil {
		panic(err)
	}
	s.Run(25 * time.Millisecond)
	before := s.Stats()
	s.Run(45 * time.Millisecond)
	fmt.Printf("%.2fM tasks/s (simulated), %d spilled\n", s.Stats().Rate(before)/1e6, s.Stats().Spilled)

	if err := s.Drain(time.Second); err != nil {
		panic(err)
	}
	st := s.Stats()
	fmt.Println("all finished:", st.Completed == st.Submitted, "failed:", st.Failed)
	// Output:
	// 3.64M tasks/s (simulated), 0 spilled
	// all finished: true failed: 0
}

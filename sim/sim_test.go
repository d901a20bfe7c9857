package sim

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

// cheap is a cluster whose node managers are slow (30 µs a task, about
// 33,000 tasks/s a node), so that tests simulate few tasks, under -race
// too.
func cheap(nodes []NodeConfig, seed int64) Config {
	return Config{Nodes: nodes, NodeTaskCost: 30 * time.Microsecond, WorkerCost: 20 * time.Microsecond,
		WorkerStart: time.Millisecond, Rand: rand.New(rand.NewSource(seed))}
}

func newSim(t *testing.T, cfg Config) *Sim {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rate runs s to warm, then measures throughput over the next window.
func rate(s *Sim, warm, window time.Duration) float64 {
	s.Run(warm)
	before := s.Stats()
	s.Run(warm + window)
	return s.Stats().Rate(before)
}

func TestSameSeedSameRun(t *testing.T) {
	run := func() (Stats, []NodeStats) {
		// Spilling and heartbeats are in play: a queue threshold the
		// busiest node passes, and longer than a heartbeat.
		nodes := []NodeConfig{{CPUs: 1, InFlight: 60}, {CPUs: 2, InFlight: 10}, {CPUs: 4}}
		cfg := cheap(nodes, 7)
		cfg.SpillThreshold = 20
		cfg.Heartbeat = 10 * time.Millisecond
		s := newSim(t, cfg)
		s.Run(60 * time.Millisecond)
		var per []NodeStats
		for i := range nodes {
			per = append(per, s.Node(i))
		}
		return s.Stats(), per
	}
	st1, n1 := run()
	st2, n2 := run()
	if st1 != st2 {
		t.Fatalf("same seed, different runs:\n%+v\n%+v", st1, st2)
	}
	for i := range n1 {
		a, b := n1[i], n2[i]
		if a.Submitted != b.Submitted || a.Spilled != b.Spilled || a.Ran != b.Ran || a.Node.Tasks != b.Node.Tasks {
			t.Fatalf("node %d differs:\n%+v\n%+v", i, a, b)
		}
	}
	if st1.Completed == 0 || st1.Spilled == 0 || st1.Remote == 0 {
		t.Fatalf("the run did not exercise what it should: %+v", st1)
	}
}

func TestEveryTaskFinishesOnceAndNothingIsLeft(t *testing.T) {
	nodes := Uniform(4, NodeConfig{CPUs: 2, InFlight: 40})
	cfg := cheap(nodes, 1)
	cfg.SpillThreshold = 15 // some tasks go through the global scheduler
	s := newSim(t, cfg)
	s.Run(30 * time.Millisecond)
	for i, h := range s.hosts {
		// The host's own count of the scheduler's queue, which the spill
		// test reads, is the node's.
		if got := s.Node(i).Node.Sched.Queued; h.queued != got {
			t.Fatalf("node %d: host counts %d queued, the node %d", i, h.queued, got)
		}
	}
	if err := s.Drain(time.Second); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	var ran uint64
	for i := range nodes {
		ran += s.Node(i).Ran
	}
	if st.InFlight != 0 || st.Failed != 0 || st.Completed != st.Submitted || ran != st.Completed {
		t.Fatalf("submitted %d, completed %d, failed %d, in flight %d, ran %d", st.Submitted, st.Completed, st.Failed, st.InFlight, ran)
	}
	if st.Spilled == 0 || st.Remote == 0 {
		t.Fatalf("no task went through the global scheduler: %+v", st)
	}
}

func TestMoreNodesMoreThroughput(t *testing.T) {
	load := NodeConfig{CPUs: 2, InFlight: 32}
	one := rate(newSim(t, cheap(Uniform(1, load), 1)), 10*time.Millisecond, 40*time.Millisecond)
	four := rate(newSim(t, cheap(Uniform(4, load), 1)), 10*time.Millisecond, 40*time.Millisecond)
	if !(one > 0 && four > 3*one) {
		t.Fatalf("1 node: %.0f tasks/s, 4 nodes: %.0f", one, four)
	}
}

func TestScalesLinearly(t *testing.T) {
	load := NodeConfig{CPUs: 2, InFlight: 32}
	var rates []float64
	for _, n := range []int{1, 2, 4} {
		rates = append(rates, rate(newSim(t, cheap(Uniform(n, load), 1)), 10*time.Millisecond, 40*time.Millisecond))
	}
	for i := 1; i < len(rates); i++ {
		if r := rates[i] / rates[i-1]; r < 1.8 || r > 2.2 {
			t.Fatalf("doubling the nodes multiplied throughput by %.2f (%v tasks/s)", r, rates)
		}
	}
}

func TestNodeWithoutCPUSpillsEverything(t *testing.T) {
	nodes := []NodeConfig{{CPUs: 0, InFlight: 20}, {CPUs: 2}}
	s := newSim(t, cheap(nodes, 1))
	s.Run(30 * time.Millisecond)
	zero, other, st := s.Node(0), s.Node(1), s.Stats()
	if zero.Ran != 0 || zero.Spilled != zero.Submitted || other.Ran == 0 {
		t.Fatalf("the node without CPUs ran %d and spilled %d of %d; the other ran %d", zero.Ran, zero.Spilled, zero.Submitted, other.Ran)
	}
	if st.Completed == 0 || st.Failed != 0 || st.Remote != st.Completed {
		t.Fatalf("%+v", st)
	}
	if err := s.Drain(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestFullQueueSpillsToAnIdleNode(t *testing.T) {
	// One worker with a pipeline of 16 cannot take 100 tasks: past 10
	// queued, the busy node forwards its driver's tasks, and the global
	// scheduler places them on the idle node.
	nodes := []NodeConfig{{CPUs: 1, InFlight: 100}, {CPUs: 4}}
	cfg := cheap(nodes, 1)
	cfg.SpillThreshold = 10
	s := newSim(t, cfg)
	s.Run(50 * time.Millisecond)
	if busy, idle := s.Node(0), s.Node(1); busy.Spilled == 0 || idle.Ran == 0 || busy.Ran == 0 {
		t.Fatalf("busy node ran %d and spilled %d; idle node ran %d", busy.Ran, busy.Spilled, idle.Ran)
	}
	if err := s.Drain(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestNoNodeCanRunTheTask(t *testing.T) {
	s := newSim(t, cheap([]NodeConfig{{InFlight: 3}}, 1))
	s.Run(10 * time.Millisecond)
	if st := s.Stats(); st.Failed == 0 || st.Completed != 0 {
		t.Fatalf("tasks no node can run: %+v", st)
	}
	if err := s.Drain(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no nodes"},
		{Config{Nodes: []NodeConfig{{CPUs: -1}}}, "negative"},
		{Config{Nodes: []NodeConfig{{CPUs: 1}}, Latency: -time.Second}, "negative"},
		{Config{Nodes: []NodeConfig{{CPUs: 1}}, Jitter: 1}, "jitter"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one about %q", c.cfg, err, c.want)
		}
	}
}

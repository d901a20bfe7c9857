package chain

import "testing"

// TestMonitorWaitsWhileNoneHeard: when every member of a chain goes silent
// at about the same time (processes that all stalled together, on a
// machine starved of CPU), the monitor removes none of them, even as the
// first to have gone silent passes FailTicks while the others are a few
// ticks short of it; once members are heard again, one still silent is
// removed at once.
func TestMonitorWaitsWhileNoneHeard(t *testing.T) {
	const fail = 100
	m := NewMonitor(MonitorConfig{Shards: 1, FailTicks: fail})
	step := func(kind MsgKind, from ReplicaID, flag bool) {
		m.Step(Message{Kind: kind, From: from, To: MonitorID, Epoch: m.Chain(0).Epoch, Flag: flag, Addr: "r"})
		m.ClearOutputs()
	}
	step(MsgJoin, 1, false)
	step(MsgJoin, 2, false)
	step(MsgHeartbeat, 1, true) // the tail reports its joiner synced
	step(MsgJoin, 3, false)
	step(MsgHeartbeat, 2, true)
	c := m.Chain(0)
	if len(c.Members) != 3 || c.Joiner.ID != 0 {
		t.Fatalf("chain %v", c)
	}
	// The members are last heard a few ticks apart, then all go silent.
	for _, id := range []ReplicaID{1, 2, 3} {
		step(MsgHeartbeat, id, false)
		for range 3 {
			m.Tick()
		}
	}
	for range 3 * fail {
		m.Tick()
		m.ClearOutputs()
	}
	if got := m.Chain(0); got.Epoch != c.Epoch {
		t.Fatalf("with no member heard for %d ticks the chain changed: %v, was %v", 3*fail, got, c)
	}
	// Two are heard again: the third, silent all along, is removed.
	step(MsgHeartbeat, 1, false)
	step(MsgHeartbeat, 2, false)
	m.Tick()
	if got := m.Chain(0); got.Contains(3) || len(got.Members) != 2 {
		t.Fatalf("members 1 and 2 heard, 3 silent for %d ticks: chain %v", 3*fail, got)
	}
}

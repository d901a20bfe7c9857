package chain

import (
	"testing"

	"manta/gcs"
)

// TestRetransmitAdapts: a successor whose round trip is long (large
// entries, a busy process) is not sent every unacknowledged entry again
// each RetransmitTicks: once a round trip has been measured, resends wait
// twice as long; when round trips are short again, so is the wait; and an
// entry that is lost is still resent.
func TestRetransmitAdapts(t *testing.T) {
	s := newSimNet(t, t.TempDir())
	s.rcfg = ReplicaConfig{HeartbeatTicks: 5, LeaseTicks: 200, RetransmitTicks: 5}
	s.mon = NewMonitor(MonitorConfig{Shards: 1, FailTicks: 400})
	for _, id := range []ReplicaID{1, 2} {
		if err := s.start(id, 0); err != nil {
			t.Fatal(err)
		}
		s.settle()
	}
	for range 10 {
		s.tick()
		s.settle()
	}
	if c := s.mon.Chain(0); len(c.Members) != 2 || c.Joiner.ID != 0 {
		t.Fatalf("chain %v", c)
	}
	held := func(m Message) bool {
		return (m.Kind == MsgForward || m.Kind == MsgAck) && (m.From == 1 || m.From == 2) && m.To != MonitorID
	}
	// slow writes once at r1 and holds the messages between r1 and r2 for
	// ticks ticks (delivering the rest, so leases hold), losing the first
	// forward if lose, then delivers them; it returns the forwards r1 sent
	// meanwhile, the first included.
	slow := func(ticks int, lose bool) int {
		t.Helper()
		s.token++
		op := gcs.Op{Kind: gcs.OpPut, Table: gcs.KV, Key: []byte("k"), Value: []byte("v")}
		if err := s.reps[1].r.Propose(s.token, 0, 0, 0, gcs.AppendOp(nil, &op)); err != nil {
			t.Fatal(err)
		}
		s.collect(s.reps[1].r)
		forwards := 0
		var inflight []Message
		hold := func() { // delivers what is not held, until only that is left
			for len(s.queue) > 0 {
				m := s.queue[0]
				if !held(m) {
					s.deliverAt(0)
					continue
				}
				s.queue = s.queue[1:]
				if m.Kind == MsgForward {
					forwards++
					if lose && forwards == 1 {
						continue
					}
				}
				inflight = append(inflight, m)
			}
		}
		hold()
		for range ticks {
			s.tick()
			hold()
		}
		s.queue = append(s.queue, inflight...)
		s.settle()
		if len(s.replies) != 1 || s.replies[0].Err != nil {
			t.Fatalf("replies %v", s.replies)
		}
		s.replies = nil
		return forwards
	}
	// The first slow round trip: resends every 5 ticks, backing off
	// (5, 10, 20: at 5, 15 and 35 ticks).
	if n := slow(40, false); n != 4 {
		t.Errorf("first slow round trip: %d forwards; want 4 (the first and 3 resends backing off)", n)
	}
	// No round trip was measured (an ack could have answered any copy):
	// the wait stays backed off, at 40 ticks.
	if n := slow(30, false); n != 1 {
		t.Errorf("second slow round trip: %d forwards; want 1", n)
	}
	// That one was measured (30 ticks): resends wait 60 now.
	if n := slow(55, false); n != 1 {
		t.Errorf("a round trip under twice the last: %d forwards; want 1", n)
	}
	// A lost forward is resent after the wait (55×2 = 110 ticks), once.
	if n := slow(115, true); n != 2 {
		t.Errorf("a lost forward: %d forwards; want 2", n)
	}
	// Fast round trips bring the wait back to RetransmitTicks.
	if n := slow(0, false); n != 1 {
		t.Errorf("a fast round trip: %d forwards; want 1", n)
	}
	if n := slow(16, false); n != 3 {
		t.Errorf("after a fast round trip: %d forwards; want 3 (resends after 5 and 15 ticks)", n)
	}
}

package rpc

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what FaultInjection does to one method's calls.
type Fault struct {
	// Delay is added before the request is sent (timed by the Client's
	// Clock), as Ray's testing_asio_delay_us adds to its handlers, plus a
	// uniformly random extra in [0, Jitter).
	Delay, Jitter time.Duration
	// Drop is the probability (0..1) that a request is lost: it is never
	// sent and its call fails with context.DeadlineExceeded at its deadline.
	Drop float64
}

// FaultInjection holds per-method faults for a Client (tests, and the
// paper's injected-delay experiments). The zero value injects nothing; it
// may be changed while calls are running. Calls whose method has no fault
// pay one atomic load.
type FaultInjection struct {
	mu     sync.Mutex
	faults atomic.Pointer[map[Method]Fault]
}

// Set makes f apply to m's calls; the zero Fault clears m.
func (fi *FaultInjection) Set(m Method, f Fault) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	next := map[Method]Fault{}
	if cur := fi.faults.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	if f == (Fault{}) {
		delete(next, m)
	} else {
		next[m] = f
	}
	if len(next) == 0 {
		fi.faults.Store(nil)
		return
	}
	fi.faults.Store(&next)
}

// Reset clears every fault.
func (fi *FaultInjection) Reset() {
	fi.mu.Lock()
	fi.faults.Store(nil)
	fi.mu.Unlock()
}

// plan says what to do to a call of m: how long to hold it, and whether to
// drop it.
func (fi *FaultInjection) plan(m Method) (delay time.Duration, drop bool) {
	if fi == nil {
		return 0, false
	}
	faults := fi.faults.Load()
	if faults == nil {
		return 0, false
	}
	f, ok := (*faults)[m]
	if !ok {
		return 0, false
	}
	delay = f.Delay
	if f.Jitter > 0 {
		delay += rand.N(f.Jitter)
	}
	return delay, f.Drop > 0 && rand.Float64() < f.Drop
}

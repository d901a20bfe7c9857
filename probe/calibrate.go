package probe

import (
	"errors"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
)

// calibrationPoint is the function Attach probes in its own process to
// learn what one probe hit costs.
//
//go:noinline
func calibrationPoint(x uint64) uint64 { return x*31 + 7 }

// calibrationSymbol is calibrationPoint's symbol.
const calibrationSymbol = "manta/probe.calibrationPoint"

// calibrate measures one uprobe hit in this process — the trap, the
// stage program and its ring-buffer record — as the best of a few rounds
// of calls with the probe less the best without. It returns 0 when this
// executable cannot be probed (stripped of its symbols, say).
func (p *Probe) calibrate() time.Duration {
	const calls, rounds = 400, 5
	best := func() time.Duration {
		fastest := time.Duration(math.MaxInt64)
		for range rounds {
			start := time.Now()
			x := uint64(0)
			for range calls {
				x = calibrationPoint(x)
			}
			fastest = min(fastest, time.Since(start))
			runtime.KeepAlive(x)
		}
		return fastest
	}
	self := os.Getpid()
	ex, err := link.OpenExecutable("/proc/self/exe")
	if err != nil || p.objs.Targets.Put(uint32(self), uint32(1)) != nil {
		return 0
	}
	defer p.objs.Targets.Delete(uint32(self))
	bare := best()
	l, err := ex.Uprobe(calibrationSymbol, p.objs.Stage, &link.UprobeOptions{PID: self, Cookie: MaxStages - 1})
	if err != nil {
		return 0
	}
	probed := best()
	l.Close()
	bare = min(bare, best())
	p.discardEvents()
	return max(0, (probed-bare)/calls)
}

// discardEvents empties the ring buffer.
func (p *Probe) discardEvents() {
	p.reader.SetDeadline(time.Now())
	var rec ringbuf.Record
	for {
		if err := p.reader.ReadInto(&rec); errors.Is(err, os.ErrDeadlineExceeded) || err != nil {
			return
		}
	}
}

package benchmarks

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress prints which experiment runs, how far it is and the time left:
// on a terminal one line redrawn in place, elsewhere (CI, a pipe, a file)
// plain lines at the start, at each quarter and at the end.
type progress struct {
	w   io.Writer
	tty bool
	now func() time.Time

	mu        sync.Mutex
	count     int // experiments in the run
	index     int // 1-based, current
	id        string
	estimate  time.Duration // of the current experiment
	after     time.Duration // estimates of those after it
	start     time.Time
	frac      float64
	status    string
	updated   time.Time     // when frac last changed
	paceLeft  time.Duration // time left by the pace at that moment
	lastDraw  time.Time
	lastQuart int
	drawn     bool
	stopTick  chan struct{} // stops the redrawing of the running experiment's line
}

// IsTerminal reports whether w is a terminal that can take an updating
// line: a character device, with CI unset (or "false") and TERM not "dumb".
func IsTerminal(w io.Writer) bool {
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		return false
	}
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, tty bool, count int) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, tty: tty, count: count, now: time.Now}
}

// begin starts experiment index (1-based); after is the estimated time of
// the experiments still to come after it.
func (p *progress) begin(index int, e *Experiment, s Scale, after time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.index, p.id, p.estimate, p.after = index, e.ID, e.Estimate(s), after
	p.start, p.frac, p.status, p.lastQuart = p.now(), 0, "starting", 0
	if e.Run == nil || e.State == NotBuilt {
		return // end prints its one line
	}
	if !p.tty {
		fmt.Fprintf(p.w, "[%d/%d] %s: start (%s), about %s\n", p.index, p.count, p.id, e.Title, roundDur(p.estimate))
		return
	}
	p.draw()
	// Redraw twice a second so the time left counts down between updates.
	p.stopTick = make(chan struct{})
	go func(stop chan struct{}) {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.mu.Lock()
				if p.stopTick == stop { // not ended while this waited for the lock
					p.draw()
				}
				p.mu.Unlock()
			}
		}
	}(p.stopTick)
}

// update records how far the current experiment is.
func (p *progress) update(frac float64, status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if frac != p.frac {
		now := p.now()
		p.updated = now
		if el := now.Sub(p.start); frac > 0 {
			p.paceLeft = time.Duration(float64(el) * (1 - frac) / frac)
		}
	}
	p.frac, p.status = frac, status
	if !p.tty {
		if q := int(frac * 4); q > p.lastQuart && q < 4 {
			p.lastQuart = q
			fmt.Fprintf(p.w, "[%d/%d] %s: %3.0f%% %s, %s left\n", p.index, p.count, p.id, 100*frac, status, roundDur(p.left()))
		}
		return
	}
	if p.now().Sub(p.lastDraw) >= 100*time.Millisecond {
		p.draw()
	}
}

// end prints the experiment's outcome on a line of its own.
func (p *progress) end(r *Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopTick != nil {
		close(p.stopTick)
		p.stopTick = nil
	}
	line := fmt.Sprintf("[%d/%d] %s: %s", p.index, p.count, r.ID, r.Status)
	if r.Status == StatusNotBuilt {
		line += " (" + r.Paper + ": " + r.Title + ")"
	} else {
		line += " in " + roundDur(r.Duration).String()
	}
	if r.Error != "" {
		first, _, _ := strings.Cut(r.Error, "\n")
		line += ": " + first
	}
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintln(p.w, line)
	p.drawn = false
}

// left estimates the current experiment's remaining time: from its own
// pace at the last update (counting down since) once it is 5% done, else
// from its estimate.
func (p *progress) left() time.Duration {
	if p.frac >= 0.05 {
		return max(p.paceLeft-p.now().Sub(p.updated), 0)
	}
	return max(p.estimate-p.now().Sub(p.start), 0)
}

func (p *progress) draw() {
	const width = 20
	filled := int(p.frac * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	left := p.left()
	fmt.Fprintf(p.w, "\r\033[K[%d/%d] %-7s [%s] %3.0f%%  %s  ~%s left (all ~%s)",
		p.index, p.count, p.id, bar, 100*p.frac, p.status, roundDur(left), roundDur(left+p.after))
	p.lastDraw, p.drawn = p.now(), true
}

func roundDur(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

package node

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"manta/rpc/wire"
	"manta/shm/store"
)

// recorder is the Host of the node's tests: it carries out nothing, and
// writes every effect as a line, for scripts to compare.
type recorder struct {
	out    strings.Builder
	pins   []PinToken            // Pin calls not answered yet, in order
	pinned map[wire.ObjectID]int // pins taken minus pins given back
	freed  map[wire.ObjectID]bool
	errs   []string // what the node did wrong, found while recording
	quiet  bool     // print nothing, keep what the property test plays
	sent   []sentMsg
	starts []ProcID
	kills  []ProcID
}

// sentMsg is one Send, kept for tests that play the workers.
type sentMsg struct {
	p ProcID
	m wire.Msg
}

func newRecorder() *recorder {
	return &recorder{pinned: map[wire.ObjectID]int{}, freed: map[wire.ObjectID]bool{}}
}

func (r *recorder) printf(format string, args ...any) {
	if !r.quiet {
		fmt.Fprintf(&r.out, format+"\n", args...)
	}
}

func (r *recorder) Send(p ProcID, m *wire.Msg) {
	if r.quiet {
		c := *m
		c.Args = slices.Clone(m.Args)
		c.Results = slices.Clone(m.Results)
		c.Ready = slices.Clone(m.Ready)
		c.Devices = slices.Clone(m.Devices)
		r.sent = append(r.sent, sentMsg{p, c})
		return
	}
	r.printf("w%d <- %s", p, formatMsg(m))
}

func (r *recorder) SendControl(p ProcID, m *wire.Msg) {
	r.printf("w%d <= %s", p, formatMsg(m))
}

func (r *recorder) StartProc(p ProcID) {
	r.printf("start w%d", p)
	r.starts = append(r.starts, p)
}

func (r *recorder) KillProc(p ProcID) {
	r.printf("kill w%d", p)
	r.kills = append(r.kills, p)
}

func (r *recorder) Pin(id wire.ObjectID, tok PinToken) {
	r.printf("pin %s #%d", objName(id), tok)
	r.pins = append(r.pins, tok)
}

func (r *recorder) Unpin(id wire.ObjectID) {
	r.printf("unpin %s", objName(id))
	if r.pinned[id]--; r.pinned[id] < 0 {
		r.errs = append(r.errs, fmt.Sprintf("%s unpinned more often than pinned", objName(id)))
	}
}

func (r *recorder) Free(id wire.ObjectID) {
	r.printf("free %s", objName(id))
	if r.freed[id] {
		r.errs = append(r.errs, fmt.Sprintf("%s freed twice", objName(id)))
	}
	r.freed[id] = true
}

func (r *recorder) Wake(w *Waiter)                           { r.printf("wake %s", waiterName(w)) }
func (r *recorder) SetTimer(tok TimerToken, d time.Duration) { r.printf("timer #%d %v", tok, d) }
func (r *recorder) CancelTimer(tok TimerToken)               { r.printf("cancel-timer #%d", tok) }
func (r *recorder) Finished(t wire.TaskID)                   { r.printf("finished %s", taskName(t)) }
func (r *recorder) Spill(spec *TaskSpec) {
	r.printf("spill %s contained=%s", formatSpec(spec), objNames(spec.Contained))
}
func (r *recorder) CancelSpilled(t wire.TaskID) { r.printf("cancel-spilled %s", taskName(t)) }

// take returns what was recorded since the last take.
func (r *recorder) take() string {
	s := r.out.String()
	r.out.Reset()
	return s
}

// waiterNames names the driver's waiters for the recorder.
var waiterNames = map[*Waiter]string{}

func waiterName(w *Waiter) string {
	if n, ok := waiterNames[w]; ok {
		return n
	}
	return "?"
}

func taskName(t wire.TaskID) string {
	if t.Hi == 0 && t.Lo < 1<<20 {
		return "t" + strconv.FormatUint(t.Lo, 10)
	}
	return t.String()
}

// objName is the scripts' name of an object: tN for a task's result,
// tN.i for its i-th part, pN (pN.k) for the (k-th) Put of task N.
func objName(id wire.ObjectID) string {
	t := strings.TrimPrefix(taskName(id.Task), "t")
	switch {
	case id.Index >= wire.PutIndexBase && id.Index == wire.PutIndexBase:
		return "p" + t
	case id.Index >= wire.PutIndexBase:
		return fmt.Sprintf("p%s.%d", t, id.Index-wire.PutIndexBase)
	case id.Index == 1:
		return "t" + t
	}
	return fmt.Sprintf("t%s.%d", t, id.Index-2)
}

// parseObj is objName's inverse.
func parseObj(s string) (wire.ObjectID, error) {
	if len(s) < 2 || (s[0] != 't' && s[0] != 'p') {
		return wire.ObjectID{}, fmt.Errorf("bad object %q", s)
	}
	num, sub, hasSub := strings.Cut(s[1:], ".")
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return wire.ObjectID{}, fmt.Errorf("bad object %q", s)
	}
	k := uint64(0)
	if hasSub {
		if k, err = strconv.ParseUint(sub, 10, 32); err != nil {
			return wire.ObjectID{}, fmt.Errorf("bad object %q", s)
		}
	}
	task := wire.TaskID{Lo: n}
	if s[0] == 'p' {
		return wire.ObjectID{Task: task, Index: wire.PutIndexBase + uint32(k)}, nil
	}
	if hasSub {
		return PartID(wire.ReturnID(task), int(k)), nil
	}
	return wire.ReturnID(task), nil
}

func formatSlot(s wire.Slot) string { return fmt.Sprintf("@%d+%d", s.Offset, s.Size) }

func formatMsg(m *wire.Msg) string {
	var b strings.Builder
	switch m.Kind {
	case wire.KindExecute, wire.KindCreateActor:
		kind := "execute"
		if m.Kind == wire.KindCreateActor {
			kind = "create-actor"
		}
		fmt.Fprintf(&b, "%s %s %s(", kind, taskName(m.Task), m.Name)
		for i, a := range m.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			if a.Stored {
				b.WriteString(formatSlot(a.Slot))
			} else {
				b.Write(a.Data)
			}
		}
		fmt.Fprintf(&b, ") attempt=%d slot=%d", m.Attempt, m.Worker)
		if !m.Actor.IsZero() {
			fmt.Fprintf(&b, " actor=%s", taskName(m.Actor))
		}
		if m.Deadline != 0 {
			fmt.Fprintf(&b, " deadline=%d", m.Deadline)
		}
		if m.Kind == wire.KindCreateActor {
			fmt.Fprintf(&b, " concurrency=%d", m.MaxConcurrency)
			if m.CheckpointEvery > 0 {
				fmt.Fprintf(&b, " checkpoint-every=%d", m.CheckpointEvery)
			}
			if len(m.Data) > 0 {
				fmt.Fprintf(&b, " restore=%s", m.Data)
			}
		}
	case wire.KindDevices:
		fmt.Fprintf(&b, "devices %v", m.Devices)
	case wire.KindGetReply:
		fmt.Fprintf(&b, "get-reply req=%d [", m.ReqID)
		for i, r := range m.Results {
			if i > 0 {
				b.WriteString(", ")
			}
			switch {
			case r.Status == wire.StatusError:
				fmt.Fprintf(&b, "error %q", testCodec{}.Decode(r.Data))
			case r.Stored:
				b.WriteString(formatSlot(r.Slot))
			default:
				fmt.Fprintf(&b, "%q", r.Data)
			}
		}
		b.WriteString("]")
	case wire.KindWaitReply:
		fmt.Fprintf(&b, "wait-reply req=%d ready=%v", m.ReqID, m.Ready)
	case wire.KindLookupReply:
		if m.Status == wire.StatusError {
			fmt.Fprintf(&b, "lookup-reply req=%d error %q", m.ReqID, testCodec{}.Decode(m.Data))
		} else {
			fmt.Fprintf(&b, "lookup-reply req=%d %s %s", m.ReqID, taskName(m.Task), m.Name)
		}
	case wire.KindCancel:
		fmt.Fprintf(&b, "cancel %s", taskName(m.Task))
	case wire.KindShutdown:
		b.WriteString("shutdown")
	default:
		fmt.Fprintf(&b, "%v", m.Kind)
	}
	return b.String()
}

// testCodec encodes an error as the index of the first sentinel it wraps
// and its text, so that decoded errors still match errors.Is.
type testCodec struct{}

var testSentinels = []error{ErrShutdown, ErrUnknownFunction, ErrBadArguments, ErrInfeasible, ErrWorkerDied,
	ErrActorDied, ErrObjectFreed, ErrLineageEvicted, ErrRetriesExhausted, ErrObjectLost, ErrStoreFull, ErrCancelled, ErrNameTaken, ErrNotFound, ErrCheckpoint}

func (testCodec) Encode(err error, _ []byte, _ wire.TaskID) []byte {
	kind := byte(255)
	for i, s := range testSentinels {
		if errors.Is(err, s) {
			kind = byte(i)
			break
		}
	}
	return append([]byte{kind}, err.Error()...)
}

func (testCodec) Decode(b []byte) error {
	if len(b) == 0 {
		return errors.New("undecodable error")
	}
	e := &codedError{msg: string(b[1:])}
	if int(b[0]) < len(testSentinels) {
		e.kind = testSentinels[b[0]]
	}
	return e
}

type codedError struct {
	kind error
	msg  string
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Unwrap() error { return e.kind }

// storeErrors are the errors pin-done may answer with.
var storeErrors = map[string]error{"notfound": store.ErrNotFound, "lost": store.ErrLost, "closed": store.ErrClosed, "full": store.ErrFull, "io": store.ErrIO}

// objNames lists ids by name, comma-separated; "-" for none.
func objNames(ids []wire.ObjectID) string {
	if len(ids) == 0 {
		return "-"
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = objName(id)
	}
	return strings.Join(names, ",")
}

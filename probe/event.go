package probe

import (
	"encoding/binary"
	"fmt"
)

// Kind says what an Event reports.
type Kind uint32

const (
	// KindStage is a stage function entered (uprobe at its first
	// instruction); Event.Aux is the stage's index.
	KindStage Kind = 1
	// KindRunQueue is a thread switched in after a wakeup; Event.Wait is
	// how long it waited in the run queue since it was woken. (A
	// thread switched out runnable waits as its KindOffCPU with Aux 0.)
	KindRunQueue Kind = 2
	// KindOffCPU is a thread switched in again; Event.Wait is how long it
	// was off the CPU, Aux is 1 when it had gone to sleep of its own accord
	// (a voluntary switch: it blocked) and 0 when it was switched out
	// still runnable (preempted, or yielding: sched_yield), so that all
	// of its time off CPU was a wait in the run queue.
	KindOffCPU Kind = 3
)

// String names the kind as the tables do.
func (k Kind) String() string {
	switch k {
	case KindStage:
		return "stage"
	case KindRunQueue:
		return "run-queue"
	case KindOffCPU:
		return "off-cpu"
	}
	return fmt.Sprintf("kind(%d)", uint32(k))
}

// EventSize is the size of one ring-buffer record (struct event in
// bpf/probe.bpf.c).
const EventSize = 32

// MaxStages bounds the stages of a chain, and so Event.Aux of a stage
// event.
const MaxStages = 64

// Event is one record from the BPF side.
type Event struct {
	Time uint64 // bpf_ktime_get_ns: nanoseconds of CLOCK_MONOTONIC
	Wait uint64 // nanoseconds, for KindRunQueue and KindOffCPU
	TGID uint32 // the process
	TID  uint32 // the thread
	Kind Kind
	Aux  uint32 // see Kind
}

// Blocked reports, for KindOffCPU, whether the thread had blocked (a
// voluntary switch) rather than being switched out still runnable.
func (e Event) Blocked() bool { return e.Kind == KindOffCPU && e.Aux == 1 }

// ParseEvent decodes one ring-buffer record (native, little-endian byte
// order) and checks that its kind and stage are ones the BPF side writes.
func ParseEvent(b []byte) (Event, error) {
	if len(b) != EventSize {
		return Event{}, fmt.Errorf("probe: event of %d bytes, want %d", len(b), EventSize)
	}
	e := Event{
		Time: binary.LittleEndian.Uint64(b[0:]),
		Wait: binary.LittleEndian.Uint64(b[8:]),
		TGID: binary.LittleEndian.Uint32(b[16:]),
		TID:  binary.LittleEndian.Uint32(b[20:]),
		Kind: Kind(binary.LittleEndian.Uint32(b[24:])),
		Aux:  binary.LittleEndian.Uint32(b[28:]),
	}
	switch e.Kind {
	case KindStage:
		if e.Aux >= MaxStages {
			return Event{}, fmt.Errorf("probe: stage %d out of range", e.Aux)
		}
	case KindRunQueue:
		if e.Aux != 0 {
			return Event{}, fmt.Errorf("probe: run-queue event with flag %d", e.Aux)
		}
	case KindOffCPU:
		if e.Aux > 1 {
			return Event{}, fmt.Errorf("probe: off-cpu event with flag %d", e.Aux)
		}
	default:
		return Event{}, fmt.Errorf("probe: unknown event kind %d", uint32(e.Kind))
	}
	return e, nil
}

// AppendEvent appends e's record form, the inverse of ParseEvent.
func AppendEvent(b []byte, e Event) []byte {
	b = binary.LittleEndian.AppendUint64(b, e.Time)
	b = binary.LittleEndian.AppendUint64(b, e.Wait)
	b = binary.LittleEndian.AppendUint32(b, e.TGID)
	b = binary.LittleEndian.AppendUint32(b, e.TID)
	b = binary.LittleEndian.AppendUint32(b, uint32(e.Kind))
	return binary.LittleEndian.AppendUint32(b, e.Aux)
}

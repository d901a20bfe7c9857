package sched

import "fmt"

// ActionKind says what core must do for an Action.
type ActionKind uint8

const (
	// Dispatch: send Task to Worker, behind the tasks already sent to it.
	Dispatch ActionKind = iota + 1
	// StartWorker: start a worker process and report it with WorkerStarted
	// or WorkerStartFailed. Class is the class it is wanted for (information
	// only: the worker may be given to any class).
	StartWorker
	// StopWorker: stop Worker; sched has already forgotten it. For an extra
	// slot (see AddSlot) only the slot ends, not its process.
	StopWorker
	// PlaceActor: create Actor on Worker, which is now dedicated to it.
	PlaceActor
	// AddSlot: give the process of Worker (a primary slot) one more slot and
	// report it with SlotAdded, or with SlotAddFailed if that process is
	// gone. Asked instead of StartWorker when the pool already has
	// MaxWorkers processes and work in them waits in Get.
	AddSlot
	// Refuse: fail Task (or Actor) of Class, which the node can no longer
	// serve (a GPU it needs was lost; Infeasible says why). It was queued,
	// or submitted since.
	Refuse
)

var actionNames = [...]string{
	Dispatch:    "dispatch",
	StartWorker: "start-worker",
	StopWorker:  "stop-worker",
	PlaceActor:  "place-actor",
	AddSlot:     "add-slot",
	Refuse:      "refuse",
}

func (k ActionKind) String() string {
	if int(k) < len(actionNames) && actionNames[k] != "" {
		return actionNames[k]
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// Action is one decision for core to carry out. Only the fields its Kind
// names are set.
type Action struct {
	Kind   ActionKind
	Worker WorkerID
	Class  ClassID
	Task   TaskRef
	Actor  ActorRef
}

func (a Action) String() string {
	switch a.Kind {
	case Dispatch:
		return fmt.Sprintf("%s t=%d w=%d class=%d", a.Kind, a.Task, a.Worker, a.Class)
	case StartWorker:
		return fmt.Sprintf("%s class=%d", a.Kind, a.Class)
	case StopWorker, AddSlot:
		return fmt.Sprintf("%s w=%d", a.Kind, a.Worker)
	case PlaceActor:
		return fmt.Sprintf("%s a=%d w=%d class=%d", a.Kind, a.Actor, a.Worker, a.Class)
	case Refuse:
		if a.Actor != 0 {
			return fmt.Sprintf("%s a=%d class=%d", a.Kind, a.Actor, a.Class)
		}
		return fmt.Sprintf("%s t=%d class=%d", a.Kind, a.Task, a.Class)
	}
	return a.Kind.String()
}

// Actions returns the decisions made since the last ClearActions, in order.
// The slice is reused: it is valid until the next call on l.
func (l *Local) Actions() []Action { return l.actions }

// ClearActions forgets the actions core has carried out.
func (l *Local) ClearActions() { l.actions = l.actions[:0] }

func (l *Local) emit(a Action) { l.actions = append(l.actions, a) }

package node_test

import (
	"errors"
	"fmt"
	"time"

	"manta/node"
	"manta/rpc/wire"
	"manta/sched"
)

// loopHost is the smallest Host: it notes what the node asks for, and the
// example's loop carries it out, playing the worker process itself.
type loopHost struct {
	starts []node.ProcID
	execs  []wire.Msg
	woken  []*node.Waiter
}

func (h *loopHost) Send(p node.ProcID, m *wire.Msg) {
	if m.Kind == wire.KindExecute {
		h.execs = append(h.execs, wire.Msg{Task: m.Task, Name: m.Name, Args: m.Args})
	}
}
func (h *loopHost) SendControl(node.ProcID, *wire.Msg)      {}
func (h *loopHost) StartProc(p node.ProcID)                 { h.starts = append(h.starts, p) }
func (h *loopHost) KillProc(node.ProcID)                    {}
func (h *loopHost) Pin(wire.ObjectID, node.PinToken)        {}
func (h *loopHost) Unpin(wire.ObjectID)                     {}
func (h *loopHost) Free(wire.ObjectID)                      {}
func (h *loopHost) Wake(w *node.Waiter)                     { h.woken = append(h.woken, w) }
func (h *loopHost) SetTimer(node.TimerToken, time.Duration) {}
func (h *loopHost) CancelTimer(node.TimerToken)             {}
func (h *loopHost) Finished(wire.TaskID)                    {}
func (h *loopHost) Spill(*node.TaskSpec)                    {}
func (h *loopHost) CancelSpilled(wire.TaskID)               {}

// textErrors keeps errors as their text.
type textErrors struct{}

func (textErrors) Encode(err error, _ []byte, _ wire.TaskID) []byte { return []byte(err.Error()) }
func (textErrors) Decode(b []byte) error                            { return errors.New(string(b)) }

func Example() {
	total, _ := sched.NewResources(map[string]float64{"CPU": 1})
	h := &loopHost{}
	n, err := node.New(node.Config{Sched: sched.Config{Total: total}, Errors: textErrors{}}, h)
	if err != nil {
		panic(err)
	}
	// The driver submits greet("world") and waits for it.
	root := wire.TaskID{Lo: 1}
	ref := n.Submit(&node.TaskSpec{ID: root.Child(1), Kind: wire.SubmitTask, Name: []byte("greet"),
		Args: []wire.Arg{{Data: []byte("world")}}})
	w := &node.Waiter{}
	n.Await(w, ref)

	// The loop: start the process the node asked for, then answer what it
	// was sent as its worker would.
	for _, p := range h.starts {
		n.ProcStarted(p)
		for _, m := range h.execs {
			done := wire.Msg{Kind: wire.KindDone, Task: m.Task, Data: fmt.Appendf(nil, "hello, %s", m.Args[0].Data)}
			if err := n.Worker(p, &done); err != nil {
				panic(err)
			}
		}
	}
	fmt.Println("woken:", len(h.woken) == 1 && w.Fired())
	r := n.Result(ref)
	fmt.Printf("%s %v\n", r.Data, r.Err)
	n.Release(ref)
	fmt.Printf("%+v\n", n.Stats().Objects)
	// Output:
	// woken: true
	// hello, world <nil>
	// 0
}

package host_test

import (
	"context"
	"errors"
	"fmt"

	"manta/node"
	"manta/node/host"
	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
)

// plainErrors keeps an error as its text: the codec core supplies keeps
// the type, the sentinel and the stack.
type plainErrors struct{}

func (plainErrors) Encode(err error, _ []byte, _ wire.TaskID) []byte { return []byte(err.Error()) }
func (plainErrors) Decode(b []byte) error                            { return errors.New(string(b)) }

// A driver runs its node in a Host and calls it directly. The worker
// processes are this binary run again; here the test binary serves "echo",
// which joins its arguments (package core's worker mode is the real one).
func Example() {
	cpus, _ := sched.NewResources(map[string]float64{"CPU": 1})
	h, err := host.New(host.Config{
		Node:  node.Config{Errors: plainErrors{}, Sched: sched.Config{Total: cpus, MaxWorkers: 1}},
		Store: store.Config{Capacity: 16 << 20},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Shutdown()

	root := wire.TaskID{Hi: 1, Lo: 1}
	greeting, _ := h.Put(wire.PutID(root, 1), node.Value{Data: []byte("hello, ")}, nil)
	task := &node.TaskSpec{ID: root.Child(1), Kind: wire.SubmitTask, Name: []byte("echo"),
		Args: []wire.Arg{{IsRef: true, Ref: greeting.ID()}, {Data: []byte("world")}}}
	result, err := h.Submit(task, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([]host.Read, 1)
	if err := h.Get(context.Background(), []host.Hold{{ID: result.ID(), Obj: result}}, out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %v\n", out[0].Data, out[0].Err)
	h.DoneReading(out)
	h.Release(result)
	h.Release(greeting)
	fmt.Println("objects left:", h.Stats().Node.Objects)
	// Output:
	// hello, world <nil>
	// objects left: 0
}

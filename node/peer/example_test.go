package peer_test

import (
	"context"
	"fmt"

	"manta/node/peer"
	"manta/rpc/wire"
)

// echo is an Executor that "runs" every task by returning its first
// argument, as a node would return the task's value.
type echo struct{}

func (echo) Execute(_ context.Context, req *peer.RunRequest) (peer.RunReply, error) {
	return peer.RunReply{From: peer.Holder{Peer: "me"}, Data: append([]byte(nil), req.Spec.Args[0].Data...)}, nil
}

func (echo) ReleaseLent(string, []wire.ObjectID) {}

func (echo) CancelRun(*peer.CancelRequest) {}

// A node serves its Executor; another node's Client runs a task there.
func Example() {
	token := []byte("cluster token")
	srv, err := peer.NewServer(peer.ServerConfig{Exec: echo{}, Token: token})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	cl := peer.NewClient(peer.ClientConfig{Token: token})
	defer cl.Close()

	req := &peer.RunRequest{}
	req.Spec.ID = wire.TaskID{Hi: 1}
	req.Spec.Name = []byte("f")
	req.Spec.Args = []wire.Arg{{Data: []byte("hello")}}
	reply, err := cl.Run(context.Background(), srv.Addr(), req)
	fmt.Printf("%s %v\n", reply.Data, err)
	// Output: hello <nil>
}

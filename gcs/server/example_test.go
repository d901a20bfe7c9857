package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"manta/gcs/chain"
	"manta/gcs/server"
)

// A head runs the monitor in this process and every replica as a process
// of its own: here this test binary, whose TestMain serves as a replica
// when the head's variables are set (a program uses its own binary:
// exec.Command(exe, "gcs") for the manta command). With Restart, a
// replica process that dies is replaced by a new one, which joins by
// state transfer.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	head, err := server.StartHead(ctx, server.HeadConfig{
		Shards: 1, Replicas: 2, Restart: true,
		Command: func() *exec.Cmd { return exec.Command(os.Args[0], "-test.run=^$") },
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	defer head.Close()
	before := head.Monitor().Chains()[0]
	fmt.Println("members:", len(before.Members), "processes:", len(head.Processes()))

	victim := before.Tail().ID
	if err := head.Kill(victim); err != nil {
		panic(err)
	}
	after, err := head.Monitor().WaitChains(ctx, func(cs []chain.Chain) bool {
		return !cs[0].Contains(victim) && len(cs[0].Members) == 2 && cs[0].Joiner.ID == 0
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("after a kill, members:", len(after[0].Members), "tail replaced:", after[0].Tail().ID != victim)
	// Output:
	// members: 2 processes: 2
	// after a kill, members: 2 tail replaced: true
}

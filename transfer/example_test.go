package transfer_test

import (
	"context"
	"errors"
	"fmt"

	"manta/shm/store"
	"manta/transfer"
)

// Two nodes' stores in one process: the first serves its objects, the
// second pulls one of them.
func Example() {
	token := []byte("cluster token")
	remote, _ := store.New(store.Config{Capacity: 1 << 20})
	defer remote.Close()
	local, _ := store.New(store.Config{Capacity: 1 << 20})
	defer local.Close()

	// The remote node stores an object.
	id := store.ID{42}
	data := []byte("hello from the other node")
	rview, _ := store.NewView(remote.Segment())
	slot, _ := remote.Create(context.Background(), id, int64(len(data)))
	w, _ := rview.Writable(slot)
	copy(w, data)
	remote.Seal(id)

	srv, err := transfer.NewServer(transfer.ServerConfig{Store: remote, Token: token})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	p, err := transfer.NewPuller(transfer.PullerConfig{Store: local, Token: token})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	// The local node pulls it, then reads it like any local object.
	if err := p.Pull(context.Background(), id, int64(len(data)), []string{srv.Addr()}, transfer.PriorityGet); err != nil {
		fmt.Println(err)
		return
	}
	lview, _ := store.NewView(local.Segment())
	slot, _ = local.Pin(context.Background(), id)
	b, _ := lview.BytesOf(id, slot)
	fmt.Printf("%s\n", b)
	local.Unpin(id)

	// An object no peer has fails with a typed error.
	err = p.Pull(context.Background(), store.ID{7}, 10, []string{srv.Addr()}, transfer.PriorityGet)
	fmt.Println(err != nil && errors.Is(err, transfer.ErrTransferFailed), errors.Is(err, transfer.ErrObjectNotFound))
	// Output:
	// hello from the other node
	// true true
}

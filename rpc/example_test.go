package rpc_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"manta/rpc"
)

// A server and a client on loopback. The handler dispatches on the method
// number and appends its answer to resp.
func Example() {
	const (
		upper rpc.Method = 1
		fail  rpc.Method = 2
	)
	token := []byte("cluster token")
	srv, err := rpc.NewServer(rpc.ServerConfig{
		Token: token, // Addr "" listens on 127.0.0.1, on a free port
		Handler: func(ctx *rpc.Ctx, m rpc.Method, req, resp []byte) ([]byte, error) {
			switch m {
			case upper:
				return append(resp, strings.ToUpper(string(req))...), nil
			default:
				return resp, fmt.Errorf("no method %d", m)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	cli, err := rpc.Dial(rpc.ClientConfig{Addr: srv.Addr(), Token: token})
	if err != nil {
		panic(err)
	}
	defer cli.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var buf []byte
	buf, err = cli.Call(ctx, upper, []byte("hello"), buf[:0])
	fmt.Println(string(buf), err)
	_, err = cli.Call(ctx, fail, nil, buf[:0])
	fmt.Println(err)
	// Output:
	// HELLO <nil>
	// rpc: method 2: remote error: no method 2
}

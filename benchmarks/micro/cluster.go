package micro

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"manta/core"
)

// The rows that need a cluster of several nodes (ClusterRows).

// Names of the multi-node rows: MultiNodeGetRow reads objects of
// MultiNodeGetBytes; the rows for other sizes add the size to its name
// (GetRowName).
const (
	MultiNodeTasksRow = "multi_node_tasks_async"
	MultiNodeActorRow = "multi_node_actor_calls_sync"
	MultiNodeGetRow   = "multi_node_get_gigabytes"
	MultiNodeGetBytes = 100_000_000
)

// GetRowName names the multi-node Get row of objects of size bytes:
// MultiNodeGetRow for MultiNodeGetBytes, else with the decimal size
// appended ("multi_node_get_gigabytes_1gb").
func GetRowName(size int) string {
	if size == MultiNodeGetBytes {
		return MultiNodeGetRow
	}
	unit, div := "b", 1
	for _, u := range []struct {
		name string
		div  int
	}{{"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}} {
		if size >= u.div && size%u.div == 0 {
			unit, div = u.name, u.div
			break
		}
	}
	return fmt.Sprintf("%s_%d%s", MultiNodeGetRow, size/div, unit)
}

// makeBlob makes an object of n bytes where it runs: on another node,
// when the driver has no CPU.
var makeBlob = core.Register1("micro.makeBlob", func(n int) ([]byte, error) {
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = byte(i >> 12)
	}
	return b, nil
})

// ClusterRows returns the rows that measure a cluster: they need a
// driver that joined one (core.Config.Address) with no CPU of its own
// (core.Config.Resources {"CPU": 0}), so that every task it submits runs
// on another node, and other nodes with a CPU each. Ray publishes no
// such rows.
//
//   - multi_node_tasks_async: empty tasks submitted in batches of 1000,
//     each placed by the driver's global scheduler on another node and
//     run there. Baseline: the same number of 128-byte requests and
//     64-byte replies, pipelined over one loopback TCP connection per
//     node (goroutines of this process): the network round trips a task
//     sent to another node costs at least.
//   - multi_node_get_gigabytes: a 100 MB object made by a task on another
//     node (not timed), then read on the driver with GetView, which pulls
//     it into the driver's store (timed). Baseline: 100 MB over one
//     loopback TCP stream between two goroutines of this process, read
//     into a buffer (transfer's own baseline). getBytes gives other sizes
//     (GetRowName names their rows), 1e9 for 1 GB; the driver's and the
//     nodes' stores must hold one object of each.
//   - multi_node_actor_calls_sync, last (its actor keeps a node's CPU):
//     calls to an actor that the driver's node has no CPU for, so it
//     lives on another node, one at a time, each waited for. Baseline:
//     one 128-byte request and its 64-byte reply at a time over one
//     loopback TCP connection.
//
// nodes is the number of nodes other than the driver's.
func ClusterRows(nodes int, getBytes ...int) []Row {
	nodes = max(nodes, 1)
	if len(getBytes) == 0 {
		getBytes = []int{MultiNodeGetBytes}
	}
	rows := []Row{
		{Name: MultiNodeTasksRow, Unit: "tasks/s", batch: 1000,
			Baseline: "128-byte requests and 64-byte replies pipelined over one loopback TCP connection per node, in one process",
			manta:    noopBatch,
			baseline: func(batch int) int { return tcpRequests(batch, nodes) }},
	}
	for _, size := range getBytes {
		rows = append(rows, getRow(GetRowName(size), size))
	}
	// Last: the actor keeps a node's CPU from then on.
	return append(rows, remoteActorRow())
}

// remoteSink is an actor that needs a CPU: with none on the driver's
// node, it is placed on another.
var (
	remoteSink     = core.RegisterActor0("micro.RemoteSink", func() (*sinkState, error) { return &sinkState{}, nil }, core.WithActorResources(map[string]float64{"CPU": 1}))
	remoteSinkCall = core.RegisterMethod0(remoteSink, "Call", func(s *sinkState) (int, error) { s.calls++; return 0, nil })
)

// remoteActorRow makes sync calls to an actor on another node.
func remoteActorRow() Row {
	var h core.Actor[sinkState]
	var made bool
	return Row{Name: MultiNodeActorRow, Unit: "calls/s", batch: 100,
		Baseline: "one 128-byte request and its 64-byte reply at a time over one loopback TCP connection, in one process",
		manta: func(ctx context.Context, batch int) (int, error) {
			if !made {
				h, made = remoteSink.Remote(), true
				if err := h.Ready(ctx); err != nil {
					return 0, err
				}
			}
			for range batch {
				if _, err := remoteSinkCall.Remote(h).Get(ctx); err != nil {
					return 0, err
				}
			}
			return batch, nil
		},
		baseline: tcpPingPong}
}

// getRow reads objects of size bytes made on another node.
func getRow(name string, size int) Row {
	return Row{Name: name, Unit: "GB/s", batch: 1, perSecond: 1e-9,
		Baseline: "one loopback TCP stream between two goroutines of one process, into a buffer",
		timed: func(ctx context.Context, batch int) (int, time.Duration, error) {
			var took time.Duration
			for range batch {
				ref := makeBlob.Remote(size)
				// Made where it runs, not yet pulled: waiting for it on
				// this node would pull it, so a task there says it is done.
				if _, err := blobLen.Remote(ref).Get(ctx); err != nil {
					return 0, 0, err
				}
				began := time.Now()
				v, err := core.GetView(ctx, ref)
				if err != nil {
					return 0, 0, err
				}
				if v.Len() != size {
					return 0, 0, errors.New("micro: a pulled object has the wrong size")
				}
				took += time.Since(began)
				v.Release()
				ref.Release()
			}
			return batch * size, took, nil
		},
		baseline: func(batch int) int { return tcpStream(batch, size) }}
}

// blobLen is the length of a stored byte slice, read in place.
var blobLen = core.Register1("micro.blobLen", func(v *core.View[byte]) (int, error) { return v.Len(), nil })

// Frame sizes of the task baseline: about a task's specification and its
// result's reply.
const (
	requestBytes = 128
	replyBytes   = 64
)

// echoServer answers each requestBytes request on a loopback TCP
// connection with replyBytes; stop closes it and waits for its
// connections to end.
func echoServer() (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var served sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Add(1)
			go func() {
				defer served.Done()
				defer c.Close()
				r, w := bufio.NewReader(c), bufio.NewWriter(c)
				req, rep := make([]byte, requestBytes), make([]byte, replyBytes)
				for {
					if _, err := io.ReadFull(r, req); err != nil {
						return
					}
					copy(rep, req)
					w.Write(rep)
					if r.Buffered() == 0 {
						if w.Flush() != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), func() {
		ln.Close()
		served.Wait()
	}
}

// tcpPingPong sends n requests to an echo server in this process over one
// loopback TCP connection, each after the reply to the one before; it
// returns n.
func tcpPingPong(n int) int {
	addr, stop := echoServer()
	defer stop()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	req, rep := make([]byte, requestBytes), make([]byte, replyBytes)
	for i := range n {
		req[0] = byte(i)
		if _, err := conn.Write(req); err != nil {
			panic(fmt.Sprintf("micro: the loopback baseline failed: %v", err))
		}
		if _, err := io.ReadFull(conn, rep); err != nil {
			panic(fmt.Sprintf("micro: the loopback baseline failed: %v", err))
		}
	}
	return n
}

// tcpRequests sends n requests spread over conns loopback TCP
// connections to an echo server in this process, all pipelined, and
// reads every reply; it returns n.
func tcpRequests(n, conns int) int {
	addr, stop := echoServer()
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, 2*conns)
	for c := range conns {
		share := n / conns
		if c < n%conns {
			share++
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			panic(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			w := bufio.NewWriter(conn)
			req := make([]byte, requestBytes)
			for i := range share {
				req[0] = byte(i)
				w.Write(req)
			}
			errs <- w.Flush()
		}()
		go func() {
			defer wg.Done()
			defer conn.Close()
			r := bufio.NewReader(conn)
			rep := make([]byte, replyBytes)
			for range share {
				if _, err := io.ReadFull(r, rep); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			panic(fmt.Sprintf("micro: the loopback baseline failed: %v", err))
		}
	}
	return n
}

// tcpStream sends size bytes batch times over one loopback TCP stream
// from a filled buffer into another and returns the bytes received.
func tcpStream(batch, size int) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	src := streamBuffer(size)
	sent := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		for range batch {
			if _, err := c.Write(src); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	dst := streamDst(size)
	for range batch {
		if _, err := io.ReadFull(conn, dst); err != nil {
			panic(err)
		}
	}
	if err := <-sent; err != nil {
		panic(err)
	}
	return batch * size
}

// The stream baseline's buffers, filled once per size (a buffer never
// written is the kernel's zero page).
var (
	streamMu   sync.Mutex
	streamSrcs = map[int][]byte{}
	streamDsts = map[int][]byte{}
)

func streamBuffer(size int) []byte {
	streamMu.Lock()
	defer streamMu.Unlock()
	if b := streamSrcs[size]; b != nil {
		return b
	}
	b := filled(size)
	streamSrcs[size] = b
	return b
}

func streamDst(size int) []byte {
	streamMu.Lock()
	defer streamMu.Unlock()
	if b := streamDsts[size]; b != nil {
		return b
	}
	b := filled(size)
	streamDsts[size] = b
	return b
}

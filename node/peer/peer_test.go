package peer

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"manta/node"
	"manta/rpc"
	"manta/rpc/wire"
	"manta/shm/store"
)

func sampleRequest() RunRequest {
	return RunRequest{
		Binary: "ab01", Caller: "127.0.0.1:9", Seq: 3, Member: "127.0.0.1:8",
		Spec: node.TaskSpec{ID: wire.TaskID{Hi: 1, Lo: 2}, Kind: wire.SubmitTask, Name: []byte("f"),
			Args:    []wire.Arg{{Data: []byte("inline")}, {IsRef: true, Ref: wire.ObjectID{Task: wire.TaskID{Hi: 3}, Index: 1}}},
			Options: &node.Options{Resources: map[string]float64{"CPU": 1, "a": 2}, Key: "k", MaxRetries: -1}},
		Objects: []Object{
			{ID: wire.ObjectID{Task: wire.TaskID{Hi: 3}, Index: 1}, Size: 1 << 20, From: []Holder{{Peer: "127.0.0.1:1", Transfer: "127.0.0.1:2"}, {Peer: "127.0.0.1:3", Transfer: "127.0.0.1:4", Member: "127.0.0.1:5"}}},
			{ID: wire.ObjectID{Task: wire.TaskID{Hi: 4}, Index: 1}, Inline: true, Data: []byte("x")},
		},
	}
}

func TestFramesRoundTrip(t *testing.T) {
	req := sampleRequest()
	got, err := DecodeRunRequest(req.AppendBinary(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Fatalf("request:\n got %+v\nwant %+v", got, req)
	}
	for _, r := range []RunReply{
		{From: Holder{Peer: "p", Transfer: "t"}, Data: []byte("v"), Contained: req.Objects},
		{From: Holder{Peer: "p", Transfer: "t"}, Stored: true, Size: 123, Lent: true},
		{From: Holder{Peer: "p", Transfer: "t"}, Failed: []byte{}},
	} {
		got, err := DecodeRunReply(r.AppendBinary(nil))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("reply:\n got %+v\nwant %+v", got, r)
		}
	}
	ids := []wire.ObjectID{{Task: wire.TaskID{Hi: 9}, Index: 1}, {Task: wire.TaskID{Lo: 9}, Index: 2}}
	if member, got, err := DecodeRelease(AppendRelease(nil, "m", ids)); err != nil || member != "m" || !reflect.DeepEqual(got, ids) {
		t.Fatalf("release: %q %v, %v", member, got, err)
	}
	cancel := CancelRequest{Binary: "ab01", Task: wire.TaskID{Hi: 5, Lo: 6}}
	if got, err := DecodeCancelRequest(cancel.AppendBinary(nil)); err != nil || got != cancel {
		t.Fatalf("cancel: %+v, %v", got, err)
	}
}

func TestMalformedFrames(t *testing.T) {
	sample := sampleRequest()
	req := sample.AppendBinary(nil)
	for i := range len(req) - 1 {
		if _, err := DecodeRunRequest(req[:i]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("a request cut at %d of %d bytes: %v", i, len(req), err)
		}
	}
	cancel := (&CancelRequest{Binary: "ab01", Task: wire.TaskID{Hi: 5}}).AppendBinary(nil)
	for i := range len(cancel) - 1 {
		if _, err := DecodeCancelRequest(cancel[:i]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("a cancel cut at %d of %d bytes: %v", i, len(cancel), err)
		}
	}
	if _, err := DecodeCancelRequest(append(cancel, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a cancel with a byte too many: %v", err)
	}
	bad := bytes.Clone(req)
	bad[0] = 9
	if _, err := DecodeRunRequest(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("another version: %v", err)
	}
	if _, err := DecodeRunReply([]byte{frameVersion, 0, 0, 7}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("an unknown outcome: %v", err)
	}
}

func FuzzDecodeRunRequest(f *testing.F) {
	req := sampleRequest()
	f.Add(req.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRunRequest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if _, err := DecodeRunRequest(r.AppendBinary(nil)); err != nil {
			t.Fatalf("a decoded request does not decode again: %v", err)
		}
	})
}

func FuzzDecodeRunReply(f *testing.F) {
	for _, r := range []RunReply{{Data: []byte("v"), Contained: sampleRequest().Objects}, {Stored: true, Size: 5}, {Failed: []byte("e")}} {
		f.Add(r.AppendBinary(nil))
	}
	f.Add(AppendRelease(nil, "m", []wire.ObjectID{{Index: 1}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRunReply(b)
		if err == nil {
			again, err := DecodeRunReply(r.AppendBinary(nil))
			if err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("a decoded reply does not round-trip: %+v, %v", again, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not wrapping ErrMalformed: %v", err)
		}
		if _, _, err := DecodeRelease(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("ids: error not wrapping ErrMalformed: %v", err)
		}
	})
}

func FuzzDecodeCancelRequest(f *testing.F) {
	f.Add((&CancelRequest{Binary: "ab01", Task: wire.TaskID{Hi: 1, Lo: 2}}).AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeCancelRequest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if again, err := DecodeCancelRequest(r.AppendBinary(nil)); err != nil || again != r {
			t.Fatalf("a decoded cancel does not round-trip: %+v, %v", again, err)
		}
	})
}

func TestEarlyCancels(t *testing.T) {
	var e EarlyCancels
	a, b, c := wire.TaskID{Lo: 1}, wire.TaskID{Lo: 2}, wire.TaskID{Lo: 3}
	t0 := time.Unix(1000, 0)
	if e.Take(a) {
		t.Fatal("an empty set took a cancel")
	}
	e.Add(a, t0)
	if !e.Take(a) || e.Take(a) {
		t.Fatal("a cancel is taken once")
	}
	e.Add(a, t0)
	e.Add(b, t0.Add(EarlyCancelKeep/2))
	e.Add(b, t0.Add(EarlyCancelKeep/2+1)) // again, later
	e.Add(c, t0.Add(EarlyCancelKeep+time.Second))
	if e.Take(a) {
		t.Fatal("a cancel kept past EarlyCancelKeep was taken")
	}
	if !e.Take(b) || !e.Take(c) {
		t.Fatal("cancels within EarlyCancelKeep were forgotten")
	}
	e.Add(b, t0.Add(2*EarlyCancelKeep)) // forgets b's earlier entries, not this one
	e.Add(c, t0.Add(2*EarlyCancelKeep+2*time.Second))
	if !e.Take(b) {
		t.Fatal("an old entry of a task forgot its newer cancel")
	}
	if len(e.order) > 2 {
		t.Fatalf("%d entries kept, want at most 2", len(e.order))
	}
}

// blockingExec runs every task until release is closed, and reports
// each cancel and release it gets.
type blockingExec struct {
	started chan struct{}
	release chan struct{}
	told    chan string
}

func (e *blockingExec) Execute(ctx context.Context, req *RunRequest) (RunReply, error) {
	e.started <- struct{}{}
	<-e.release
	return RunReply{}, nil
}
func (e *blockingExec) ReleaseLent(member string, _ []wire.ObjectID) { e.told <- "release " + member }
func (e *blockingExec) CancelRun(req *CancelRequest)                 { e.told <- "cancel " + req.Task.String() }

// A cancel or a release reaches a peer whose runs from this client fill
// every call slot of the connection (rpc.DefaultMaxPending): long runs
// do not hold up the short requests that end them.
func TestCancelPassesLongRuns(t *testing.T) {
	token := []byte("token")
	exec := &blockingExec{started: make(chan struct{}), release: make(chan struct{}), told: make(chan string, 2)}
	srv, err := NewServer(ServerConfig{Exec: exec, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	defer close(exec.release)
	cl := NewClient(ClientConfig{Token: token})
	defer cl.Close()
	for i := range rpc.DefaultMaxPending {
		go cl.Run(context.Background(), srv.Addr(), &RunRequest{Spec: node.TaskSpec{ID: wire.TaskID{Lo: uint64(i + 1)}, Name: []byte("f")}})
		<-exec.started
	}
	task := wire.TaskID{Hi: 9}
	cl.Cancel(srv.Addr(), &CancelRequest{Task: task})
	cl.Release(srv.Addr(), "m", []wire.ObjectID{{Task: task, Index: 1}})
	told := map[string]bool{}
	for range 2 {
		select {
		case got := <-exec.told:
			told[got] = true
		case <-time.After(tellTimeout / 2):
			t.Fatalf("only %v reached a peer busy with %d runs", told, rpc.DefaultMaxPending)
		}
	}
	if want := map[string]bool{"cancel " + task.String(): true, "release m": true}; !maps.Equal(told, want) {
		t.Fatalf("the peer was told %v, want %v", told, want)
	}
}

// runResult is what a Run returned.
type runResult struct {
	reply RunReply
	err   error
}

func runAsync(cl *Client, addr string, req *RunRequest) <-chan runResult {
	ch := make(chan runResult, 1)
	go func() {
		reply, err := cl.Run(context.Background(), addr, req)
		ch <- runResult{reply, err}
	}()
	return ch
}

func awaitRun(t *testing.T, ch <-chan runResult, what string) runResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(tellTimeout):
		t.Fatalf("%s: no answer within %v", what, tellTimeout)
	}
	return runResult{}
}

func taskRequest(i int, inline []byte) *RunRequest {
	return &RunRequest{Spec: node.TaskSpec{ID: wire.TaskID{Lo: uint64(i + 1)}, Name: []byte("f"), Args: []wire.Arg{{Data: inline}}}}
}

// A run the peer refuses for want of room (rpc.ErrOverloaded), or one
// whose request or reply is over a MaxFrame limit, fails alone: the peer
// is not taken for lost, and the runs in flight on the same connection
// go on.
func TestBusyOrOversizedRunFailsAlone(t *testing.T) {
	token := []byte("token")
	entered, release := make(chan struct{}), make(chan struct{})
	rs, err := rpc.NewServer(rpc.ServerConfig{Token: token, Concurrency: 2, MaxFrame: 4 << 10,
		Handler: func(c *rpc.Ctx, m rpc.Method, req, resp []byte) ([]byte, error) {
			r, err := DecodeRunRequest(req)
			if err != nil {
				return resp, err
			}
			if string(r.Spec.Args[0].Data) == "big reply" {
				return (&RunReply{Data: make([]byte, 8<<10)}).AppendBinary(resp), nil
			}
			entered <- struct{}{}
			select {
			case <-release:
			case <-c.Done():
			}
			return (&RunReply{Data: []byte("done")}).AppendBinary(resp), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cl := NewClient(ClientConfig{Token: token})
	defer cl.Close()
	var held []<-chan runResult
	for i := range 2 {
		held = append(held, runAsync(cl, rs.Addr(), taskRequest(i, nil)))
		<-entered
	}
	_, err = cl.Run(context.Background(), rs.Addr(), taskRequest(2, nil))
	if !errors.Is(err, ErrPeerBusy) || errors.Is(err, ErrPeerLost) {
		t.Errorf("a run over the peer's Concurrency: %v, want ErrPeerBusy and not ErrPeerLost", err)
	}
	_, err = cl.Run(context.Background(), rs.Addr(), taskRequest(3, make([]byte, 8<<10)))
	if !errors.Is(err, rpc.ErrFrameTooLarge) || errors.Is(err, ErrPeerLost) || !strings.Contains(err.Error(), "4096-byte limit") {
		t.Errorf("a request over the peer's MaxFrame: %v, want rpc.ErrFrameTooLarge naming the limit, not ErrPeerLost", err)
	}
	close(release)
	for i, ch := range held {
		if r := awaitRun(t, ch, "a held run"); r.err != nil || string(r.reply.Data) != "done" {
			t.Errorf("run %d in flight beside the refused ones: %q, %v", i, r.reply.Data, r.err)
		}
	}
	small := NewClient(ClientConfig{Token: token, MaxFrame: 4 << 10})
	defer small.Close()
	_, err = small.Run(context.Background(), rs.Addr(), taskRequest(4, []byte("big reply")))
	if !errors.Is(err, rpc.ErrFrameTooLarge) || errors.Is(err, ErrPeerLost) || !strings.Contains(err.Error(), "-byte limit") {
		t.Errorf("a reply over the caller's MaxFrame: %v, want rpc.ErrFrameTooLarge naming the sizes, not ErrPeerLost", err)
	}
}

// A peer whose runs fill ServerConfig.MaxRuns refuses one more at once
// (ErrPeerBusy, alive), while a cancel still reaches its executor and
// the runs in flight finish.
func TestShortRequestsPassFullRuns(t *testing.T) {
	token := []byte("token")
	exec := &blockingExec{started: make(chan struct{}), release: make(chan struct{}), told: make(chan string, 1)}
	const maxRuns = 4
	srv, err := NewServer(ServerConfig{Exec: exec, Token: token, MaxRuns: maxRuns})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var once sync.Once
	releaseAll := func() { once.Do(func() { close(exec.release) }) }
	defer releaseAll()
	cl := NewClient(ClientConfig{Token: token})
	defer cl.Close()
	var held []<-chan runResult
	for i := range maxRuns {
		held = append(held, runAsync(cl, srv.Addr(), taskRequest(i, nil)))
		<-exec.started
	}
	over := runAsync(cl, srv.Addr(), taskRequest(maxRuns, nil))
	select {
	case r := <-over:
		if !errors.Is(r.err, ErrPeerBusy) || errors.Is(r.err, ErrPeerLost) {
			t.Errorf("a run over MaxRuns: %v, want ErrPeerBusy and not ErrPeerLost", r.err)
		}
	case <-exec.started:
		t.Fatalf("a run over MaxRuns %d reached the executor", maxRuns)
	case <-time.After(tellTimeout):
		t.Fatalf("a run over MaxRuns %d: no answer within %v", maxRuns, tellTimeout)
	}
	task := wire.TaskID{Hi: 9}
	cl.Cancel(srv.Addr(), &CancelRequest{Task: task})
	select {
	case got := <-exec.told:
		if got != "cancel "+task.String() {
			t.Fatalf("told %q", got)
		}
	case <-time.After(tellTimeout):
		t.Fatal("a cancel did not reach a peer whose runs are full")
	}
	releaseAll()
	for i, ch := range held {
		if r := awaitRun(t, ch, "a held run"); r.err != nil {
			t.Errorf("run %d in flight: %v", i, r.err)
		}
	}
}

// clientConns lists the addresses cl holds connections to.
func clientConns(cl *Client) []connKey {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return slices.Collect(maps.Keys(cl.conns))
}

// A peer a run found lost, and which then leaves the cluster, keeps no
// connection: its short one (releases, cancels, loads) is closed too,
// rather than redialled for ever.
func TestLostPeerThatLeavesIsForgotten(t *testing.T) {
	token := []byte("token")
	st, err := store.New(store.Config{Capacity: 1 << 20, SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	exec := &blockingExec{started: make(chan struct{}), release: make(chan struct{}), told: make(chan string, 1)}
	close(exec.release)
	srv, err := NewServer(ServerConfig{Exec: exec, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	a := srv.Addr()
	n, err := NewNetwork(NetworkConfig{Self: Holder{Peer: "127.0.0.1:1"}, Token: token, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Update([]Node{{Peer: a, Total: map[string]float64{"CPU": 1}}}); err != nil {
		t.Fatal(err)
	}
	n.Release(a, []wire.ObjectID{{Index: 1}})
	select {
	case <-exec.told: // the short connection is up
	case <-time.After(tellTimeout):
		t.Fatal("the release never came")
	}
	srv.Close()
	if _, err := n.Run(context.Background(), a, taskRequest(0, nil)); !errors.Is(err, ErrPeerLost) {
		t.Fatalf("a run at a closed peer: %v, want ErrPeerLost", err)
	}
	left, err := n.Update(nil)
	if err != nil || !slices.Equal(left, []string{a}) {
		t.Fatalf("Update(nil): left %v, %v; want [%s]", left, err, a)
	}
	for _, key := range clientConns(n.client) {
		if key.addr == a {
			t.Errorf("a connection to %s, which left, remains (short: %v)", a, key.short)
		}
	}
}

// A cancel is kept for a run that comes long after it (one that waited
// behind hours-long runs for a call slot at its caller), while other
// cancels come and go; the cancels kept are bounded in number.
func TestEarlyCancelWaitsForALateRun(t *testing.T) {
	var e EarlyCancels
	t0 := time.Unix(1000, 0)
	late := wire.TaskID{Hi: 1}
	e.Add(late, t0)
	for i := range 10000 { // cancels that find their runs, each taken at once
		task := wire.TaskID{Lo: uint64(i + 1)}
		e.Add(task, t0.Add(time.Duration(i)*time.Second))
		if !e.Take(task) {
			t.Fatalf("cancel %d was not kept", i)
		}
	}
	if !e.Take(late) {
		t.Fatal("a cancel whose run came 3 hours later, after other cancels, was forgotten: the run went ahead")
	}
	if len(e.order) > 2*len(e.at)+16 {
		t.Fatalf("%d entries for %d cancels kept", len(e.order), len(e.at))
	}
	for i := range MaxEarlyCancels + 1 {
		e.Add(wire.TaskID{Hi: 2, Lo: uint64(i)}, t0)
	}
	if len(e.at) != MaxEarlyCancels || e.Take(wire.TaskID{Hi: 2, Lo: 0}) || !e.Take(wire.TaskID{Hi: 2, Lo: 1}) {
		t.Fatalf("%d cancels kept, want MaxEarlyCancels (%d), the oldest forgotten", len(e.at), MaxEarlyCancels)
	}
}

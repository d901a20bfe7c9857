package gcs

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRecordsRoundTrip(t *testing.T) {
	var data []byte
	data = appendMember(data, AppendObjectLocation(nil, ObjectLocation{Node: "n1", Size: 1 << 20}))
	data = appendMember(data, AppendObjectLocation(nil, ObjectLocation{Node: "n2", Size: 7}))
	ls, err := ObjectLocations(data)
	if err != nil || len(ls) != 2 || ls[0] != (ObjectLocation{"n1", 1 << 20}) || ls[1].Node != "n2" {
		t.Fatalf("%+v %v", ls, err)
	}
	n, err := DecodeNodeInfo(AppendNodeInfo(nil, NodeInfo{Addr: "a", State: NodeDead, Resources: []byte("CPU=2")}))
	if err != nil || n.State != NodeDead || n.Addr != "a" || string(n.Resources) != "CPU=2" {
		t.Fatalf("%+v %v", n, err)
	}
	a, err := DecodeActorInfo(AppendActorInfo(nil, ActorInfo{Node: "n3", State: ActorRestarting, Restarts: 2}))
	if err != nil || a != (ActorInfo{"n3", ActorRestarting, 2}) {
		t.Fatalf("%+v %v", a, err)
	}
	for _, bad := range [][]byte{nil, {9, 0, 0}, {1, 5, 'a'}} {
		if _, err := DecodeNodeInfo(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("node info %x: %v", bad, err)
		}
		if _, err := DecodeActorInfo(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("actor info %x: %v", bad, err)
		}
	}
}

func TestLiveness(t *testing.T) {
	l := NewLiveness(time.Second)
	t0 := time.Unix(100, 0)
	l.Beat("a", t0)
	l.Beat("b", t0)
	l.Beat("a", t0.Add(900*time.Millisecond))
	if dead := l.Expire(t0.Add(1500 * time.Millisecond)); len(dead) != 1 || dead[0] != "b" {
		t.Fatalf("dead %v, want [b]", dead)
	}
	if dead := l.Expire(t0.Add(1600 * time.Millisecond)); len(dead) != 0 {
		t.Fatalf("b declared dead twice: %v", dead)
	}
	if !l.Beat("b", t0.Add(2*time.Second)) {
		t.Fatal("b's return not reported")
	}
}

// A node manager's heartbeats stop; a subscriber to Nodes sees it die.
func TestWatchNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := openStore(t, Config{})
	deaths, _ := st.Subscribe(ctx, Nodes, nil)
	defer deaths.Close()
	w, err := WatchNodes(ctx, st, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	st.Put(ctx, Nodes, []byte("node-1"), AppendNodeInfo(nil, NodeInfo{Addr: "10.0.0.1", State: NodeAlive}))
	st.Put(ctx, Heartbeats, []byte("node-1"), []byte("load=0"))
	for {
		n, err := deaths.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		info, err := DecodeNodeInfo(n.Value)
		if err != nil {
			t.Fatal(err)
		}
		if info.State == NodeDead {
			if info.Addr != "10.0.0.1" {
				t.Fatalf("death lost the address: %+v", info)
			}
			break
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("watcher: %v", err)
	}
}

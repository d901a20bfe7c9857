package cluster

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
	"manta/gcs/server"
)

func openGCS(t *testing.T) *gcs.Store {
	t.Helper()
	st, err := gcs.Open(gcs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestJoinListLeave(t *testing.T) {
	ctx := context.Background()
	st := openGCS(t)
	if _, err := Join(ctx, Config{GCS: st}); !errors.Is(err, ErrNoHead) {
		t.Fatalf("join before the head: %v", err)
	}
	if err := InitHead(ctx, st); err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClock()
	load := func() Load {
		return Load{Free: map[string]float64{"CPU": 0.5}, Queued: 7, Running: 2, StoreUsed: 1 << 20, StoreCapacity: 1 << 30,
			Demands: []Demand{{Shape: "CPU=1,GPU=1", Count: 3, Reason: DemandNoNode}}}
	}
	a, err := Join(ctx, Config{GCS: st, Addr: "127.0.0.1:7001", Resources: map[string]float64{"CPU": 2, "memory": 1 << 30}, Load: load, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Join(ctx, Config{GCS: st, Addr: "127.0.0.1:7002", Resources: map[string]float64{"CPU": 0.5}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	nodes, err := List(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].ID != a.ID() || nodes[1].ID != b.ID() {
		t.Fatalf("nodes %+v", nodes)
	}
	if n := nodes[0]; n.State != gcs.NodeAlive || n.Addr != "127.0.0.1:7001" || !maps.Equal(n.Resources, map[string]float64{"CPU": 2, "memory": 1 << 30}) {
		t.Fatalf("node a: %+v", n)
	}
	if l := nodes[0].Load; l.Queued != 7 || l.Running != 2 || l.StoreUsed != 1<<20 || l.StoreCapacity != 1<<30 || l.Free["CPU"] != 0.5 || !l.At.Equal(clock.Now()) ||
		len(l.Demands) != 1 || l.Demands[0] != (Demand{Shape: "CPU=1,GPU=1", Count: 3, Reason: DemandNoNode}) {
		t.Fatalf("node a's load: %+v", l)
	}
	if n := nodes[1]; n.State != gcs.NodeDead || n.Resources["CPU"] != 0.5 {
		t.Fatalf("node b after Leave: %+v", n)
	}
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
}

// A node whose heartbeats stop (its process was killed) is marked dead by
// the head's watcher; one that beats stays alive.
func TestSilentNodeIsMarkedDead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := openGCS(t)
	if err := InitHead(ctx, st); err != nil {
		t.Fatal(err)
	}
	watch := clockwork.NewFakeClock()
	w, err := server.WatchNodes(ctx, server.NodeWatcherConfig{GCS: st, Timeout: time.Second, Clock: watch})
	if err != nil {
		t.Fatal(err)
	}
	go w.Run(ctx)
	changes, err := st.Subscribe(ctx, gcs.Nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer changes.Close()
	// The silent node's clock never moves, so it never beats again.
	silent, err := Join(ctx, Config{GCS: st, Clock: clockwork.NewFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Leave(ctx)
	if err := watch.BlockUntilContext(ctx, 1); err != nil { // the watcher times the node's death
		t.Fatal(err)
	}
	watch.Advance(time.Second)
	for {
		n, err := changes.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		info, err := gcs.DecodeNodeInfo(n.Value)
		if err != nil {
			t.Fatal(err)
		}
		if string(n.Key) == string(silent.ID()) && info.State == gcs.NodeDead {
			break
		}
	}
	nodes, err := List(ctx, st)
	if err != nil || len(nodes) != 1 || nodes[0].State != gcs.NodeDead {
		t.Fatalf("after the timeout: %+v, %v", nodes, err)
	}
}

func TestJoinRefusesAnotherVersion(t *testing.T) {
	ctx := context.Background()
	st := openGCS(t)
	if err := st.Put(ctx, gcs.KV, versionKey, []byte("manta-cluster/0")); err != nil {
		t.Fatal(err)
	}
	if _, err := Join(ctx, Config{GCS: st}); !errors.Is(err, ErrVersion) {
		t.Fatalf("join of another version: %v", err)
	}
	if err := InitHead(ctx, st); !errors.Is(err, ErrVersion) {
		t.Fatalf("a head of another version: %v", err)
	}
	if nodes, err := List(ctx, st); err != nil || len(nodes) != 0 {
		t.Fatalf("a refused node is listed: %+v, %v", nodes, err)
	}
}

func FuzzDecodeResources(f *testing.F) {
	f.Add([]byte("CPU=2,memory=1073741824"))
	f.Add([]byte("GPU=0.5"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResources(b)
		if err != nil {
			return
		}
		again, err := DecodeResources(AppendResources(nil, r))
		if err != nil || !maps.Equal(r, again) {
			t.Fatalf("%q decodes to %v, which round-trips to %v, %v", b, r, again, err)
		}
	})
}

func FuzzDecodeLoad(f *testing.F) {
	f.Add([]byte("at=5 queued=3 running=1 store=10/20 free=CPU=1,GPU=0.5"))
	f.Add([]byte("at=1 queued=0 running=0 store=0/0"))
	f.Add([]byte("queued=2 running=0 lent=4 store=0/0 room=CPU=1 demand=CPU=1,GPU=1*2*nonode demand=CPU=2*1*busy"))
	f.Add([]byte("queued=0 running=1 store=0/0 gpu=0*1073741824*17179869184*40 gpu=1*0*17179869184*0*lost"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLoad(b)
		if err != nil {
			return
		}
		again, err := DecodeLoad(l.Append(nil))
		if err != nil || !again.At.Equal(l.At) || again.Queued != l.Queued || again.Running != l.Running || again.Lent != l.Lent ||
			again.StoreUsed != l.StoreUsed || again.StoreCapacity != l.StoreCapacity || !maps.Equal(again.Free, l.Free) || !maps.Equal(again.Room, l.Room) ||
			!slices.Equal(again.Demands, l.Demands) || !slices.Equal(again.GPUs, l.GPUs) {
			t.Fatalf("%q decodes to %+v, which round-trips to %+v, %v", b, l, again, err)
		}
	})
}

func TestLoadCarriesGPUs(t *testing.T) {
	in := Load{Queued: 1, GPUs: []GPULoad{{Index: 0, MemoryUsed: 1 << 30, MemoryTotal: 16 << 30, Utilization: 40}, {Index: 1, MemoryTotal: 16 << 30, Lost: true}}}
	out, err := DecodeLoad(in.Append(nil))
	if err != nil || !slices.Equal(out.GPUs, in.GPUs) {
		t.Fatalf("GPUs %+v came back as %+v, %v", in.GPUs, out.GPUs, err)
	}
	for _, bad := range []string{"gpu=0*1*2", "gpu=0*1*2*101", "gpu=-1*1*2*3", "gpu=0*1*2*3*gone"} {
		if _, err := DecodeLoad([]byte("queued=0 running=0 store=0/0 " + bad)); err == nil {
			t.Errorf("%s read", bad)
		}
	}
}

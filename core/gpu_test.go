package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"manta/gpu"
)

// seenByTask is what a call sees of its GPUs, from inside its worker.
type seenByTask struct {
	Devices []int  // TaskInfo.Devices
	Visible string // CUDA_VISIBLE_DEVICES
	NVIDIA  string // NVIDIA_VISIBLE_DEVICES
	CPUs    []int  // the CPUs its thread may run on
	PID     int
}

func lookFromTask(ctx context.Context, hold time.Duration) (seenByTask, error) {
	time.Sleep(hold) // overlaps with the other calls of a test, so each gets a lease of its own
	info, _ := TaskFromContext(ctx)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpus, err := gpu.ThisThreadCPUs()
	return seenByTask{Devices: info.Devices, Visible: os.Getenv("CUDA_VISIBLE_DEVICES"), NVIDIA: os.Getenv("NVIDIA_VISIBLE_DEVICES"), CPUs: cpus, PID: os.Getpid()}, err
}

var (
	oneGPU  = Register2("test.oneGPU", lookFromTask, WithResources(map[string]float64{"CPU": 0, "GPU": 1}))
	halfGPU = Register2("test.halfGPU", lookFromTask, WithResources(map[string]float64{"CPU": 0, "GPU": 0.5}))
	noGPU   = Register2("test.noGPU", lookFromTask, WithResources(map[string]float64{"CPU": 0}))
	twoGPUs = Register2("test.twoGPUs", lookFromTask, WithResources(map[string]float64{"GPU": 2}))
	tooMany = Register2("test.threeGPUs", lookFromTask, WithResources(map[string]float64{"GPU": 3}))
	oneHalf = Register2("test.oneAndAHalfGPUs", lookFromTask, WithResources(map[string]float64{"GPU": 1.5}))
)

// GPUs of made-up devices, one local to each CPU: a call gets devices by
// index, CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES name exactly
// them, its worker's threads run on their CPUs only, fractions pack onto
// one device, and a worker reused without GPUs has them taken away.
func TestGPUAssignmentOnFakeDevices(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs: each made-up device is local to one")
	}
	devs := gpu.Fake(gpu.Device{Name: "fake 0", CPUs: []int{0}}, gpu.Device{Name: "fake 1", CPUs: []int{1}})
	c := startCluster(t, Config{Resources: map[string]float64{"CPU": 2}, GPUs: devs, MaxWorkers: 4})
	ctx := ctxT(t)
	if got := c.Stats().Sched.Available.Get("GPU"); got != 2 {
		t.Fatalf("the node has GPU=%v free, want 2 from its devices", got)
	}

	whole, err := GetAll(ctx, []Ref[seenByTask]{oneGPU.Remote(ctx, 300*time.Millisecond), oneGPU.Remote(ctx, 300*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, s := range whole {
		if len(s.Devices) != 1 {
			t.Fatalf("a call for 1 GPU got devices %v", s.Devices)
		}
		d := s.Devices[0]
		seen[d] = true
		if want := fmt.Sprint(d); s.Visible != want || s.NVIDIA != want || !slices.Equal(s.CPUs, []int{d}) {
			t.Errorf("a call on GPU %d sees CUDA_VISIBLE_DEVICES=%q NVIDIA_VISIBLE_DEVICES=%q, CPUs %v; want %q and [%d]", d, s.Visible, s.NVIDIA, s.CPUs, want, d)
		}
	}
	if len(seen) != 2 {
		t.Errorf("two calls for 1 GPU each, at once, got devices %v and %v", whole[0].Devices, whole[1].Devices)
	}

	halves, err := GetAll(ctx, []Ref[seenByTask]{halfGPU.Remote(ctx, 300*time.Millisecond), halfGPU.Remote(ctx, 300*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(halves[0].Devices, halves[1].Devices) || len(halves[0].Devices) != 1 || halves[0].PID == halves[1].PID {
		t.Errorf("two halves at once: devices %v and %v, in processes %d and %d; want one device, shared by two workers",
			halves[0].Devices, halves[1].Devices, halves[0].PID, halves[1].PID)
	}

	both, err := twoGPUs.Remote(ctx, time.Duration(0)).Get(ctx)
	if err != nil || !slices.Equal(both.Devices, []int{0, 1}) || both.Visible != "0,1" || !slices.Equal(both.CPUs, []int{0, 1}) {
		t.Errorf("a call for 2 GPUs: %+v, %v", both, err)
	}

	// Every worker that ran a GPU call, reused for a call without GPUs:
	// it sees none, and all its CPUs again.
	var plain []Ref[seenByTask]
	for range 6 {
		plain = append(plain, noGPU.Remote(ctx, 50*time.Millisecond))
	}
	got, err := GetAll(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		if s.Devices != nil || s.Visible != "" || len(s.CPUs) < 2 {
			t.Errorf("a call without GPUs in process %d sees devices %v, CUDA_VISIBLE_DEVICES=%q, CPUs %v", s.PID, s.Devices, s.Visible, s.CPUs)
		}
	}

	for _, r := range []Ref[seenByTask]{tooMany.Remote(ctx, time.Duration(0)), oneHalf.Remote(ctx, time.Duration(0))} {
		if _, err := r.Get(ctx); !errors.Is(err, ErrInfeasible) {
			t.Errorf("an impossible GPU request: %v; want ErrInfeasible at once", err)
		} else {
			t.Log(err)
		}
	}
}

// sixtyFour asks for more GPUs than any machine here has.
var sixtyFour = Register2("test.sixtyFourGPUs", lookFromTask, WithResources(map[string]float64{"GPU": 64}))

// On a machine with NVIDIA GPUs (docs/device/check.sh runs this on the
// device machine; CI has none and skips), a node left to find its own
// finds them through NVML, offers one GPU each, reads their memory, and
// runs a call for one GPU with CUDA_VISIBLE_DEVICES naming it and its
// worker bound to the device's CPUs; a call for more than there are fails at
// once.
func TestGPUAssignmentOnRealDevices(t *testing.T) {
	src, err := gpu.Discover()
	if err != nil {
		t.Skipf("no GPU here: %v", err)
	}
	devs := src.Devices()
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		t.Logf("GPU %d: %s %s, %d MiB, CPUs %v, NUMA node %d", d.Index, d.Name, d.UUID, d.MemoryTotal>>20, d.CPUs, d.NUMANode)
	}
	c := startCluster(t, Config{Resources: map[string]float64{"CPU": 2}})
	ctx := ctxT(t)
	if got := c.Stats().Sched.Available.Get("GPU"); got != float64(len(devs)) {
		t.Fatalf("the node offers GPU=%v, want %d, one for each device NVML lists", got, len(devs))
	}
	read := c.lastGPUs()
	if len(read) != len(devs) {
		t.Fatalf("the node read %d GPUs' state, want %d", len(read), len(devs))
	}
	for _, g := range read {
		if g.Lost || g.MemoryTotal == 0 || g.MemoryUsed > g.MemoryTotal || g.Utilization < 0 || g.Utilization > 100 {
			t.Errorf("GPU %d's reading: %+v", g.Index, g)
		}
	}
	s, err := oneGPU.Remote(ctx, time.Duration(0)).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Devices) != 1 || s.Devices[0] < 0 || s.Devices[0] >= len(devs) {
		t.Fatalf("a call for 1 GPU got devices %v", s.Devices)
	}
	d := devs[s.Devices[0]]
	if want := fmt.Sprint(d.Index); s.Visible != want || s.NVIDIA != want {
		t.Errorf("a call on GPU %d sees CUDA_VISIBLE_DEVICES=%q NVIDIA_VISIBLE_DEVICES=%q, want %q", d.Index, s.Visible, s.NVIDIA, want)
	}
	if len(d.CPUs) > 0 && !slices.Equal(s.CPUs, d.CPUs) {
		t.Errorf("a call on GPU %d runs on CPUs %v, want the device's %v", d.Index, s.CPUs, d.CPUs)
	}
	t.Logf("a call for 1 GPU: %+v", s)
	if _, err := sixtyFour.Remote(ctx, time.Duration(0)).Get(ctx); !errors.Is(err, ErrInfeasible) {
		t.Errorf("a call for 64 GPUs on a node of %d: %v; want ErrInfeasible", len(devs), err)
	}
}

// A node told GPU=2 without devices (no NVML here) still hands out
// device indexes, with nothing to bind to.
func TestGPUResourceWithoutDevices(t *testing.T) {
	startCluster(t, Config{Resources: map[string]float64{"CPU": 2, "GPU": 2}, GPUs: gpu.Fake()})
	ctx := ctxT(t)
	s, err := twoGPUs.Remote(ctx, time.Duration(0)).Get(ctx)
	if err != nil || !slices.Equal(s.Devices, []int{0, 1}) || s.Visible != "0,1" {
		t.Fatalf("2 GPUs given by hand: %+v, %v", s, err)
	}
}

// startGate lets a test wait until a call has started: the call calls
// Started, the test AwaitStarted.
type startGate struct{ started chan struct{} }

var (
	gateOfStarts  = RegisterActor0("test.StartGate", func() (*startGate, error) { return &startGate{started: make(chan struct{})}, nil }, WithMaxConcurrency(2))
	gateStarted   = RegisterMethod0(gateOfStarts, "Started", func(g *startGate) (int, error) { close(g.started); return 0, nil })
	gateAwaitCall = RegisterMethod0(gateOfStarts, "AwaitStarted", func(g *startGate) (int, error) { <-g.started; return 0, nil })

	// holdGPU holds a GPU until its worker is ended, once it told gate.
	holdGPU = Register1("test.holdGPU", func(gate Actor[startGate]) (int, error) {
		if _, err := gateStarted.Remote(gate).Get(context.Background()); err != nil {
			return 0, err
		}
		time.Sleep(time.Minute)
		return 0, nil
	}, WithResources(map[string]float64{"CPU": 0, "GPU": 1}))
)

// A GPU lost mid-run: the call on it fails with ErrDeviceLost (its
// worker ended with it), calls that no device left can serve fail at once
// with ErrInfeasible, queued or new, and calls without GPUs go on.
func TestGPULostMidRun(t *testing.T) {
	devs := gpu.Fake(gpu.Device{Name: "fake 0"})
	c := startCluster(t, Config{Resources: map[string]float64{"CPU": 2}, GPUs: devs})
	ctx := ctxT(t)
	gate := gateOfStarts.Remote()
	running := holdGPU.Remote(gate)
	queued := halfGPU.Remote(ctx, time.Duration(0)) // waits for the device
	if _, err := gateAwaitCall.Remote(gate).Get(ctx); err != nil {
		t.Fatal(err)
	}
	devs.Lose(0)
	if _, err := running.Get(ctx); !errors.Is(err, ErrDeviceLost) || !strings.Contains(err.Error(), "fell off the bus") {
		t.Fatalf("the call on the lost GPU: %v; want ErrDeviceLost, with why", err)
	} else {
		t.Log(err)
	}
	// The reading that found it lost is what heartbeats and /metrics show.
	if g := c.lastGPUs(); len(g) != 1 || !g[0].Lost || g[0].Name != "fake 0" {
		t.Errorf("the node's last reading of its GPUs: %+v; want device 0 lost", g)
	}
	for what, r := range map[string]Ref[seenByTask]{"queued": queued, "new": halfGPU.Remote(ctx, time.Duration(0))} {
		if _, err := r.Get(ctx); !errors.Is(err, ErrInfeasible) {
			t.Errorf("a %s call for half a GPU after the node's only one was lost: %v; want ErrInfeasible", what, err)
		}
	}
	if s, err := noGPU.Remote(ctx, time.Duration(0)).Get(ctx); err != nil || s.Devices != nil {
		t.Errorf("a call without GPUs after the loss: %+v, %v", s, err)
	}
}

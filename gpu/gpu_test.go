package gpu

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"testing"
)

func TestFakeSource(t *testing.T) {
	f := Fake(Device{Index: 7, Name: "fake", MemoryTotal: 1 << 30, CPUs: []int{0}}, Device{Name: "fake", CPUs: []int{1}})
	devs := f.Devices()
	if len(devs) != 2 || devs[0].Index != 0 || devs[1].Index != 1 || !slices.Equal(devs[1].CPUs, []int{1}) {
		t.Fatalf("devices: %+v", devs)
	}
	devs[0].CPUs[0] = 5 // the caller's copy
	if f.Devices()[0].CPUs[0] != 0 {
		t.Fatal("Devices shares its slices with the caller")
	}
	f.SetStatus(1, Status{MemoryUsed: 100, Utilization: 40})
	if s := f.Status(1); s.MemoryUsed != 100 || s.Utilization != 40 || s.Err != nil {
		t.Fatalf("status: %+v", s)
	}
	f.Lose(0)
	if s := f.Status(0); !errors.Is(s.Err, ErrLost) {
		t.Fatalf("a lost device: %+v", s)
	}
	if s := f.Status(2); s.Err == nil {
		t.Fatal("a device that does not exist has a status")
	}
}

func TestCPUsRoundTrip(t *testing.T) {
	devs := []Device{{CPUs: []int{0, 1, 2}}, {}, {CPUs: []int{63, 64}}}
	s := FormatCPUs(devs)
	if s != "0,1,2;;63,64" {
		t.Fatalf("FormatCPUs = %q", s)
	}
	got, err := ParseCPUs(s)
	if err != nil || len(got) != 3 || !slices.Equal(got[0], []int{0, 1, 2}) || got[1] != nil || !slices.Equal(got[2], []int{63, 64}) {
		t.Fatalf("ParseCPUs = %v, %v", got, err)
	}
	for _, bad := range []string{"a", "1,,2", "-1", "99999"} {
		if _, err := ParseCPUs(bad); err == nil {
			t.Errorf("ParseCPUs(%q) took it", bad)
		}
	}
}

// The node passes the CPUs of its devices to workers in the
// environment: whatever it holds, ParseCPUs returns CPU sets or an error.
func FuzzParseCPUs(f *testing.F) {
	f.Add("0,1,2;;63,64")
	f.Add(";")
	f.Fuzz(func(t *testing.T, s string) {
		devs, err := ParseCPUs(s)
		if err != nil {
			return
		}
		for _, cpus := range devs {
			for _, c := range cpus {
				if c < 0 || c >= maxCPU {
					t.Fatalf("CPU %d from %q", c, s)
				}
			}
		}
	})
}

// Without NVML's library (this machine, CI) Discover says why, and the
// process lives: no NVML call follows a failed start.
func TestDiscoverWithoutNVML(t *testing.T) {
	src, err := Discover()
	if err != nil {
		t.Logf("no GPUs here: %v", err)
		return
	}
	defer src.Close()
	for _, d := range src.Devices() {
		t.Logf("GPU %d: %s %s, %d MiB, CPUs %v, NUMA node %d; %+v", d.Index, d.Name, d.UUID, d.MemoryTotal>>20, d.CPUs, d.NUMANode, src.Status(d.Index))
	}
}

// Pinning to a device binds every thread to its CPUs and names it in
// CUDA_VISIBLE_DEVICES; no devices hide every GPU and give the CPUs back.
func TestPinner(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	t.Setenv(EnvCPUs, FormatCPUs([]Device{{CPUs: []int{0}}, {CPUs: []int{1}}}))
	t.Setenv("CUDA_VISIBLE_DEVICES", "")
	t.Setenv("NVIDIA_VISIBLE_DEVICES", "")
	p, err := NewPinner()
	if err != nil {
		t.Fatal(err)
	}
	initial, err := ThisThreadCPUs()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Pin(nil) // the test process's other tests get their CPUs back
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := p.Pin([]int{1}); err != nil {
		t.Fatal(err)
	}
	if cpus, _ := ThisThreadCPUs(); !slices.Equal(cpus, []int{1}) {
		t.Errorf("pinned to device 1: CPUs %v, want [1]", cpus)
	}
	if v := os.Getenv("CUDA_VISIBLE_DEVICES"); v != "1" || os.Getenv("NVIDIA_VISIBLE_DEVICES") != "1" || !slices.Equal(p.Devices(), []int{1}) {
		t.Errorf("CUDA_VISIBLE_DEVICES=%q, devices %v", v, p.Devices())
	}
	if err := p.Pin([]int{0, 1}); err != nil {
		t.Fatal(err)
	}
	if cpus, _ := ThisThreadCPUs(); !slices.Equal(cpus, []int{0, 1}) || os.Getenv("CUDA_VISIBLE_DEVICES") != "0,1" {
		t.Errorf("pinned to devices 0 and 1: CPUs %v, CUDA_VISIBLE_DEVICES=%q", cpus, os.Getenv("CUDA_VISIBLE_DEVICES"))
	}
	if err := p.Pin(nil); err != nil {
		t.Fatal(err)
	}
	if cpus, _ := ThisThreadCPUs(); !slices.Equal(cpus, initial) || os.Getenv("CUDA_VISIBLE_DEVICES") != "" || p.Devices() != nil {
		t.Errorf("unpinned: CPUs %v (want %v), CUDA_VISIBLE_DEVICES=%q", cpus, initial, os.Getenv("CUDA_VISIBLE_DEVICES"))
	}
}

package gpu

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Pinner pins a worker process to the GPUs it is given: their indexes in
// CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES, and every thread bound
// to the CPUs local to them. Make one per process with NewPinner, before
// anything else changes the process's CPUs.
type Pinner struct {
	mu      sync.Mutex
	local   [][]int     // the CPUs local to each device, by index
	initial unix.CPUSet // the process's CPUs at start, given back with no devices
	current []int       // the devices last pinned
}

// NewPinner reads the CPUs local to each device from EnvCPUs (empty:
// none known) and the CPUs this process may run on now.
func NewPinner() (*Pinner, error) {
	local, err := ParseCPUs(os.Getenv(EnvCPUs))
	if err != nil {
		return nil, err
	}
	p := &Pinner{local: local}
	if err := unix.SchedGetaffinity(0, &p.initial); err != nil {
		return nil, fmt.Errorf("gpu: reading this process's CPUs: %w", err)
	}
	return p, nil
}

// Devices returns the devices last pinned (nil for none); the slice is
// the caller's.
func (p *Pinner) Devices() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.current) == 0 {
		return nil
	}
	return append([]int(nil), p.current...)
}

// Pin makes devs (indexes on the node) the process's GPUs. With devices
// whose local CPUs are known, every thread is bound to the union of
// them; with none, every GPU is hidden and the initial CPUs come back.
func (p *Pinner) Pin(devs []int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, len(devs))
	for i, d := range devs {
		names[i] = strconv.Itoa(d)
	}
	visible := strings.Join(names, ",")
	for _, v := range []string{"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"} {
		if err := os.Setenv(v, visible); err != nil {
			return fmt.Errorf("gpu: %w", err)
		}
	}
	p.current = append(p.current[:0], devs...)
	set, known := p.initial, false
	if len(devs) > 0 {
		var local unix.CPUSet
		for _, d := range devs {
			if d >= 0 && d < len(p.local) {
				for _, c := range p.local[d] {
					local.Set(c)
					known = true
				}
			}
		}
		if known {
			set = local
		}
	}
	return setThreads(&set)
}

// setThreads binds every thread of the process to set: affinity is a
// thread's, and threads made later inherit their maker's.
func setThreads(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("gpu: listing this process's threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		// A thread that exited since the listing is no error.
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("gpu: binding thread %d: %w", tid, err)
		}
	}
	return nil
}

// ThisThreadCPUs lists the CPUs the calling thread may run on.
func ThisThreadCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for c := range maxCPU {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

package gpu

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Device is one GPU of the node, as discovered.
type Device struct {
	// Index is the device's number on the node, as CUDA_VISIBLE_DEVICES
	// names it, from 0.
	Index       int
	UUID        string
	Name        string
	MemoryTotal uint64 // bytes
	// CPUs are the CPUs local to the device (its NUMA node's): a worker
	// using it is bound to them. Empty: unknown, and no binding.
	CPUs []int
	// NUMANode is the device's NUMA node, -1 when unknown.
	NUMANode int
}

// Status is a device's live state.
type Status struct {
	MemoryUsed  uint64 // bytes
	Utilization int    // percent of the last sample period the device was busy
	// Err is set when the device could not be read, as when it fell off
	// the bus (then errors.Is(Err, ErrLost)).
	Err error
}

// ErrLost is wrapped by the status error of a GPU that was lost or needs
// a reset: the tasks on it fail with an error wrapping it.
var ErrLost = errors.New("gpu: device lost")

// Source lists a node's GPUs and reads their state. Its methods are safe
// for concurrent use.
type Source interface {
	// Devices lists the devices, by index; the slice is the caller's.
	Devices() []Device
	// Status reads device index now.
	Status(index int) Status
	// Close releases the source (NVML's shutdown).
	Close() error
}

// FakeSource is a Source of made-up devices. Lose marks one lost.
type FakeSource struct {
	mu     sync.Mutex
	devs   []Device
	status []Status
}

// Fake returns a source of devs, renumbered by their order.
func Fake(devs ...Device) *FakeSource {
	f := &FakeSource{status: make([]Status, len(devs))}
	for i, d := range devs {
		d.Index = i
		d.CPUs = slices.Clone(d.CPUs)
		f.devs = append(f.devs, d)
	}
	return f
}

// Devices lists the devices.
func (f *FakeSource) Devices() []Device {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.devs)
	for i := range out {
		out[i].CPUs = slices.Clone(out[i].CPUs)
	}
	return out
}

// Status returns what SetStatus or Lose set for device index.
func (f *FakeSource) Status(index int) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	if index < 0 || index >= len(f.status) {
		return Status{Err: fmt.Errorf("gpu: no device %d", index)}
	}
	return f.status[index]
}

// SetStatus sets what Status returns for device index.
func (f *FakeSource) SetStatus(index int, s Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[index] = s
}

// Lose marks device index lost, as a GPU that fell off the bus.
func (f *FakeSource) Lose(index int) {
	f.SetStatus(index, Status{Err: fmt.Errorf("%w: device %d fell off the bus (fake)", ErrLost, index)})
}

// Close does nothing.
func (f *FakeSource) Close() error { return nil }

// EnvCPUs names the environment variable through which a node tells its
// workers the CPUs local to each of its GPUs (FormatCPUs).
const EnvCPUs = "MANTA_GPU_CPUS"

// FormatCPUs encodes the CPUs local to each device, by index, for
// EnvCPUs: "0,1,2;3,4" (a device with none is empty).
func FormatCPUs(devs []Device) string {
	var b strings.Builder
	for i, d := range devs {
		if i > 0 {
			b.WriteByte(';')
		}
		for j, c := range d.CPUs {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(c))
		}
	}
	return b.String()
}

// ParseCPUs decodes FormatCPUs's encoding: the CPUs of each device, by
// index.
func ParseCPUs(s string) ([][]int, error) {
	if s == "" {
		return nil, nil
	}
	var out [][]int
	for _, dev := range strings.Split(s, ";") {
		var cpus []int
		if dev != "" {
			for _, c := range strings.Split(dev, ",") {
				n, err := strconv.Atoi(c)
				if err != nil || n < 0 || n >= maxCPU {
					return nil, fmt.Errorf("gpu: bad CPU %q in %s=%q", c, EnvCPUs, s)
				}
				cpus = append(cpus, n)
			}
		}
		out = append(out, cpus)
	}
	return out, nil
}

// maxCPU bounds the CPU numbers a CPU set can hold.
const maxCPU = 1024

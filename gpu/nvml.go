//go:build linux && cgo

package gpu

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// nvmlSource reads the GPUs through NVML. Every NVML call other than
// Init is made only after Init succeeded: after a failed one, any call
// kills the process.
type nvmlSource struct {
	mu      sync.Mutex
	devs    []Device
	handles []nvml.Device
	closed  bool
}

// Discover finds this machine's GPUs through NVML. Without the NVML
// library or a driver it returns an error saying so (the node then has
// GPU=0); a machine with the driver and no GPU gives a source of none.
func Discover() (Source, error) {
	if ret := nvml.Init(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("gpu: NVML could not start: %s", ret.Error())
	}
	n, ret := nvml.DeviceGetCount()
	if ret != nvml.SUCCESS {
		nvml.Shutdown()
		return nil, fmt.Errorf("gpu: NVML counted no devices: %s", ret.Error())
	}
	s := &nvmlSource{}
	for i := range n {
		h, ret := nvml.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			nvml.Shutdown()
			return nil, fmt.Errorf("gpu: NVML device %d: %s", i, ret.Error())
		}
		d := Device{Index: i, NUMANode: -1}
		d.UUID, _ = h.GetUUID()
		d.Name, _ = h.GetName()
		if mem, ret := h.GetMemoryInfo(); ret == nvml.SUCCESS {
			d.MemoryTotal = mem.Total
		}
		if node, ret := h.GetNumaNodeId(); ret == nvml.SUCCESS {
			d.NUMANode = node
		}
		if words, ret := h.GetCpuAffinity(runtime.NumCPU()); ret == nvml.SUCCESS {
			d.CPUs = cpusOfMask(words)
		}
		s.devs = append(s.devs, d)
		s.handles = append(s.handles, h)
	}
	return s, nil
}

// cpusOfMask lists the CPUs set in a mask of 64-bit words.
func cpusOfMask(words []uint) []int {
	var cpus []int
	for w, bits := range words {
		for b := range 64 {
			if bits&(1<<b) != 0 && w*64+b < maxCPU {
				cpus = append(cpus, w*64+b)
			}
		}
	}
	return cpus
}

func (s *nvmlSource) Devices() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Device, len(s.devs))
	copy(out, s.devs)
	return out
}

func (s *nvmlSource) Status(index int) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || index < 0 || index >= len(s.handles) {
		return Status{Err: fmt.Errorf("gpu: no device %d", index)}
	}
	h := s.handles[index]
	var st Status
	mem, ret := h.GetMemoryInfo()
	if lost(ret) {
		return Status{Err: fmt.Errorf("%w: device %d: %s", ErrLost, index, ret.Error())}
	}
	if ret == nvml.SUCCESS {
		st.MemoryUsed = mem.Used
	}
	if u, ret := h.GetUtilizationRates(); ret == nvml.SUCCESS {
		st.Utilization = int(u.Gpu)
	}
	return st
}

// lost reports whether ret says the device is gone or must be reset.
func lost(ret nvml.Return) bool {
	return ret == nvml.ERROR_GPU_IS_LOST || ret == nvml.ERROR_RESET_REQUIRED
}

func (s *nvmlSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if ret := nvml.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("gpu: NVML shutdown: %s", ret.Error())
	}
	return nil
}

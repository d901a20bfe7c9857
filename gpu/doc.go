// Package gpu finds a node's GPUs and pins worker processes to them.
//
// A Source lists the devices (index, UUID, name, memory, the CPUs local to
// each) and reads their live state (memory used, utilisation, health).
// Discover asks NVML (github.com/NVIDIA/go-nvml), guarding every call
// behind a successful nvml.Init: without a GPU or a driver it returns an
// error saying why, and the node runs with GPU=0. Fake is a Source of
// made-up devices, for tests and machines without GPUs, that can also lose
// a device.
//
// A worker given devices calls Pin: CUDA_VISIBLE_DEVICES and
// NVIDIA_VISIBLE_DEVICES name exactly them, and every thread of the
// process is bound (sched_setaffinity) to the CPUs local to them, which
// the node passes to its workers in EnvCPUs (FormatCPUs). Pin with no
// devices hides every GPU and gives back the CPUs the process started
// with.
//
//	src, err := gpu.Discover()
//	if err != nil {
//		log.Printf("no GPUs: %v", err) // GPU=0
//	}
//	devs := src.Devices()
package gpu

package gpu_test

import (
	"fmt"

	"manta/gpu"
)

// A node with two made-up GPUs, each local to one CPU, tells its
// workers which CPUs to bind to for each.
func ExampleFake() {
	src := gpu.Fake(
		gpu.Device{Name: "fake A", MemoryTotal: 16 << 30, CPUs: []int{0}},
		gpu.Device{Name: "fake B", MemoryTotal: 16 << 30, CPUs: []int{1}},
	)
	for _, d := range src.Devices() {
		fmt.Printf("GPU %d: %s, %d GiB\n", d.Index, d.Name, d.MemoryTotal>>30)
	}
	fmt.Println(gpu.EnvCPUs + "=" + gpu.FormatCPUs(src.Devices()))
	// Output:
	// GPU 0: fake A, 16 GiB
	// GPU 1: fake B, 16 GiB
	// MANTA_GPU_CPUS=0;1
}

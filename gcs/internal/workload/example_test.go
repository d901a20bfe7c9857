package workload_test

import (
	"fmt"

	"manta/gcs/internal/workload"
)

func ExampleKeys() {
	keys := workload.Keys()
	fmt.Println(len(keys), len(keys[0]), string(keys[7]))
	// Output: 65536 25 key-000000000000000000007
}

package peers_test

import (
	"fmt"

	"manta/benchmarks/peers"
)

// Ray's rows take manta's names, so that a run of Ray's microbenchmark
// lines up with manta's table.
func ExampleRowName() {
	fmt.Println(peers.RowName("1:1 actor calls sync"))
	fmt.Println(peers.RowName("single client put calls (Plasma Store)"))
	// Output:
	// 1_1_actor_calls_sync
	// single_client_put_calls
}

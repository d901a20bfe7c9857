package faulttest_test

import (
	"fmt"

	"manta/internal/faulttest"
)

func ExampleFaults() {
	fmt.Println(faulttest.Faults(func() {}))
	// Output: false
}

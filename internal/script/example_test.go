package script_test

import (
	"fmt"

	"manta/internal/script"
)

func ExampleArgs_IDs() {
	ids, _ := script.Parse([]string{"w=1..3,9", "quiet"}).IDs("w")
	fmt.Println(ids)
	// Output: [1 2 3 9]
}

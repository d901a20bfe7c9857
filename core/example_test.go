package core_test

import (
	"context"
	"fmt"

	"manta/core"
)

var square = core.Register1("example.square", func(x int) (int, error) { return x * x, nil })

func Example() {
	cluster, err := core.Init(core.Config{Resources: map[string]float64{"CPU": 2}})
	if err != nil {
		panic(err)
	}
	defer cluster.Shutdown()

	refs := make([]core.Ref[int], 4)
	for i := range refs {
		refs[i] = square.Remote(i) // returns at once
	}
	sum := testAddViaName(refs[2], refs[3]) // refs as arguments are dependencies
	vals, _ := core.GetAll(context.Background(), refs)
	total, _ := sum.Get(context.Background())
	fmt.Println(vals, total)
	// Output: [0 1 4 9] 13
}

var addInts = core.Register2("example.add", func(a, b int) (int, error) { return a + b, nil })

func testAddViaName(a, b core.Ref[int]) core.Ref[int] { return addInts.Remote(a, b) }

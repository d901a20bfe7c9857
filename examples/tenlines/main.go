// Command tenlines is the README's example: two remote calls and their
// results. The README shows everything below the imports; TestREADME
// keeps the two the same.
package main

import (
	"context"
	"fmt"
	"log"

	"manta/core"
)

var square = core.Register1("square", func(x int) (int, error) { return x * x, nil })

func main() {
	cluster, err := core.Init(core.Config{}) // in a worker process this never returns
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Shutdown()
	refs := []core.Ref[int]{square.Remote(3), square.Remote(4)}
	vals, err := core.GetAll(context.Background(), refs) // computed in worker processes
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(vals) // [9 16]
}

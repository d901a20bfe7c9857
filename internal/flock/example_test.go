package flock_test

import (
	"errors"
	"fmt"
	"os"

	"manta/internal/flock"
)

// A process holds a directory's lock while it uses it; another finds it
// held, and takes it once the first lets go.
func Example() {
	dir, err := os.MkdirTemp("", "flock-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	owner, err := flock.Open(dir, false)
	if err != nil {
		panic(err)
	}
	_, err = flock.Open(dir, false)
	fmt.Println(errors.Is(err, flock.ErrHeld))
	owner.Close() // as when the owner's process ends
	other, err := flock.Open(dir, false)
	fmt.Println(err)
	other.Close()
	// Output:
	// true
	// <nil>
}

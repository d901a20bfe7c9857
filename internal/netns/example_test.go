package netns_test

import (
	"testing"

	"manta/internal/netns"
)

// A test that runs a server in the test's namespace and a client in
// another, as on two hosts (it skips itself without root).
func Example() {
	var t testing.T // the test's own in a real test
	n := netns.New(&t, 1)
	client := n.Command(0, "curl", "http://"+n.HostIP+":8080/")
	_ = client.Run()
}

// Package netns gives a test several hosts on one machine: network
// namespaces, each with an IP of its own on a veth pair whose other end
// joins a bridge in the test's namespace, which has an IP on the same
// subnet. Everything it makes is removed when the test ends, also when it
// fails. It needs root and the ip command; without them New skips the test
// and says why. Traffic should go only to the addresses it made.
//
//	n := netns.New(t, 2)
//	cmd := n.Command(0, os.Args[0], "start", "--address", n.HostIP+":7000")
package netns

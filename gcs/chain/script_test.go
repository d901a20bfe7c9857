package chain

import (
	"testing"

	"manta/internal/script"
)

// TestScripts runs the chain-replication scripts in testdata (see
// internal/script) against a simulated network: the expected outputs are
// the specification. The commands are in sim_test.go (simNet.run).
func TestScripts(t *testing.T) {
	script.Walk(t, "testdata", func(t *testing.T) script.Func {
		s := newSimNet(t, t.TempDir())
		return s.run
	})
}

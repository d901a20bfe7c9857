package gcs

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestScripts runs the chain-replication scripts in testdata with
// cockroachdb/datadriven, as etcd raft does:
//
//	# comments before a case
//	command args...
//	----
//	expected output
//
// The expected outputs are the specification: after `go test -rewrite`,
// read every changed line and check that it is right. The commands are in
// sim_test.go (simNet.run).
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := newSimNet(t.TempDir())
		defer s.close()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			line := d.Cmd
			for _, a := range d.CmdArgs {
				line += " " + a.String()
			}
			got, err := s.run(line)
			if err != nil {
				t.Fatalf("%s: %s: %v", d.Pos, line, err)
			}
			return got
		})
	})
}

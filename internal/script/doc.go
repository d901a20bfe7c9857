// Package script runs script tests, the way etcd raft tests its state
// machine: files of commands and their expected output, driven by
// cockroachdb/datadriven. sched, gcs and the node manager share it.
//
// A script file is a list of cases:
//
//	# comments before a case
//	command key=value word ...
//	----
//	expected output
//
// Walk runs every file under a directory with fresh state per file;
// `go test -rewrite` rewrites the expected outputs, which are the
// specification, so read every changed line before keeping it.
//
//	func TestScripts(t *testing.T) {
//		script.Walk(t, "testdata", func(t *testing.T) script.Func {
//			var s state
//			return s.run // func(cmd string, args script.Args) (string, error)
//		})
//	}
package script

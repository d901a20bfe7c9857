package gcs

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected outputs in testdata/*.txt with the actual ones")

// TestScripts runs the chain-replication scripts in testdata, in the style
// of etcd raft's datadriven tests. A script is a list of cases separated by
// blank lines:
//
//	# comments and blank lines before a case are kept
//	command args...
//	----
//	expected output, up to the next blank line
//
// The expected outputs are the specification: after -rewrite, read every
// changed line and check that it is right. The commands are in
// sim_test.go (simNet.run).
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

type scriptCase struct {
	preamble []string // comments and blank lines before the command
	line     int
	command  string
	expected string
}

func runScript(t *testing.T, file string) {
	cases, trailer := parseScript(t, file)
	s := newSimNet(t.TempDir())
	defer s.close()
	var out strings.Builder
	for _, c := range cases {
		got, err := s.run(c.command)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", file, c.line, c.command, err)
		}
		if !*rewrite && got != c.expected {
			t.Errorf("%s:%d: %s\n--- got\n%s\n--- want\n%s", file, c.line, c.command, got, c.expected)
		}
		for _, p := range c.preamble {
			out.WriteString(p + "\n")
		}
		out.WriteString(c.command + "\n----\n")
		if got != "" {
			out.WriteString(got + "\n")
		}
		out.WriteString("\n")
	}
	if *rewrite {
		text := out.String()
		for _, p := range trailer {
			text += p + "\n"
		}
		text = strings.TrimRight(text, "\n") + "\n"
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func parseScript(t *testing.T, file string) (cases []scriptCase, trailer []string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lineNo := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		lineNo++
		return sc.Text(), true
	}
	var pending []string
	for {
		line, ok := next()
		if !ok {
			break
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			pending = append(pending, line)
			continue
		}
		c := scriptCase{preamble: pending, line: lineNo, command: line}
		pending = nil
		if sep, _ := next(); sep != "----" {
			t.Fatalf("%s:%d: want ---- after the command", file, lineNo)
		}
		var expected []string
		for {
			out, ok := next()
			if !ok || out == "" {
				break
			}
			expected = append(expected, out)
		}
		c.expected = strings.Join(expected, "\n")
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases, pending
}

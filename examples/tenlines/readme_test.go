package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestREADME checks that the README's first Go block is this program,
// below its imports, so the README's example always compiles.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```go\n")
	block, _, ok2 := strings.Cut(block, "```\n")
	if !ok || !ok2 {
		t.Fatal("README.md has no Go block")
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(src), "\n)\n\n")
	if strings.TrimSpace(body) != strings.TrimSpace(block) {
		t.Fatalf("README.md's example differs from examples/tenlines/main.go below its imports:\n%s", block)
	}
}

// TestRuns builds the program and runs it: it prints the squares.
func TestRuns(t *testing.T) {
	bin := t.TempDir() + "/tenlines"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "[9 16]" {
		t.Fatalf("tenlines: %v\n%s", err, out)
	}
}

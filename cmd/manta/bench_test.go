package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"manta/benchmarks"
)

func TestBenchList(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"bench", "--list"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, e := range benchmarks.All() {
		if !strings.Contains(out.String(), e.ID) || !strings.Contains(out.String(), string(e.State)) {
			t.Errorf("--list lacks %s (%s):\n%s", e.ID, e.State, out.String())
		}
	}
	out.Reset()
	if err := run([]string{"bench", "-h"}, &out); err != nil || !strings.Contains(out.String(), "-only") {
		t.Fatalf("-h: %v\n%s", err, out.String())
	}
}

func TestBenchBadInput(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"bench", "--only", "fig9,fig99", "--out", t.TempDir()}, &out)
	if err == nil || !strings.Contains(err.Error(), `"fig99"`) || !strings.Contains(err.Error(), "table4") {
		t.Fatalf("unknown id: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	err = run([]string{"bench", "--only", "fig9", "--out", filepath.Join(file, "x")}, &out)
	if err == nil || !strings.Contains(err.Error(), "cannot write to output directory") {
		t.Fatalf("unwritable out: %v", err)
	}
	if err := run([]string{"bench", "--scale", "medium"}, &out); err == nil || !strings.Contains(err.Error(), "medium") {
		t.Fatalf("bad scale: %v", err)
	}
	if err := run([]string{"bench", "--seeds", "-1"}, &out); err == nil || !strings.Contains(err.Error(), "--seeds -1") {
		t.Fatalf("negative seeds: %v", err)
	}
	if err := run([]string{"bench", "extra"}, &out); err == nil {
		t.Fatal("stray argument accepted")
	}
	if strings.Contains(out.String(), "wrote") {
		t.Fatalf("bad input ran something:\n%s", out.String())
	}
}

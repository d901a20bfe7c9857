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
	for _, state := range []string{"reproduced", "partial", "not yet built"} {
		if !strings.Contains(out.String(), state) {
			t.Errorf("--list shows no %q experiment", state)
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
	if err := run([]string{"bench", "extra"}, &out); err == nil {
		t.Fatal("stray argument accepted")
	}
	if strings.Contains(out.String(), "wrote") {
		t.Fatalf("bad input ran something:\n%s", out.String())
	}
}

// Experiments that are not built yet still get a result file and a place
// in REPORT.md, and do not fail the run.
func TestBenchNotBuilt(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"bench", "--only", "fig13,table3", "--out", dir}, &out); err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(dir, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"manta bench --scale quick --out " + dir + " --only fig13,table3", "## fig13:", "## table3:", "not yet reproduced", "Clipper"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
	for _, f := range []string{"fig13.json", "table3.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out.String(), "[1/2] table3: not built") {
		t.Errorf("progress:\n%s", out.String())
	}
}

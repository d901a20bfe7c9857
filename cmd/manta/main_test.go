package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"manta/benchmarks/micro"
	"manta/core"
)

// TestMain also lets the test binary be the manta command, for tests that
// start heads and nodes as processes of their own.
func TestMain(m *testing.M) {
	core.WorkerMain()
	if os.Getenv(envRunAsCLI) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

const envRunAsCLI = "MANTA_TEST_RUN_AS_CLI"

func TestVersionAndUsage(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"version"}, &out); err != nil || !strings.HasPrefix(out.String(), "manta "+version) {
		t.Fatalf("version: %q, %v", out.String(), err)
	}
	if err := run(nil, &out); err == nil {
		t.Fatal("no command accepted")
	}
	if err := run([]string{"frobnicate"}, &out); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
	if err := run([]string{"microbenchmark", "--only", "no_such_row"}, &out); err == nil || !strings.Contains(err.Error(), "no_such_row") {
		t.Fatalf("unknown row: %v", err)
	}
}

func TestMicrobenchmarkJSON(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"microbenchmark", "--json", "--duration", "20ms", "--queued", "1000",
		"--only", "single_client_tasks_sync,1_1_actor_calls_async," + micro.QueuedRow}, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 JSON rows, got:\n%s", out.String())
	}
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		for _, k := range []string{"name", "value", "unit", "baseline", "ray"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %q lacks %q", l, k)
			}
		}
	}
}

func TestMicrobenchmarkEventsOverhead(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"microbenchmark", "--events-overhead", "--json", "--duration", "50ms", "--only", "1_1_actor_calls_sync"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var o micro.Overhead
	if err := json.Unmarshal(out.Bytes(), &o); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	if o.Name != "1_1_actor_calls_sync" || o.Pairs != 5 || !(o.Low <= o.Ratio && o.Ratio <= o.High) || o.Off <= 0 || o.On <= 0 {
		t.Fatalf("overhead: %+v", o)
	}
	out.Reset()
	if err := run([]string{"microbenchmark", "--events-overhead", "--duration", "50ms", "--only", "1_1_actor_calls_sync"}, &out); err != nil || !strings.Contains(out.String(), "95% interval") {
		t.Fatalf("table: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run([]string{"microbenchmark", "--events-overhead", "--events-sample", "0", "--duration", "50ms", "--only", "1_1_actor_calls_sync"}, &out); err != nil || !strings.Contains(out.String(), "the control: task-life events off in both") {
		t.Fatalf("control: %v\n%s", err, out.String())
	}
}

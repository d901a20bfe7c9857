package peers

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// What the driver prints after Ray's own lines, and the rows it maps.
const rayOutput = `single client get calls (Plasma Store) per second 9430.1 +- 50.2
Tip: set TESTS_TO_RUN='pattern' to run a subset of benchmarks

MANTA-PEER-RESULT {"version": "2.60.0", "seconds": 652.5, "rows": {"single client get calls (Plasma Store)": [9430.1, 50.2], "1:1 actor calls sync": [1089.0, 12.0], "n:n actor calls with arg async": [880.5, 30.0], "placement group create/removal": [451.0, 9.0]}}
`

func TestParseRayOutput(t *testing.T) {
	r, err := parseRayOutput([]byte(rayOutput), []string{"single_client_get_calls", "1_1_actor_calls_sync", "n_n_actor_calls_with_arg_async"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != "2.60.0" || r.Seconds != 652.5 || len(r.Rows) != 3 || len(r.Others) != 1 {
		t.Fatalf("%+v", r)
	}
	if v := r.Rows["single_client_get_calls"]; v != [2]float64{9430.1, 50.2} {
		t.Errorf("get calls: %v", v)
	}
	if v := r.Rows["n_n_actor_calls_with_arg_async"]; v[0] != 880.5 {
		t.Errorf("n:n with arg: %v", v)
	}
	if _, ok := r.Others["placement group create/removal"]; !ok {
		t.Errorf("a row manta lacks is kept under Ray's name: %v", r.Others)
	}
	path := filepath.Join(t.TempDir(), "peers", "ray.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadRay(path)
	if err != nil || back.Rows["1_1_actor_calls_sync"] != r.Rows["1_1_actor_calls_sync"] || back.Version != r.Version {
		t.Fatalf("loaded %+v, %v", back, err)
	}
}

// A run cut short (Ray failed before its rows) says so.
func TestParseRayOutputWithoutResults(t *testing.T) {
	for _, out := range []string{"", "Traceback (most recent call last):\n", "MANTA-PEER-RESULT {not json\n", `MANTA-PEER-RESULT {"rows": {}}` + "\n"} {
		if _, err := parseRayOutput([]byte(out), nil); !errors.Is(err, ErrNoResult) {
			t.Errorf("%q: %v", out, err)
		}
	}
}

func TestRowName(t *testing.T) {
	for ray, want := range map[string]string{
		"single client put calls (Plasma Store)":       "single_client_put_calls",
		"1:n actor calls async":                        "1_n_actor_calls_async",
		"1:1 async-actor calls with args async":        "1_1_async_actor_calls_with_args_async",
		"single client get object containing 10k refs": "single_client_get_object_containing_10k_refs",
	} {
		if got := RowName(ray); got != want {
			t.Errorf("RowName(%q) = %q, want %q", ray, got, want)
		}
	}
}

func TestLoadRayRejectsAnEmptyRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ray.json")
	if err := (&RayResult{Version: RayVersion}).Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRay(path); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Fatalf("an empty run: %v", err)
	}
}

// Ray's output is bytes from another program: whatever it prints, the
// parser returns rows or an error.
func FuzzParseRayOutput(f *testing.F) {
	f.Add([]byte(rayOutput))
	f.Add([]byte("MANTA-PEER-RESULT {\"rows\": {\"x\": [1, 2, 3]}}\n"))
	f.Add([]byte("MANTA-PEER-RESULT null\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		r, err := parseRayOutput(out, nil)
		if err == nil && len(r.Rows) == 0 {
			t.Fatal("no error and no rows")
		}
	})
}

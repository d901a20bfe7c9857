package peers

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// RayVersion is the Ray that RunRay installs and measures.
const RayVersion = "2.60.0"

// rayRequirements are pip's pins: Ray with its dashboard's dependencies,
// and numpy, which its microbenchmark needs and Ray does not pull in.
var rayRequirements = []string{"ray[default]==" + RayVersion, "numpy==2.2.6"}

//go:embed ray_peer.py
var rayDriver []byte

// resultMarker begins the driver's line of results.
const resultMarker = "MANTA-PEER-RESULT "

// RayResult is one run of Ray's microbenchmark on this machine.
type RayResult struct {
	Version  string    `json:"version"`
	Measured time.Time `json:"measured"`
	// Machine says where it ran: the host name and its CPUs.
	Machine string  `json:"machine"`
	Seconds float64 `json:"seconds"`
	// Rows are Ray's rows that manta also has, by manta's name (see
	// RowName): the mean and standard deviation of Ray's four runs, in
	// operations per second (GB/s for the gigabyte rows).
	Rows map[string][2]float64 `json:"rows"`
	// Others are Ray's rows manta has no name for, by Ray's name.
	Others map[string][2]float64 `json:"others,omitempty"`
}

// RayOptions say where RunRay installs Ray and what it prints.
type RayOptions struct {
	// Dir holds the virtual environment (default: manta's cache
	// directory, see CacheDir).
	Dir string
	// Python makes the environment (default python3).
	Python string
	// Log receives pip's and Ray's output (nil: discarded).
	Log io.Writer
	// Rows are manta's row names: Ray's rows with one of them go to
	// Rows, the others to Others (nil: all go to Rows).
	Rows []string
}

// CacheDir is where peers are installed: $MANTA_CACHE, else manta's
// directory in the user's cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("MANTA_CACHE"); d != "" {
		return filepath.Join(d, "peers"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("peers: no cache directory (set MANTA_CACHE): %w", err)
	}
	return filepath.Join(d, "manta", "peers"), nil
}

// RunRay installs Ray RayVersion if it is not installed yet and runs its
// microbenchmark, which takes about 11 minutes on 2 cores.
func RunRay(ctx context.Context, o RayOptions) (*RayResult, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.Dir == "" {
		d, err := CacheDir()
		if err != nil {
			return nil, err
		}
		o.Dir = d
	}
	venv := filepath.Join(o.Dir, "ray-"+RayVersion)
	python, err := installVenv(ctx, venv, o.Python, rayRequirements, o.Log)
	if err != nil {
		return nil, fmt.Errorf("peers: installing Ray: %w", err)
	}
	script := filepath.Join(venv, "manta_ray_peer.py")
	if err := os.WriteFile(script, rayDriver, 0o644); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	fmt.Fprintf(o.Log, "peers: running Ray %s's microbenchmark (about 11 minutes on 2 cores)\n", RayVersion)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, python, script)
	cmd.Stdout = io.MultiWriter(&out, o.Log)
	cmd.Stderr = o.Log
	cmd.Dir = venv
	runErr := cmd.Run()
	// Ray leaves its processes and its session behind; `ray stop` ends them.
	stop := exec.Command(filepath.Join(venv, "bin", "ray"), "stop", "--force")
	stop.Stdout, stop.Stderr = o.Log, o.Log
	_ = stop.Run()
	r, err := parseRayOutput(out.Bytes(), o.Rows)
	if err != nil {
		if runErr != nil {
			return nil, fmt.Errorf("peers: Ray's microbenchmark: %w (%w)", runErr, err)
		}
		return nil, err
	}
	host, _ := os.Hostname()
	r.Machine = fmt.Sprintf("%s, %d CPUs", host, runtime.NumCPU())
	r.Measured = time.Now().UTC().Truncate(time.Second)
	return r, nil
}

// ErrNoResult is wrapped by the error of a run that printed no results.
var ErrNoResult = errors.New("peers: Ray's microbenchmark printed no results")

// parseRayOutput reads the driver's line of results from out.
func parseRayOutput(out []byte, names []string) (*RayResult, error) {
	var line []byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(resultMarker)); ok {
			line = append(line[:0], rest...)
		}
	}
	if line == nil {
		return nil, ErrNoResult
	}
	var raw struct {
		Version string                `json:"version"`
		Seconds float64               `json:"seconds"`
		Rows    map[string][2]float64 `json:"rows"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoResult, err)
	}
	if len(raw.Rows) == 0 {
		return nil, ErrNoResult
	}
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	r := &RayResult{Version: raw.Version, Seconds: raw.Seconds, Rows: map[string][2]float64{}, Others: map[string][2]float64{}}
	for name, v := range raw.Rows {
		if n := RowName(name); names == nil || known[n] {
			r.Rows[n] = v
		} else {
			r.Others[name] = v
		}
	}
	return r, nil
}

// RowName turns a row name of Ray's microbenchmark ("1:1 actor calls
// sync", "single client put calls (Plasma Store)") into manta's
// ("1_1_actor_calls_sync", "single_client_put_calls").
func RowName(ray string) string {
	s := strings.ToLower(strings.TrimSpace(ray))
	s = strings.TrimSuffix(s, " (plasma store)")
	return strings.NewReplacer(":", "_", " ", "_", "-", "_").Replace(s)
}

// Save writes r to path as JSON, making its directory.
func (r *RayResult) Save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// LoadRay reads a result Save wrote; a missing file is an error wrapping
// fs.ErrNotExist.
func LoadRay(path string) (*RayResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r RayResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("peers: %s: %w", path, err)
	}
	if len(r.Rows) == 0 {
		return nil, fmt.Errorf("peers: %s holds no rows", path)
	}
	return &r, nil
}

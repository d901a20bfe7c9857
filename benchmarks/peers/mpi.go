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
	"strconv"
	"strings"
)

// mpiRequirements are pip's pins for the MPI driver: mpi4py, built
// against the system's OpenMPI by its mpicc, and numpy.
var mpiRequirements = []string{"mpi4py==4.1.2", "numpy==2.2.6"}

// mpiPackages are Debian's packages of OpenMPI: mpirun, and mpicc with
// the headers that building mpi4py needs.
var mpiPackages = []string{"openmpi-bin", "libopenmpi-dev"}

//go:embed mpi_peer.py
var mpiDriver []byte

// mpiMarker begins the MPI driver's line of results.
const mpiMarker = "MANTA-MPI-RESULT "

// ErrMPIUnavailable is wrapped by the error of RunMPIAllreduce when
// OpenMPI or mpi4py cannot be installed here.
var ErrMPIUnavailable = errors.New("peers: OpenMPI is not available")

// MPITransport is how OpenMPI's ranks on one machine reach each other.
type MPITransport string

// The transports RunMPIAllreduce can pick (OpenMPI's byte transfer
// layers).
const (
	// MPISharedMemory: OpenMPI's default on one machine (vader).
	MPISharedMemory MPITransport = "shared memory"
	// MPITCP: loopback TCP only (--mca btl self,tcp), as between nodes.
	MPITCP MPITransport = "tcp"
)

// MPIOptions say where RunMPIAllreduce installs mpi4py, what it runs and
// what it prints.
type MPIOptions struct {
	// Dir holds the virtual environment (default: CacheDir).
	Dir string
	// Python makes the environment (default python3).
	Python string
	// Log receives apt's, pip's and mpirun's output (nil: discarded).
	Log io.Writer
	// Ranks is the number of MPI processes (default 2).
	Ranks int
	// Sizes are the buffers' sizes in bytes; Reps the timed allreduces of
	// each (the same length).
	Sizes []int64
	Reps  []int
	// Transport picks the byte transfer layer (default MPISharedMemory).
	Transport MPITransport
}

// MPIResult is one run of OpenMPI's MPI_Allreduce of float32 sums.
type MPIResult struct {
	// Library is MPI_Get_library_version's first line.
	Library   string       `json:"library"`
	Ranks     int          `json:"ranks"`
	Transport MPITransport `json:"transport"`
	Rows      []MPIRow     `json:"rows"`
}

// MPIRow is one buffer size: each repetition's time, the slowest rank's.
type MPIRow struct {
	Bytes   int64     `json:"bytes"`
	Seconds []float64 `json:"seconds"`
}

// RunMPIAllreduce installs OpenMPI (Debian's packages, as root) and
// mpi4py (pip, into a virtual environment in Dir) where they are missing,
// and times MPI_Allreduce with o.Ranks processes on this machine. An
// error that wraps ErrMPIUnavailable says what could not be installed.
func RunMPIAllreduce(ctx context.Context, o MPIOptions) (*MPIResult, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.Ranks <= 0 {
		o.Ranks = 2
	}
	if o.Transport == "" {
		o.Transport = MPISharedMemory
	}
	if len(o.Sizes) == 0 || len(o.Reps) != len(o.Sizes) {
		return nil, fmt.Errorf("peers: %d sizes to measure with %d counts of repetitions", len(o.Sizes), len(o.Reps))
	}
	if o.Dir == "" {
		d, err := CacheDir()
		if err != nil {
			return nil, err
		}
		o.Dir = d
	}
	mpirun, err := installOpenMPI(ctx, o.Log)
	if err != nil {
		return nil, err
	}
	venv := filepath.Join(o.Dir, "mpi4py")
	python, err := installVenv(ctx, venv, o.Python, mpiRequirements, o.Log)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMPIUnavailable, err)
	}
	script := filepath.Join(venv, "manta_mpi_peer.py")
	if err := os.WriteFile(script, mpiDriver, 0o644); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	sizes, reps := make([]string, len(o.Sizes)), make([]string, len(o.Reps))
	for i, s := range o.Sizes {
		sizes[i], reps[i] = strconv.FormatInt(s, 10), strconv.Itoa(o.Reps[i])
	}
	args := []string{"--oversubscribe", "-np", strconv.Itoa(o.Ranks)}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-run-as-root")
	}
	if o.Transport == MPITCP {
		args = append(args, "--mca", "btl", "self,tcp")
	}
	args = append(args, python, script, strings.Join(sizes, ","), strings.Join(reps, ","))
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, mpirun, args...)
	cmd.Stdout = io.MultiWriter(&out, o.Log)
	cmd.Stderr = o.Log
	cmd.Dir = venv
	runErr := cmd.Run()
	r, err := parseMPIOutput(out.Bytes())
	if err != nil {
		if runErr != nil {
			return nil, fmt.Errorf("peers: mpirun %s: %w (%w)", strings.Join(args, " "), runErr, err)
		}
		return nil, err
	}
	r.Transport = o.Transport
	return r, nil
}

// installOpenMPI returns mpirun's path, first installing Debian's
// packages if mpirun or mpicc is missing.
func installOpenMPI(ctx context.Context, log io.Writer) (string, error) {
	mpirun, errRun := exec.LookPath("mpirun")
	_, errCC := exec.LookPath("mpicc")
	if errRun == nil && errCC == nil {
		return mpirun, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: mpirun or mpicc is missing and installing %s needs root", ErrMPIUnavailable, strings.Join(mpiPackages, " "))
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", fmt.Errorf("%w: mpirun or mpicc is missing and there is no apt-get to install them", ErrMPIUnavailable)
	}
	install := append([]string{"apt-get", "install", "-y", "-q"}, mpiPackages...)
	fmt.Fprintf(log, "peers: %s\n", strings.Join(install, " "))
	run := func(argv ...string) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = log, log
		return cmd.Run()
	}
	if err := run(install...); err != nil {
		// The package lists may be missing or stale.
		if err := run("apt-get", "update", "-q"); err != nil {
			return "", fmt.Errorf("%w: apt-get update: %w", ErrMPIUnavailable, err)
		}
		if err := run(install...); err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrMPIUnavailable, strings.Join(install, " "), err)
		}
	}
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		return "", fmt.Errorf("%w: installed, yet %w", ErrMPIUnavailable, err)
	}
	return mpirun, nil
}

// installVenv makes the virtual environment at venv with reqs in it,
// unless a finished install is there, and returns its python.
func installVenv(ctx context.Context, venv, pythonCmd string, reqs []string, log io.Writer) (string, error) {
	python := filepath.Join(venv, "bin", "python")
	done := filepath.Join(venv, "manta-installed")
	want := strings.Join(reqs, " ")
	if b, err := os.ReadFile(done); err == nil && string(b) == want {
		return python, nil
	}
	fmt.Fprintf(log, "peers: installing %s into %s\n", want, venv)
	if err := os.RemoveAll(venv); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(venv), 0o755); err != nil {
		return "", err
	}
	steps := [][]string{
		{pythonCmd, "-m", "venv", venv},
		append([]string{python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"}, reqs...),
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%s: %w", strings.Join(s, " "), err)
		}
	}
	if err := os.WriteFile(done, []byte(want), 0o644); err != nil {
		return "", err
	}
	return python, nil
}

// ErrNoMPIResult is wrapped by the error of a run that printed no
// results.
var ErrNoMPIResult = errors.New("peers: the MPI driver printed no results")

// parseMPIOutput reads the MPI driver's line of results from out.
func parseMPIOutput(out []byte) (*MPIResult, error) {
	var line []byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(mpiMarker)); ok {
			line = append(line[:0], rest...)
		}
	}
	if line == nil {
		return nil, ErrNoMPIResult
	}
	var r MPIResult
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoMPIResult, err)
	}
	if len(r.Rows) == 0 || r.Ranks <= 0 {
		return nil, ErrNoMPIResult
	}
	r.Library = strings.TrimRight(r.Library, "\x00 ") // as MPI_Get_library_version leaves it
	for _, row := range r.Rows {
		if row.Bytes <= 0 || len(row.Seconds) == 0 {
			return nil, fmt.Errorf("%w: a row of %d bytes with %d times", ErrNoMPIResult, row.Bytes, len(row.Seconds))
		}
		for _, s := range row.Seconds {
			if !(s > 0) {
				return nil, fmt.Errorf("%w: a time of %v s", ErrNoMPIResult, s)
			}
		}
	}
	return &r, nil
}

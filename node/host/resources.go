package host

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// maxMemoryBytes is the most memory DetectResources reports: a resource's
// quantity must stay exact in the scheduler's fixed-point units
// (sched.Unit per whole, below 2^53 in all).
const maxMemoryBytes = (1 << 53) / 10000

// DetectResources returns what this process may use, as a node's
// resources: "CPU", the CPUs it may run on (its affinity mask), fewer if a
// cgroup quota (v2 cpu.max, v1 cpu.cfs_quota_us) allows less; and
// "memory", in bytes, the machine's (MemTotal) or its cgroup's limit
// (memory.max, memory.limit_in_bytes) if lower, capped at about 900 GB.
// What cannot be read is left at the machine's value.
func DetectResources() map[string]float64 {
	cpus := float64(runtime.NumCPU())
	if quota, ok := cgroupCPUs(); ok && quota < cpus {
		cpus = quota
	}
	out := map[string]float64{"CPU": cpus}
	mem, ok := readMeminfo()
	if limit, limited := cgroupMemory(); limited && (!ok || limit < mem) {
		mem, ok = limit, true
	}
	if ok {
		out["memory"] = float64(min(mem, maxMemoryBytes))
	}
	return out
}

// cgroupFile reads a control file of this process's cgroup: v2's unified
// hierarchy when v1 is empty, else controller v1's. A cgroup namespace
// shows the process's own cgroup at the mount's root, so the root's file
// is the fallback.
func cgroupFile(v1controller, name string) ([]byte, bool) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, false
	}
	for _, line := range strings.Split(string(self), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir string
		switch {
		case v1controller == "" && parts[0] == "0" && parts[1] == "":
			dir = "/sys/fs/cgroup"
		case v1controller != "" && hasController(parts[1], v1controller):
			dir = filepath.Join("/sys/fs/cgroup", parts[1])
		default:
			continue
		}
		for _, path := range []string{filepath.Join(dir, parts[2], name), filepath.Join(dir, name)} {
			if b, err := os.ReadFile(path); err == nil {
				return b, true
			}
		}
	}
	return nil, false
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// cgroupCPUs returns the CPUs a cgroup quota allows, if one is set.
func cgroupCPUs() (float64, bool) {
	if b, ok := cgroupFile("", "cpu.max"); ok {
		return parseCPUMax(b)
	}
	quota, ok := cgroupFile("cpu", "cpu.cfs_quota_us")
	if !ok {
		return 0, false
	}
	period, ok := cgroupFile("cpu", "cpu.cfs_period_us")
	if !ok {
		return 0, false
	}
	return parseCFS(quota, period)
}

// cgroupMemory returns the memory limit of this process's cgroup, if set.
func cgroupMemory() (int64, bool) {
	if b, ok := cgroupFile("", "memory.max"); ok {
		return parseMemoryLimit(b)
	}
	if b, ok := cgroupFile("memory", "memory.limit_in_bytes"); ok {
		return parseMemoryLimit(b)
	}
	return 0, false
}

func readMeminfo() (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return parseMeminfo(b)
}

// parseCPUMax reads cgroup v2's cpu.max: "QUOTA PERIOD" in microseconds,
// or "max PERIOD" for no limit.
func parseCPUMax(b []byte) (float64, bool) {
	quota, period, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok || quota == "max" {
		return 0, false
	}
	return cpusOf(quota, period)
}

// parseCFS reads cgroup v1's quota and period files; a quota of -1 means
// no limit.
func parseCFS(quota, period []byte) (float64, bool) {
	return cpusOf(strings.TrimSpace(string(quota)), strings.TrimSpace(string(period)))
}

func cpusOf(quota, period string) (float64, bool) {
	q, err1 := strconv.ParseInt(quota, 10, 64)
	p, err2 := strconv.ParseInt(period, 10, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	// Quantities are exact to 1/10000 of a CPU; a quota below that is no
	// CPU at all, which a node cannot run tasks on.
	cpus := math.Floor(float64(q)/float64(p)*10000) / 10000
	return cpus, cpus > 0
}

// parseMemoryLimit reads memory.max ("max" for none) or v1's
// memory.limit_in_bytes (a huge number for none).
func parseMemoryLimit(b []byte) (int64, bool) {
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= math.MaxInt64/2 {
		return 0, false
	}
	return n, true
}

// parseMeminfo finds MemTotal in /proc/meminfo, given in kB.
func parseMeminfo(b []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb <= 0 || kb > math.MaxInt64/1024 {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

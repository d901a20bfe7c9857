package host

import (
	"runtime"
	"testing"
)

func TestDetectResources(t *testing.T) {
	r := DetectResources()
	if cpus := r["CPU"]; cpus <= 0 || cpus > float64(runtime.NumCPU()) {
		t.Errorf("CPU = %v, want in (0, %d]", cpus, runtime.NumCPU())
	}
	if mem := r["memory"]; mem <= 0 || mem > maxMemoryBytes {
		t.Errorf("memory = %v bytes", mem)
	}
	t.Logf("detected %v", r)
}

func TestParseCgroupFiles(t *testing.T) {
	for in, want := range map[string]float64{"max 100000\n": 0, "150000 100000\n": 1.5, "200000 100000": 2, "5 100000": 0, "50 100000": 0.0005, "x 1": 0, "": 0} {
		got, ok := parseCPUMax([]byte(in))
		if got != want || ok != (want > 0) {
			t.Errorf("parseCPUMax(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	if got, ok := parseCFS([]byte("-1\n"), []byte("100000\n")); ok {
		t.Errorf("a quota of -1 reads as %v CPUs", got)
	}
	if got, ok := parseCFS([]byte("250000\n"), []byte("100000\n")); !ok || got != 2.5 {
		t.Errorf("quota 250000/100000 = %v, %v", got, ok)
	}
	for in, want := range map[string]int64{"max\n": 0, "1073741824\n": 1 << 30, "9223372036854771712\n": 0, "-5": 0, "junk": 0} {
		got, ok := parseMemoryLimit([]byte(in))
		if got != want || ok != (want > 0) {
			t.Errorf("parseMemoryLimit(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	meminfo := "MemFree:  10 kB\nMemTotal:       24731400 kB\nBuffers: 1 kB\n"
	if got, ok := parseMeminfo([]byte(meminfo)); !ok || got != 24731400*1024 {
		t.Errorf("parseMeminfo = %v, %v", got, ok)
	}
	if _, ok := parseMeminfo([]byte("MemTotal: 12 MB\n")); ok {
		t.Error("a MemTotal in MB was taken as kB")
	}
}

// FuzzParseCgroupFiles feeds the parsers of /proc and cgroup files
// arbitrary bytes: they must not panic, and what they accept is positive.
func FuzzParseCgroupFiles(f *testing.F) {
	f.Add([]byte("150000 100000\n"), []byte("MemTotal: 100 kB\n"))
	f.Add([]byte("max 100000"), []byte("9223372036854771712"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if cpus, ok := parseCPUMax(a); ok && !(cpus > 0) {
			t.Fatalf("parseCPUMax(%q) = %v", a, cpus)
		}
		if cpus, ok := parseCFS(a, b); ok && !(cpus > 0) {
			t.Fatalf("parseCFS(%q, %q) = %v", a, b, cpus)
		}
		if n, ok := parseMemoryLimit(a); ok && n <= 0 {
			t.Fatalf("parseMemoryLimit(%q) = %v", a, n)
		}
		if n, ok := parseMeminfo(b); ok && n <= 0 {
			t.Fatalf("parseMeminfo(%q) = %v", b, n)
		}
	})
}

package probe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Config says what to probe.
type Config struct {
	// PID is the driver: a process that called core.Init. Its children
	// running the same executable are its workers, found again every
	// second (workers start when tasks need them).
	PID int
	// Stages is the path measured; SyncRoundTrip when nil.
	Stages []Stage
	// KernelOnly leaves the stages out: the scheduler's view alone, without
	// the uprobes, whose traps slow a short path down (Report.ProbeCostUS).
	KernelOnly bool
	// MaxRoundTrip is the longest round trip recorded; a longer one is a
	// pause of the driver's loop and counts in Report.Gaps. 100 ms when 0.
	MaxRoundTrip time.Duration
}

// ErrNotPermitted is returned by Check and Attach, wrapped with what is
// missing, when the process may not load BPF programs or attach uprobes.
var ErrNotPermitted = errors.New("probe: not permitted: run as root, or with CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN")

// ErrNoBTF is returned by Check and Attach when the kernel exposes no BTF
// (/sys/kernel/btf/vmlinux), which the scheduler probes need to read
// task_struct wherever this kernel keeps its fields.
var ErrNoBTF = errors.New("probe: the kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF)")

// ErrPIDNamespace is returned by Check and Attach in a PID namespace other
// than the kernel's first: the BPF side sees the kernel's thread IDs, which
// would not match this namespace's.
var ErrPIDNamespace = errors.New("probe: runs in a nested PID namespace; run it in the host's")

// kernelBTF is where the kernel publishes its type information.
const kernelBTF = "/sys/kernel/btf/vmlinux"

// initPIDNamespace is the inode of the first PID namespace
// (PROC_PID_INIT_INO).
const initPIDNamespace = 0xEFFFFFFC

// Check reports whether this process can probe: the capabilities, the
// kernel's BTF and the PID namespace. The error says what is missing.
func Check() error {
	var missing []string
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil {
		return fmt.Errorf("probe: reading capabilities: %w", err)
	}
	has := func(c int) bool { return caps[c/32].Effective&(1<<(c%32)) != 0 }
	if !has(unix.CAP_SYS_ADMIN) {
		missing = append(missing, "CAP_SYS_ADMIN")
		for _, c := range []struct {
			name string
			bit  int
		}{{"CAP_BPF", unix.CAP_BPF}, {"CAP_PERFMON", unix.CAP_PERFMON}} {
			if !has(c.bit) {
				missing = append(missing, c.name)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (this process lacks %s)", ErrNotPermitted, strings.Join(missing, ", "))
	}
	if _, err := os.Stat(kernelBTF); err != nil {
		return fmt.Errorf("%w: %v", ErrNoBTF, err)
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err == nil && st.Ino != initPIDNamespace {
		return ErrPIDNamespace
	}
	return nil
}

// Probe is attached to a driver and its workers; Run reads its events.
// Close detaches it. A Probe is used from one goroutine.
type Probe struct {
	cfg     Config
	exe     os.FileInfo // the driver's executable
	objs    bpfObjects
	links   []link.Link
	reader  *ringbuf.Reader
	workers map[int]bool
	chain   *Chain
	bad     uint64        // records ParseEvent refused
	cost    time.Duration // of one probe hit, measured by calibrate
}

// Attach checks the privileges (Check), loads the BPF programs, puts
// uprobes on the entries of cfg's stage functions in the driver's
// executable and raw tracepoints on sched_switch and sched_wakeup. A
// symbol missing from the executable fails it (an inlined function: mark
// it //go:noinline).
func Attach(cfg Config) (_ *Probe, err error) {
	switch {
	case cfg.KernelOnly:
		cfg.Stages = nil
	case cfg.Stages == nil:
		cfg.Stages = SyncRoundTrip
	case len(cfg.Stages) == 0 || len(cfg.Stages) > MaxStages:
		return nil, fmt.Errorf("probe: %d stages, want 1 to %d", len(cfg.Stages), MaxStages)
	}
	if cfg.MaxRoundTrip == 0 {
		cfg.MaxRoundTrip = 100 * time.Millisecond
	}
	if err := Check(); err != nil {
		return nil, err
	}
	exePath := "/proc/" + strconv.Itoa(cfg.PID) + "/exe"
	exe, err := os.Stat(exePath)
	if err != nil {
		return nil, fmt.Errorf("probe: process %d: %w", cfg.PID, err)
	}
	p := &Probe{cfg: cfg, exe: exe, workers: map[int]bool{},
		chain: NewChain(cfg.Stages, uint32(cfg.PID), cfg.MaxRoundTrip)}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := loadBpfObjects(&p.objs, nil); err != nil {
		return nil, permission(fmt.Errorf("probe: loading the BPF programs: %w", err))
	}
	if p.reader, err = ringbuf.NewReader(p.objs.Events); err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	if !cfg.KernelOnly {
		p.cost = p.calibrate()
	}
	if err := p.objs.Targets.Put(uint32(cfg.PID), uint32(1)); err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	if alive, err := p.scan(); err != nil || !alive {
		return nil, cmp.Or(err, fmt.Errorf("probe: process %d exited", cfg.PID))
	}
	ex, err := link.OpenExecutable(exePath)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	for i, st := range cfg.Stages {
		// On the executable, not one process: workers that start later are
		// probed too, and the BPF side keeps the targets' events only.
		l, err := ex.Uprobe(st.Symbol, p.objs.Stage, &link.UprobeOptions{Cookie: uint64(i)})
		if err != nil {
			return nil, permission(fmt.Errorf("probe: uprobe on %s (is process %d a manta driver? is the function inlined everywhere? mark it //go:noinline): %w",
				st.Symbol, cfg.PID, err))
		}
		p.links = append(p.links, l)
	}
	for _, tp := range []struct {
		name string
		prog *ebpf.Program
	}{{"sched_switch", p.objs.SchedSwitch}, {"sched_wakeup", p.objs.SchedWakeup}} {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: tp.name, Program: tp.prog})
		if err != nil {
			return nil, permission(fmt.Errorf("probe: raw tracepoint %s: %w", tp.name, err))
		}
		p.links = append(p.links, l)
	}
	return p, nil
}

// permission marks an EPERM from the kernel as ErrNotPermitted.
func permission(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %w", ErrNotPermitted, err)
	}
	return err
}

// scan brings the targets map up to date with the driver's workers and
// reports whether the driver still runs.
func (p *Probe) scan() (alive bool, err error) {
	if fi, err := os.Stat("/proc/" + strconv.Itoa(p.cfg.PID) + "/exe"); err != nil || !os.SameFile(fi, p.exe) {
		return false, nil
	}
	pids, err := workersOf(p.cfg.PID, p.exe)
	if err != nil {
		return false, fmt.Errorf("probe: listing processes: %w", err)
	}
	now := map[int]bool{}
	for _, pid := range pids {
		now[pid] = true
		if !p.workers[pid] {
			if err := p.objs.Targets.Put(uint32(pid), uint32(1)); err != nil {
				return false, fmt.Errorf("probe: %w", err)
			}
		}
	}
	for pid := range p.workers {
		if !now[pid] {
			// Already gone when the process has exited: nothing to undo.
			_ = p.objs.Targets.Delete(uint32(pid))
		}
	}
	p.workers = now
	return true, nil
}

// pollEvery bounds how long events wait in the ring buffer: the BPF side
// wakes the reader only when much is waiting, to spare the target's CPUs.
const pollEvery = 20 * time.Millisecond

// Run reads events until ctx is done or the driver exits, and returns the
// report of the whole run. Every interval (when above 0) it calls tick,
// when not nil, with the report of that interval alone.
func (p *Probe) Run(ctx context.Context, interval time.Duration, tick func(Report)) (Report, error) {
	total, part := NewTally(p.cfg.Stages), NewTally(p.cfg.Stages)
	start := time.Now()
	partStart, nextScan := start, start.Add(time.Second)
	runFrom := p.counters()
	partFrom := runFrom
	finish := func(err error) (Report, error) {
		total.Merge(part)
		return p.report(total, time.Since(start), runFrom), err
	}
	var rec ringbuf.Record
	for ctx.Err() == nil {
		p.reader.SetDeadline(time.Now().Add(pollEvery))
		for {
			err := p.reader.ReadInto(&rec)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return finish(fmt.Errorf("probe: reading events: %w", err))
			}
			p.handle(part, rec.RawSample)
		}
		now := time.Now()
		if !now.Before(nextScan) {
			alive, err := p.scan()
			if err != nil || !alive {
				return finish(err)
			}
			nextScan = now.Add(time.Second)
		}
		if interval > 0 && now.Sub(partStart) >= interval {
			if tick != nil {
				tick(p.report(part, now.Sub(partStart), partFrom))
			}
			total.Merge(part)
			part, partStart, partFrom = NewTally(p.cfg.Stages), now, p.counters()
		}
	}
	return finish(nil)
}

func (p *Probe) handle(t *Tally, raw []byte) {
	e, err := ParseEvent(raw)
	if err != nil {
		p.bad++
		return
	}
	if e.Kind == KindStage {
		if segs, ok := p.chain.Add(e); ok {
			t.AddRoundTrip(segs)
		}
		return
	}
	t.AddSched(e, int(e.TGID) != p.cfg.PID)
}

// counters are the Report's counters, kept from Attach on.
type counters struct {
	broken, gaps, skipped, lost uint64
	brokenAt                    []uint64
}

func (p *Probe) counters() counters {
	c := counters{broken: p.chain.Broken, gaps: p.chain.Gaps, skipped: p.chain.Skipped + p.bad,
		brokenAt: slices.Clone(p.chain.BrokenAt)}
	if p.objs.Lost != nil {
		_ = p.objs.Lost.Get(&c.lost) // a read of a mapped counter; stays 0 if it fails
	}
	return c
}

// report summarizes t, a tally of the last d, with the counters gained
// since from.
func (p *Probe) report(t *Tally, d time.Duration, from counters) Report {
	r := t.Report()
	r.PID, r.Seconds = p.cfg.PID, d.Seconds()
	for pid := range p.workers {
		r.Workers = append(r.Workers, pid)
	}
	slices.Sort(r.Workers)
	c := p.counters()
	r.Broken, r.Gaps, r.Skipped, r.Lost = c.broken-from.broken, c.gaps-from.gaps, c.skipped-from.skipped, c.lost-from.lost
	for i, n := range c.brokenAt {
		if i < len(from.brokenAt) {
			n -= from.brokenAt[i]
		}
		if n > 0 {
			if r.BrokenAt == nil {
				r.BrokenAt = map[string]uint64{}
			}
			r.BrokenAt[p.cfg.Stages[i].Name] = n
		}
	}
	r.ProbeCostUS = micros(p.cost)
	return r
}

// Close detaches the probes and frees the BPF objects.
func (p *Probe) Close() error {
	var errs []error
	if p.reader != nil {
		errs = append(errs, p.reader.Close())
	}
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	errs = append(errs, p.objs.Close())
	return errors.Join(errs...)
}

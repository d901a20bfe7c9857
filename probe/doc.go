// Package probe measures with eBPF where a manta driver's round trips
// spend their time, in the running processes, without changing them: the
// command `manta probe --pid PID` is built on it.
//
// Two views. Uprobes on the entries of the functions a synchronous task
// passes through (SyncRoundTrip: the driver's submission, the node's
// dispatch, the worker's run and reply, the driver's wakeup and read) time
// each stage from one entry to the next; a Chain strings the events of one
// round trip together, which holds while the driver runs one task at a
// time. Raw tracepoints on sched_wakeup and sched_switch give the
// scheduler's view of the same threads: how long a woken thread waits for
// a CPU, and how long a thread is off CPU after blocking or while still
// runnable (preempted, or yielding). Both stay in the target's processes: the driver and its
// workers (its children running the same executable, found again every
// second), through a BPF map of process IDs.
//
// Attach, Run, Close:
//
//	p, err := probe.Attach(probe.Config{PID: pid})
//	if err != nil {
//		return err // probe.ErrNotPermitted, probe.ErrNoBTF, ... say what is missing
//	}
//	defer p.Close()
//	report, err := p.Run(ctx, time.Second, func(last probe.Report) { last.WriteText(os.Stdout) })
//	report.WriteText(os.Stdout) // or encoding/json, or plots.Render(report.Figure("probe"), dir)
//
// What it needs: Linux with BTF (/sys/kernel/btf/vmlinux), root or
// CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN, and the host's PID namespace;
// Check says what is missing. The stage functions must be in the
// executable's symbol table (go tool nm): a function inlined everywhere
// has none, and gets //go:noinline. Only entries are probed, never
// returns: a uretprobe rewrites the return address, which Go's moving
// stacks do not survive.
//
// What it costs: a uprobe traps into the kernel. Attach measures one hit
// on its own process (Report.ProbeCostUS); every stage's time holds about
// one, so a short path looks longer probed than it is. The tables say so.
//
// The BPF side is bpf/probe.bpf.c, compiled by bpf2go into the committed
// bpf_bpfel.o and bpf_bpfel.go; `go generate` in this directory rebuilds
// them and needs clang.
package probe

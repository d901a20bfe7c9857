package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"manta/core"
)

// chaosProcess runs `manta chaos args… --json` as a process of its own
// (the test binary, see TestMain), within limit; its progress lines are
// handed to progress as they come. It returns the report and how the
// process exited.
func chaosProcess(t *testing.T, limit time.Duration, progress func(line string, cmd *exec.Cmd), args ...string) (chaosReport, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append(append([]string{"chaos"}, args...), "--json")...)
	cmd.Env = append(os.Environ(), envRunAsCLI+"=1")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		t.Log(sc.Text())
		if progress != nil {
			progress(sc.Text(), cmd)
		}
	}
	io.Copy(io.Discard, stderr)
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("manta chaos %v did not end within %v: a hang it did not report (its report so far: %s)", args, limit, stdout.String())
	}
	var rep chaosReport
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		t.Fatalf("manta chaos %v printed no report (%v; exit: %v):\n%s", args, jerr, err, stdout.String())
	}
	t.Logf("report: %s", stdout.String())
	return rep, err
}

// A run at a tiny scale: a head with three GCS replicas, three worker
// nodes and the driver, a few thousand tasks, and the four kills (a
// worker, an actor's process, a node manager, a GCS replica). Every result
// must be right, none may hang, and every kill must be done and followed
// by what the cluster owes it.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	rep, err := chaosProcess(t, 5*time.Minute, nil, "--tasks", "20000", "--batch", "1000", "--batch-timeout", "90s", "--seed", "7")
	if err != nil || !rep.Passed {
		t.Fatalf("manta chaos failed (%v): %s", err, rep.Verdict)
	}
	all := rep.Tasks
	if all.Submitted != 20000 || all.Wrong != 0 || all.Hung != 0 || all.NotChecked != 0 || all.Correct+all.Failed != all.Submitted {
		t.Errorf("tasks: %+v", all)
	}
	if rep.StoredReads.Wrong != 0 || rep.StoredReads.Hung != 0 || rep.StoredReads.Correct+rep.StoredReads.Failed != rep.StoredReads.Submitted {
		t.Errorf("stored reads: %+v", rep.StoredReads)
	}
	if rep.Unexpected != 0 {
		t.Errorf("errors the runtime does not document here: %v", rep.Errors)
	}
	var kinds []string
	for _, k := range rep.Kills {
		kinds = append(kinds, k.Kind)
		if k.PID == 0 || k.Anomaly != "" {
			t.Errorf("kill %+v", k)
		}
		if (k.Kind == "node" || k.Kind == "gcs") && k.After == "" {
			t.Errorf("nothing followed the %s kill: %+v", k.Kind, k)
		}
	}
	if strings.Join(kinds, ",") != "worker,actor,node,gcs" {
		t.Errorf("kills done: %v", kinds)
	}
	if rep.Runs["plain"] < rep.ByKind["plain"].Correct || rep.Runs["actor call"] < rep.ByKind["actor"].Correct {
		t.Errorf("fewer runs than right results: %v, %+v", rep.Runs, rep.ByKind)
	}
}

// A cluster that stops answering is a hang, reported as a failure with
// its evidence: the head and every node are frozen (SIGSTOP) while the
// workload runs, and the batch's deadline passes.
func TestChaosReportsAHang(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	frozen := false
	freeze := func(line string, cmd *exec.Cmd) {
		if frozen || !strings.Contains(line, " tasks checked, ") {
			return
		}
		frozen = true
		for _, pid := range chaosChildren(cmd.Process.Pid) {
			if args, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(args, []byte("\x00start\x00")) {
				syscall.Kill(pid, syscall.SIGSTOP)
			}
		}
	}
	rep, err := chaosProcess(t, 5*time.Minute, freeze, "--tasks", "100000", "--batch", "200", "--batch-timeout", "5s", "--kills", "")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || rep.Passed || rep.Tasks.Hung+rep.StoredReads.Hung == 0 || !strings.Contains(rep.Verdict, "hangs") {
		t.Fatalf("a frozen cluster: exit %v, verdict %q, tasks %+v; want a failure with hangs", err, rep.Verdict, rep.Tasks)
	}
	if rep.Logs == "" {
		t.Fatal("a failed run kept no logs")
	}
	defer os.RemoveAll(rep.Logs)
	for _, f := range []string{"driver-goroutines.txt", "hung.txt", "head.log", "node-1.log"} {
		if _, err := os.Stat(rep.Logs + "/" + f); err != nil {
			t.Errorf("evidence: %v", err)
		}
	}
}

// The checks themselves: an actor's replies out of order, or from an
// incarnation already replaced, are wrong; a wrong result or a hang fails
// the run, a documented typed error does not.
func TestChaosChecks(t *testing.T) {
	// Incarnation 1 answered the actor's call #0 as its call 5.
	r := &chaosRun{actorSeq: []chaosOrder{{ordinal: 1, seen: map[uint64]chaosSeen{1: {5, 0}}, newest: 1}}}
	steps := []struct {
		inc  uint64
		seq  int64
		ok   bool
		what string
	}{
		{1, 6, true, "the next call"},
		{1, 6, false, "a call run twice in one incarnation"},
		{2, 2, true, "a restarted actor's second call (its first answered by the old one)"},
		{1, 8, true, "the old incarnation answering after the new one, having run the calls answered by others"},
		{1, 11, false, "the old incarnation skipping a call no one else answered"},
		{2, 6, false, "the new incarnation running more calls than were made"},
		{3, 20, false, "a new incarnation's first answer beyond the calls made"},
	}
	for n, s := range steps {
		i := int64(10 + n)
		rep := chaosReply{Actor: 0, Value: chaosMix(uint64(i)), Incarnation: s.inc, Seq: s.seq}
		if problem := r.checkCall(0, i, rep); (problem == "") != s.ok {
			t.Errorf("%s: %q", s.what, problem)
		}
		r.actorSeq[0].ordinal++
	}
	if problem := r.checkCall(0, 99, chaosReply{Actor: 0, Value: 1, Incarnation: 2, Seq: 9}); problem == "" {
		t.Error("a wrong value passed")
	}
	if r.report.InterleavedAnswers != 2 {
		t.Errorf("%d interleaved answers; want 2", r.report.InterleavedAnswers)
	}
	// Incarnation 4 ran calls at 10 and 30, 5 at 20: both alive at once.
	r.actorSeq[0].lives, r.report.Overlaps = nil, nil // the calls above all ran at 0
	for _, c := range []struct {
		inc uint64
		ran int64
	}{{4, 10}, {5, 20}, {4, 30}} {
		r.checkLives(0, chaosReply{Incarnation: c.inc, Ran: c.ran})
		if got := len(r.report.Overlaps); got != int(c.ran/30) {
			t.Errorf("after incarnation %d ran at %d: %d overlaps reported: %v", c.inc, c.ran, got, r.report.Overlaps)
		}
	}
	verdict := func(edit func(*chaosReport)) bool {
		r := &chaosRun{report: chaosReport{Errors: map[string]int64{}}}
		edit(&r.report)
		r.finish(nil)
		return r.report.Passed
	}
	if !verdict(func(*chaosReport) {}) {
		t.Error("a clean run failed")
	}
	if verdict(func(rep *chaosReport) { rep.Tasks.Wrong = 1 }) || verdict(func(rep *chaosReport) { rep.StoredReads.Hung = 1 }) ||
		verdict(func(rep *chaosReport) { rep.Unexpected = 1 }) || verdict(func(rep *chaosReport) { rep.Overlaps = []string{"two lives"} }) {
		t.Error("a run with a wrong result, a hang or an undocumented error passed")
	}
	if name, documented := chaosErrorKind(fmt.Errorf("lost: %w", core.ErrRetriesExhausted)); !documented || !strings.Contains(name, "ErrRetriesExhausted") {
		t.Errorf("ErrRetriesExhausted: %s, %v", name, documented)
	}
	if _, documented := chaosErrorKind(errors.New("no sentinel")); documented {
		t.Error("an untyped error counted as documented")
	}
}

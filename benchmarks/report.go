package benchmarks

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ReportInfo is what REPORT.md says about the run as a whole.
type ReportInfo struct {
	Scale   Scale
	Machine Machine
	Elapsed time.Duration
	Command string
	Paper   *PaperData
}

// Report renders REPORT.md: for each experiment the paper's claim,
// manta's result, their ratio and exactly what differs in the setup, with
// a summary table first so a reader sees at a glance what reproduces.
func Report(results []Result, info ReportInfo) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := info.Machine
	w("# manta against the Ray paper's evaluation\n\n")
	if info.Command != "" {
		w("Made by `%s`", info.Command)
	} else {
		w("Made by `manta bench`")
	}
	w(" at scale **%s** in %s.\n", info.Scale, roundDur(info.Elapsed))
	w("Machine: %s, %d cores, %s memory, %s %s/%s, commit %s", m.CPU, m.Cores, gib(m.MemoryBytes), m.GoVersion, m.OS, m.Arch, short(m.Commit))
	if m.LoadAverage != "" {
		w("; load average %s when the run started (other work on the machine makes timings noisy)", m.LoadAverage)
	}
	w(".\n")
	if info.Paper != nil {
		w("Paper: %s The paper's numbers are in `benchmarks/paper.json`, each with its figure or table, section and page.\n", info.Paper.Source)
	}
	w("\nEverything runs on this one machine: worker processes of one embedded node, not a cluster of EC2 instances. ")
	w("Ratios are manta / paper; where the setups differ (below, per experiment) a ratio compares orders of magnitude, not implementations.\n\n")

	byState := map[string][]string{}
	var failed []string
	for _, r := range results {
		byState[string(r.State)] = append(byState[string(r.State)], r.ID)
		if r.Status == StatusFailed {
			failed = append(failed, r.ID)
		}
	}
	for _, s := range []State{Reproduced, Partial, NotBuilt} {
		ids := byState[string(s)]
		if len(ids) == 0 {
			ids = []string{"none"}
		}
		w("- **%s**: %s\n", cap1(string(s)), strings.Join(ids, ", "))
	}
	if len(failed) == 0 {
		failed = []string{"none"}
	}
	w("- **Failed in this run**: %s\n\n", strings.Join(failed, ", "))

	w("## At a glance\n\n")
	w("| id | paper | state | this run | paper's claim | manta | manta / paper |\n|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		run := string(r.Status)
		if r.Status != StatusNotBuilt {
			run += fmt.Sprintf(", %s", roundDur(r.Duration))
		}
		heads := headlines(r)
		switch {
		case r.Status == StatusNotBuilt:
			w("| %s | %s | %s | %s | %s | not yet reproduced | - |\n", link(r), r.Paper, r.State, run, cell(firstClaim(r)))
		case r.Status == StatusFailed && len(heads) == 0:
			w("| %s | %s | %s | **%s** | %s | %s | - |\n", link(r), r.Paper, r.State, run, cell(firstClaim(r)), cell(firstLine(r.Error)))
		default:
			for i, h := range heads {
				id, paperRef, state, runCell := link(r), r.Paper, string(r.State), run
				if i > 0 {
					id, paperRef, state, runCell = "", "", "", ""
				}
				w("| %s | %s | %s | %s | %s | %s | %s |\n", id, paperRef, state, runCell, cell(claimSide(h, r)), cell(h.Name+": "+value(h)), ratio(h))
			}
		}
	}
	w("\n")

	for _, r := range results {
		w("## %s: %s\n\n", r.ID, r.Title)
		w("*Reproduces* %s · *state* %s · *this run* %s", r.Paper, r.State, r.Status)
		if r.Status != StatusNotBuilt {
			w(" in %s at scale %s", roundDur(r.Duration), r.Scale)
		}
		w("\n\n")
		if len(r.Claims) > 0 {
			w("**The paper says**\n\n")
			for _, c := range r.Claims {
				w("- %s (%s)\n", c.Text, c.Cite())
			}
			w("\n")
		}
		switch r.Status {
		case StatusNotBuilt:
			w("**manta:** not yet reproduced: the capability this figure measures has not landed, so nothing is run or shown.\n\n")
		case StatusFailed:
			w("**This run failed:**\n\n```\n%s\n```\n\n", strings.TrimSpace(r.Error))
		}
		if len(r.Metrics) > 0 {
			w("**manta**\n\n| metric | manta | ± (std. dev.) | runs | compared with | manta / it | note |\n|---|---|---|---|---|---|---|\n")
			for _, mt := range r.Metrics {
				errCell, n := "", ""
				if mt.Err > 0 {
					errCell = num(mt.Err)
				}
				if mt.N > 0 {
					n = strconv.Itoa(mt.N)
				}
				w("| %s | %s %s | %s | %s | %s | %s | %s |\n", cell(mt.Name), num(mt.Value), mt.Unit, errCell, n, cell(paperSide(mt)), ratio(mt), cell(mt.Note))
			}
			w("\n")
		}
		if r.Setup != "" {
			if r.Status == StatusNotBuilt {
				w("**What is missing:** %s\n\n", r.Setup)
			} else {
				w("**What differs from the paper's setup:** %s\n\n", r.Setup)
			}
		}
		for _, n := range r.Notes {
			w("%s\n\n", n)
		}
		for _, f := range r.Figures {
			if !hasFile(r, f.Name+".png") {
				continue
			}
			w("![%s](%s.png)\n\n", f.Title, f.Name)
			if f.Caption != "" {
				w("*%s* ", f.Caption)
			}
			w("([SVG](%s.svg))\n\n", f.Name)
		}
	}
	return b.String()
}

func headlines(r Result) []Metric {
	var hs []Metric
	for _, m := range r.Metrics {
		if m.Headline {
			hs = append(hs, m)
		}
	}
	if len(hs) == 0 && len(r.Metrics) > 0 {
		hs = r.Metrics[:1]
	}
	return hs
}

func firstClaim(r Result) string {
	if len(r.Claims) == 0 {
		return "-"
	}
	c := r.Claims[0]
	s := c.Quantity + ": " + claimValue(c)
	if len(r.Claims) > 1 {
		s += fmt.Sprintf(" (+%d more)", len(r.Claims)-1)
	}
	return s
}

func claimValue(c Claim) string {
	v := num(c.Value)
	if c.ValueMax > 0 {
		v += "-" + num(c.ValueMax)
	}
	switch c.Kind {
	case "lower bound":
		v = "> " + v
	case "upper bound":
		v = "< " + v
	case "about":
		v = "~" + v
	}
	return v + " " + c.Unit
}

// claimSide is the paper's side of a headline metric: the claim's
// quantity and value when the metric names one.
func claimSide(m Metric, r Result) string {
	for _, c := range r.Claims {
		if c.ID == m.Claim {
			return c.Quantity + ": " + claimValue(c) + " (" + c.Cite() + ")"
		}
	}
	return paperSide(m)
}

func paperSide(m Metric) string {
	if m.Paper == nil {
		return "-"
	}
	return num(*m.Paper) + " " + m.Unit + " (" + m.Source + ")"
}

func value(m Metric) string {
	s := num(m.Value)
	if m.Err > 0 {
		s += " ± " + num(m.Err)
	}
	return s + " " + m.Unit
}

func ratio(m Metric) string {
	if m.Ratio == nil {
		return "-"
	}
	return num(*m.Ratio) + "×"
}

func hasFile(r Result, name string) bool {
	for _, f := range r.Files {
		if f == name {
			return true
		}
	}
	return false
}

func link(r Result) string { return fmt.Sprintf("[%s](#%s)", r.ID, anchor(r.ID+": "+r.Title)) }

// anchor is GitHub's heading anchor: lower case, spaces to '-', most
// punctuation dropped.
func anchor(h string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(h) {
		switch {
		case c == ' ':
			b.WriteByte('-')
		case c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c > 127:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// num formats with three significant digits and a K/M/G suffix for large
// values: 22300 -> 22.3K, 0.01234 -> 0.0123.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case a >= 1e9:
		return sig3(v/1e9) + "G"
	case a >= 1e6:
		return sig3(v/1e6) + "M"
	case a >= 1e4:
		return sig3(v/1e3) + "K"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return sig3(v)
}

func sig3(v float64) string {
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ")
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

func cap1(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func gib(b uint64) string {
	if b == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}

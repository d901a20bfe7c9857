// Command importcheck enforces manta's package layering (docs/ARCHITECTURE.md):
// it lists every package's imports with `go list` and fails if one reaches a
// package it must not. `make check` runs it.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// forbidden maps a package prefix to the prefixes it must not import,
// directly or not. Imports point down: core wires the lower layers together.
var forbidden = map[string][]string{
	"manta/sched": {"manta/core", "manta/rpc", "manta/shm", "manta/gcs"},
	"manta/shm":   {"manta/core", "manta/sched", "manta/gcs", "manta/rpc"},
	"manta/rpc":   {"manta/core", "manta/sched"},
	"manta/gcs":   {"manta/core", "manta/sched"},
	"manta/sims":  {"manta/core"},
	"manta/plots": {"manta/core", "manta/sched", "manta/gcs"},
	"manta/core":  {"manta/benchmarks", "manta/cmd", "manta/rl", "manta/plots", "manta/sims"},
}

func main() {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "importcheck: go list:", err)
		os.Exit(2)
	}
	var problems []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		pkg, deps := fields[0], fields[1:]
		for owner, bans := range forbidden {
			if !within(pkg, owner) {
				continue
			}
			for _, d := range deps {
				for _, ban := range bans {
					if within(d, ban) {
						problems = append(problems, fmt.Sprintf("%s depends on %s (%s must not import %s)", pkg, d, owner, ban))
					}
				}
			}
		}
		for _, d := range deps {
			if within(d, "manta/cmd") {
				problems = append(problems, fmt.Sprintf("%s depends on command %s", pkg, d))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		fmt.Fprintln(os.Stderr, strings.Join(problems, "\n"))
		os.Exit(1)
	}
}

func within(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

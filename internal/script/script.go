package script

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// Func runs one command and returns its output. An error fails the test:
// it is for a malformed script, not for what the system under test
// reports (print that).
type Func func(cmd string, args Args) (string, error)

// Walk runs every script under dir; start makes the state for one file.
func Walk(t *testing.T, dir string, start func(t *testing.T) Func) {
	datadriven.Walk(t, dir, func(t *testing.T, path string) {
		run := start(t)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			fields := make([]string, 0, len(d.CmdArgs))
			for _, a := range d.CmdArgs {
				fields = append(fields, a.String())
			}
			got, err := run(d.Cmd, Parse(fields))
			if err != nil {
				t.Fatalf("%s: %s %s: %v", d.Pos, d.Cmd, strings.Join(fields, " "), err)
			}
			return got
		})
	})
}

// Args are a command's arguments: key=value pairs and bare words.
type Args struct {
	pairs map[string]string
	words []string
}

// Parse splits fields into key=value pairs and bare words.
func Parse(fields []string) Args {
	a := Args{pairs: map[string]string{}}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			a.pairs[k] = v
		} else {
			a.words = append(a.words, f)
		}
	}
	return a
}

// Has reports whether key=... was given.
func (a Args) Has(key string) bool {
	_, ok := a.pairs[key]
	return ok
}

// Get returns the value of key, or an error if it is missing.
func (a Args) Get(key string) (string, error) {
	v, ok := a.pairs[key]
	if !ok {
		return "", fmt.Errorf("missing %s=", key)
	}
	return v, nil
}

// Pairs returns a copy of every key=value argument.
func (a Args) Pairs() map[string]string { return maps.Clone(a.pairs) }

// Words returns the bare words, in order.
func (a Args) Words() []string { return a.words }

// Word returns the bare words joined by commas ("" for none).
func (a Args) Word() string { return strings.Join(a.words, ",") }

// Uint parses key as an unsigned integer.
func (a Args) Uint(key string) (uint64, error) {
	v, err := a.Get(key)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(v, 10, 64)
}

// IntOr parses key as an integer, def when it is missing.
func (a Args) IntOr(key string, def int) (int, error) {
	v, ok := a.pairs[key]
	if !ok {
		return def, nil
	}
	return strconv.Atoi(v)
}

// IDs parses a list such as "1..3,7" from key, or from the bare words
// when key is missing.
func (a Args) IDs(key string) ([]uint64, error) {
	v, ok := a.pairs[key]
	if !ok {
		v, ok = a.Word(), len(a.words) > 0
	}
	if !ok {
		return nil, fmt.Errorf("missing %s=", key)
	}
	var ids []uint64
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "..")
		from, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, err
		}
		to := from
		if isRange {
			if to, err = strconv.ParseUint(hi, 10, 64); err != nil {
				return nil, err
			}
		}
		for id := from; id <= to; id++ {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

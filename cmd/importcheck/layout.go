package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Layout is the package table of docs/ARCHITECTURE.md: for every package
// of the module, what it may import and what its tests may import besides.
type Layout struct {
	Module string
	Rows   map[string]*Row // by import path
}

// Row is one package's line of the table.
type Row struct {
	Line     int      // in the document, for messages
	Allowed  []string // import paths and module paths the package may import
	TestOnly []string // what its tests may import on top of Allowed
}

// Package is what `go list` says of one package.
type Package struct {
	Path        string
	Imports     []string
	TestImports []string // of its in-package and external tests
}

// ParseLayout reads the first Markdown table under the "## Packages"
// heading. Every cell names packages in backticks: module-relative paths
// (`shm/store`) for manta's own, full module paths
// (`golang.org/x/sys`) for third-party ones; words outside backticks
// are for the reader. The columns are the package, what it holds, what it
// may import, and what its tests may import besides.
func ParseLayout(r io.Reader, module string) (*Layout, error) {
	l := &Layout{Module: module, Rows: map[string]*Row{}}
	sc := bufio.NewScanner(r)
	section, inTable, n := false, false, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			if section && inTable {
				break
			}
			section = line == "## Packages"
			continue
		}
		if !section || !strings.HasPrefix(line, "|") {
			if inTable {
				break // the table has ended
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(strings.ReplaceAll(line, `\|`, "/"), "|"), "|")
		if len(cells) != 4 {
			return nil, fmt.Errorf("line %d: the package table needs 4 columns, this row has %d", n, len(cells))
		}
		names := backticked(cells[0])
		if len(names) == 0 {
			continue // the header and its separator
		}
		if len(names) != 1 {
			return nil, fmt.Errorf("line %d: a row names one package, this one %v", n, names)
		}
		path := l.fullPath(names[0])
		if prev := l.Rows[path]; prev != nil {
			return nil, fmt.Errorf("line %d: %s has a row already, on line %d", n, names[0], prev.Line)
		}
		row := &Row{Line: n}
		for _, a := range backticked(cells[2]) {
			row.Allowed = append(row.Allowed, l.fullPath(a))
		}
		for _, a := range backticked(cells[3]) {
			row.TestOnly = append(row.TestOnly, l.fullPath(a))
		}
		l.Rows[path] = row
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(l.Rows) == 0 {
		return nil, fmt.Errorf(`no package table under "## Packages"`)
	}
	return l, nil
}

// fullPath turns a table entry into an import path: third-party paths
// start with a domain, manta's are relative to the module.
func (l *Layout) fullPath(name string) string {
	if isThirdParty(name) {
		return name
	}
	return l.Module + "/" + name
}

// Check returns a sentence for each thing that departs from the table:
// an import it does not allow, a package without a row, a row without a
// package, and a third-party module it names that go.mod does not require.
func (l *Layout) Check(pkgs []Package, required []string) []string {
	var problems []string
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.Path] = true
		row := l.Rows[p.Path]
		if row == nil {
			problems = append(problems, fmt.Sprintf("%s has no row in the package table", p.Path))
			continue
		}
		for _, imp := range p.Imports {
			if !l.allows(p.Path, row.Allowed, imp) {
				problems = append(problems, fmt.Sprintf("%s imports %s, which its row (line %d) does not allow", p.Path, imp, row.Line))
			}
		}
		testAllowed := append(slices.Clone(row.Allowed), row.TestOnly...)
		for _, imp := range p.TestImports {
			if !l.allows(p.Path, testAllowed, imp) {
				problems = append(problems, fmt.Sprintf("tests of %s import %s, which its row (line %d) does not allow", p.Path, imp, row.Line))
			}
		}
	}
	for path, row := range l.Rows {
		if !seen[path] {
			problems = append(problems, fmt.Sprintf("line %d: %s is in the package table but not in the module", row.Line, path))
		}
		for _, a := range append(slices.Clone(row.Allowed), row.TestOnly...) {
			if isThirdParty(a) && !slices.ContainsFunc(required, func(m string) bool { return within(a, m) }) {
				problems = append(problems, fmt.Sprintf("line %d: %s is not a module go.mod requires", row.Line, a))
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// allows reports whether pkg, whose row lists allowed, may import imp.
// The standard library is always allowed, and a package its own tests;
// a module path allows every package in that module.
func (l *Layout) allows(pkg string, allowed []string, imp string) bool {
	if imp == pkg {
		return true
	}
	if !isThirdParty(imp) && !within(imp, l.Module) {
		return true // the standard library
	}
	for _, a := range allowed {
		if imp == a || isThirdParty(a) && within(imp, a) {
			return true
		}
	}
	return false
}

// isThirdParty reports whether an import path starts with a domain.
func isThirdParty(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return strings.Contains(first, ".")
}

func within(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

// backticked returns the `quoted` words of a table cell.
func backticked(cell string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(cell, "`")
		if !ok {
			return out
		}
		word, after, ok := strings.Cut(rest, "`")
		if !ok {
			return out
		}
		if word = strings.TrimSpace(word); word != "" {
			out = append(out, word)
		}
		cell = after
	}
}

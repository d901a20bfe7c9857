// Command importcheck enforces manta's package layering: the package table
// of docs/ARCHITECTURE.md is an allowlist. Every package of the module must
// have a row, import only the manta packages and third-party modules its
// row names (and the standard library), and its tests only those and the
// row's test-only ones; every row must name a package that exists and
// modules that go.mod requires. It reads `go list` from the module root;
// `make check` runs it.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

const layoutDoc = "docs/ARCHITECTURE.md"

func main() {
	problems, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "importcheck:", err)
		os.Exit(2)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "importcheck: the code departs from the package table of %s:\n  %s\n", layoutDoc, strings.Join(problems, "\n  "))
		os.Exit(1)
	}
}

func run() ([]string, error) {
	mod, err := goOutput("list", "-m", "-json")
	if err != nil {
		return nil, err
	}
	var module struct{ Path string }
	if err := json.NewDecoder(bytes.NewReader(mod)).Decode(&module); err != nil {
		return nil, fmt.Errorf("go list -m: %w", err)
	}
	doc, err := os.Open(layoutDoc)
	if err != nil {
		return nil, err
	}
	defer doc.Close()
	layout, err := ParseLayout(doc, module.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", layoutDoc, err)
	}
	list, err := goOutput("list", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	if err != nil {
		return nil, err
	}
	pkgs, err := decodePackages(bytes.NewReader(list))
	if err != nil {
		return nil, err
	}
	deps, err := goOutput("list", "-m", "-f", "{{if not (or .Main .Indirect)}}{{.Path}}{{end}}", "all")
	if err != nil {
		return nil, err
	}
	return layout.Check(pkgs, strings.Fields(string(deps))), nil
}

// decodePackages reads the stream of JSON objects `go list -json` writes.
func decodePackages(r io.Reader) ([]Package, error) {
	var pkgs []Package
	dec := json.NewDecoder(r)
	for dec.More() {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		pkgs = append(pkgs, Package{Path: p.ImportPath, Imports: p.Imports, TestImports: append(p.TestImports, p.XTestImports...)})
	}
	return pkgs, nil
}

func goOutput(args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

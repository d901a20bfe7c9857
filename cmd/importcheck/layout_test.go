package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

const fixture = `# x

## Packages

| package | what it holds | may import | its tests may also import |
|---|---|---|---|
| ` + "`low`" + ` | the bottom; a pipe \| in prose | standard library | ` + "`testkit`" + ` |
| ` + "`mid`" + ` | uses low | ` + "`low`, `golang.org/x/sys`" + ` | |
| ` + "`testkit`" + ` | for tests | ` + "`github.com/cockroachdb/datadriven`" + ` | |

Text after the table.

| ` + "`other`" + ` | a later table is not the layout | | |
`

func TestCheck(t *testing.T) {
	l, err := ParseLayout(strings.NewReader(fixture), "m")
	if err != nil {
		t.Fatal(err)
	}
	required := []string{"golang.org/x/sys", "github.com/cockroachdb/datadriven"}
	good := []Package{
		{Path: "m/low", Imports: []string{"fmt"}, TestImports: []string{"m/low", "m/testkit", "testing"}},
		{Path: "m/mid", Imports: []string{"m/low", "golang.org/x/sys/unix"}},
		{Path: "m/testkit", Imports: []string{"github.com/cockroachdb/datadriven"}},
	}
	if problems := l.Check(good, required); len(problems) != 0 {
		t.Fatalf("a layout that keeps to its table: %q", problems)
	}
	bad := []Package{
		{Path: "m/low", Imports: []string{"m/mid"}, TestImports: []string{"github.com/other/mod"}},
		{Path: "m/mid", Imports: []string{"m/testkit", "golang.org/x/sysx"}},
		{Path: "m/new"},
	}
	want := []string{
		"line 8: golang.org/x/sys is not a module go.mod requires",
		"line 9: m/testkit is in the package table but not in the module",
		"m/low imports m/mid, which its row (line 7) does not allow",
		"m/mid imports golang.org/x/sysx, which its row (line 8) does not allow",
		"m/mid imports m/testkit, which its row (line 8) does not allow",
		"m/new has no row in the package table",
		"tests of m/low import github.com/other/mod, which its row (line 7) does not allow",
	}
	got := l.Check(bad, []string{"github.com/cockroachdb/datadriven"})
	if !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseLayoutErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"no table":      "# x\n\n## Packages\n\nnone\n",
		"three columns": "## Packages\n\n| `a` | b | c |\n",
		"two packages":  "## Packages\n\n| `a` `b` | b | | |\n",
		"twice":         "## Packages\n\n| `a` | | | |\n| `a` | | | |\n",
	} {
		if _, err := ParseLayout(strings.NewReader(doc), "m"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestArchitectureTable parses the real document, so a table that stopped
// parsing fails here and not only in make check.
func TestArchitectureTable(t *testing.T) {
	f, err := os.Open("../../" + layoutDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := ParseLayout(f, "manta")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"manta/core", "manta/node", "manta/cmd/importcheck"} {
		if l.Rows[pkg] == nil {
			t.Errorf("no row for %s", pkg)
		}
	}
}

package script

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestScripts runs testdata/args.txt, which exercises Args through Walk.
func TestScripts(t *testing.T) {
	Walk(t, "testdata", func(t *testing.T) Func {
		return func(cmd string, a Args) (string, error) {
			switch cmd {
			case "ids":
				ids, err := a.IDs("of")
				return fmt.Sprint(ids), err
			case "show":
				keys := slices.Sorted(func(yield func(string) bool) {
					for k := range a.Pairs() {
						if k != "n" && !yield(k) {
							return
						}
					}
				})
				var b strings.Builder
				for _, k := range keys {
					v, _ := a.Get(k)
					fmt.Fprintf(&b, "%s=%s ", k, v)
				}
				n, err := a.IntOr("n", 7)
				fmt.Fprintf(&b, "n=%d words=%q", n, a.Words())
				return b.String(), err
			}
			return "", fmt.Errorf("unknown command %q", cmd)
		}
	})
}

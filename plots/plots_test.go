package plots

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderTestdata renders every figure of every fixed result file in
// testdata and checks that the PNG decodes and the SVG is an SVG.
func TestRenderTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	kinds := map[Kind]bool{}
	out := t.TempDir()
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		figs, err := ReadFigures(f)
		f.Close()
		if err != nil || len(figs) == 0 {
			t.Fatalf("%s: %d figures, %v", file, len(figs), err)
		}
		for _, fig := range figs {
			kinds[fig.Kind] = true
			paths, err := Render(fig, out)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(paths) != 2 {
				t.Fatalf("%s: wrote %v", file, paths)
			}
			checkPNG(t, paths[0])
			checkSVG(t, paths[1])
		}
	}
	if !kinds[KindBars] || !kinds[KindLines] {
		t.Fatalf("testdata covers kinds %v, want bars and lines", kinds)
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		t.Fatalf("%s: %d bytes, %v", path, len(b), err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r := img.Bounds(); r.Dx() < 300 || r.Dy() < 200 {
		t.Fatalf("%s: %v", path, r)
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 || !bytes.Contains(b, []byte("<svg")) {
		t.Fatalf("%s: %d bytes, %v", path, len(b), err)
	}
}

func TestValidateRefusesWhatCannotBeDrawn(t *testing.T) {
	good := func() Figure {
		return Figure{Name: "f", Kind: KindLines, LogY: true, Series: []Series{{Label: "a", X: []float64{1, 2}, Y: []float64{1, 2}}}}
	}
	cases := map[string]func(*Figure){
		"bad name":       func(f *Figure) { f.Name = "../x" },
		"no series":      func(f *Figure) { f.Series = nil },
		"unknown kind":   func(f *Figure) { f.Kind = "pie" },
		"length":         func(f *Figure) { f.Series[0].X = f.Series[0].X[:1] },
		"err length":     func(f *Figure) { f.Series[0].Err = []float64{1} },
		"zero on log":    func(f *Figure) { f.Series[0].Y[0] = 0 },
		"bars no cats":   func(f *Figure) { f.Kind = KindBars },
		"negative error": func(f *Figure) { f.Series[0].Err = []float64{-1, 1} },
	}
	for name, mutate := range cases {
		f := good()
		mutate(&f)
		if _, err := Render(f, t.TempDir()); !errors.Is(err, ErrBadFigure) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Render(good(), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	// A bar chart may leave a value out (0) on a log axis.
	bars := Figure{Name: "b", Kind: KindBars, LogY: true, Categories: []string{"a", "b"},
		Series: []Series{{Label: "x", Y: []float64{10, 100}}, {Label: "y", Y: []float64{0, 5}, Paper: true}}}
	if _, err := Render(bars, t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

func TestRenderUnwritableDir(t *testing.T) {
	f := Figure{Name: "f", Kind: KindBars, Categories: []string{"a"}, Series: []Series{{Label: "a", Y: []float64{1}}}}
	_, err := Render(f, filepath.Join(t.TempDir(), "missing", "dir"))
	if err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Fatalf("got %v", err)
	}
}

func TestSILabelAndCDF(t *testing.T) {
	for v, want := range map[float64]string{22300: "22.3K", 4.03e6: "4.03M", 0.5: "0.5", 208000: "208K", 1: "1", 1e9: "1G"} {
		if got := siLabel(v); got != want {
			t.Errorf("siLabel(%v) = %q, want %q", v, got, want)
		}
	}
	x, y := CDF([]float64{3, 1, 2, 4}, 0)
	if len(x) != 4 || x[0] != 1 || x[3] != 4 || y[0] != 0.25 || y[3] != 1 {
		t.Fatalf("CDF: %v %v", x, y)
	}
	many := make([]float64, 1000)
	for i := range many {
		many[i] = float64(1000 - i)
	}
	x, y = CDF(many, 50)
	if len(x) > 51 || x[len(x)-1] != 1000 || y[len(y)-1] != 1 {
		t.Fatalf("thinned CDF: %d points, last %v %v", len(x), x[len(x)-1], y[len(y)-1])
	}
	if x, y := CDF(nil, 10); x != nil || y != nil {
		t.Fatal("CDF of nothing")
	}
}

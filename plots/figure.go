package plots

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"manta/internal/atomicfile"
)

// Kind is the shape of a figure; each has its own drawing function.
type Kind string

const (
	// KindBars is a grouped bar chart (Bars): one group per category, one
	// bar per series, error bars where a series has Err.
	KindBars Kind = "bars"
	// KindLines is a line or scatter plot over a numeric X axis (Lines),
	// linear or logarithmic, error bars where a series has Err.
	KindLines Kind = "lines"
)

// Style says how a series of a line plot is drawn.
type Style string

const (
	// StyleLinePoints draws a line through the points and a glyph at each
	// (the default).
	StyleLinePoints Style = ""
	// StylePoints draws glyphs only.
	StylePoints Style = "points"
	// StyleLine draws a line only (CDFs, reference lines).
	StyleLine Style = "line"
)

// Series is one named set of values. In a bar chart Y[i] belongs to
// Figure.Categories[i]; in a line plot (X[i], Y[i]) is a point.
type Series struct {
	Label string    `json:"label"`
	X     []float64 `json:"x,omitempty"`
	Y     []float64 `json:"y"`
	// In a bar chart a value of 0 draws no bar: on a logarithmic axis it
	// stands for a missing value.
	//
	// Err is the half-width of each value's error bar (for example one
	// standard deviation over repeated runs); empty for none.
	Err []float64 `json:"err,omitempty"`
	// Paper marks the paper's stated numbers: drawn in dark grey with
	// hollow glyphs and dashed lines (line plots) or as outlined, unfilled
	// bars (bar charts), so they read as an overlay. Say so in the label
	// ("paper: Ray, 1 CPU").
	Paper bool  `json:"paper,omitempty"`
	Style Style `json:"style,omitempty"`
}

// Figure describes one plot completely: it is what result files store and
// what Render draws, so a figure can be redrawn from its JSON alone.
type Figure struct {
	// Name is the file name without extension: Render writes Name.png and
	// Name.svg. Letters, digits, '.', '_' and '-' only.
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Title  string `json:"title"`
	XLabel string `json:"x_label,omitempty"`
	YLabel string `json:"y_label"`
	LogX   bool   `json:"log_x,omitempty"`
	LogY   bool   `json:"log_y,omitempty"`
	// XTicks, when set, are the only labelled ticks of a line plot's X
	// axis (for example the worker counts 1, 2, 16, 256).
	XTicks []float64 `json:"x_ticks,omitempty"`
	// Categories name the groups of a bar chart, in order.
	Categories []string `json:"categories,omitempty"`
	Series     []Series `json:"series"`
	// Legend places the legend: "top-left" (the default), "top-right",
	// "bottom-left" or "bottom-right".
	Legend string `json:"legend,omitempty"`
	// Caption is a sentence for the report under the image; it is not drawn.
	Caption string `json:"caption,omitempty"`
}

// Size of every rendered figure.
const (
	Width  = 7 * vg.Inch
	Height = 4.5 * vg.Inch
)

var nameOK = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// ErrBadFigure is wrapped by every error about a figure's description.
var ErrBadFigure = errors.New("plots: bad figure")

// Validate checks that the figure can be drawn: a usable name, a known
// kind, consistent series lengths, finite values, positive values on
// logarithmic axes.
func (f *Figure) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrBadFigure, f.Name, fmt.Sprintf(format, args...))
	}
	if !nameOK.MatchString(f.Name) {
		return bad("name must be letters, digits, '.', '_' or '-'")
	}
	if len(f.Series) == 0 {
		return bad("no series")
	}
	switch f.Legend {
	case "", "top-left", "top-right", "bottom-left", "bottom-right":
	default:
		return bad("unknown legend position %q", f.Legend)
	}
	for _, s := range f.Series {
		switch f.Kind {
		case KindBars:
			if len(f.Categories) == 0 {
				return bad("a bar chart needs categories")
			}
			if len(s.Y) != len(f.Categories) {
				return bad("series %q has %d values for %d categories", s.Label, len(s.Y), len(f.Categories))
			}
		case KindLines:
			if len(s.X) != len(s.Y) || len(s.Y) == 0 {
				return bad("series %q has %d x and %d y values", s.Label, len(s.X), len(s.Y))
			}
		default:
			return bad("unknown kind %q", f.Kind)
		}
		if len(s.Err) != 0 && len(s.Err) != len(s.Y) {
			return bad("series %q has %d error values for %d values", s.Label, len(s.Err), len(s.Y))
		}
		for i, y := range s.Y {
			if math.IsNaN(y) || math.IsInf(y, 0) {
				return bad("series %q value %d is %v", s.Label, i, y)
			}
			if f.LogY && (y < 0 || (y == 0 && f.Kind != KindBars)) {
				return bad("series %q value %d is %v on a log axis", s.Label, i, y)
			}
			if len(s.Err) > 0 && (s.Err[i] < 0 || math.IsNaN(s.Err[i]) || math.IsInf(s.Err[i], 0)) {
				return bad("series %q error %d is %v", s.Label, i, s.Err[i])
			}
		}
		for i, x := range s.X {
			if math.IsNaN(x) || math.IsInf(x, 0) || (f.LogX && x <= 0) {
				return bad("series %q x value %d is %v", s.Label, i, x)
			}
		}
	}
	return nil
}

// Plot builds the gonum plot of a figure with the function for its kind.
func Plot(f Figure) (*plot.Plot, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Kind == KindBars {
		return Bars(f)
	}
	return Lines(f)
}

// Render draws f into dir as Name.png and Name.svg and returns the two
// paths. SVG text refers to fonts by name (they are not embedded).
func Render(f Figure, dir string) ([]string, error) {
	p, err := Plot(f)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, ext := range []string{".png", ".svg"} {
		path := filepath.Join(dir, f.Name+ext)
		if err := save(p, path, ext[1:]); err != nil {
			return paths, fmt.Errorf("plots: cannot write %s: %w", path, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// save writes p in format to a temporary file and renames it into place,
// so a reader never sees half an image.
func save(p *plot.Plot, path, format string) (err error) {
	wt, err := p.WriterTo(Width, Height, format)
	if err != nil {
		return err
	}
	return atomicfile.WriteFrom(path, wt)
}

// ReadFigures decodes the figures of a result file: any JSON object with
// a "figures" array of Figure (as manta's benchmark results are), or a
// single Figure object.
func ReadFigures(r io.Reader) ([]Figure, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var file struct {
		Figures []Figure `json:"figures"`
		Kind    Kind     `json:"kind"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("plots: cannot decode figures: %w", err)
	}
	if file.Kind != "" {
		var f Figure
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("plots: cannot decode figure: %w", err)
		}
		return []Figure{f}, nil
	}
	return file.Figures, nil
}

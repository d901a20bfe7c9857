package plots

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	paperColor = color.Gray{Y: 0x20}
	gridColor  = color.Gray{Y: 0xdd}
	white      = color.White
)

func newPlot(f Figure) *plot.Plot {
	p := plot.New()
	p.Title.Text = f.Title
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	p.Legend.Top = f.Legend == "" || strings.HasPrefix(f.Legend, "top")
	p.Legend.Left = f.Legend == "" || strings.HasSuffix(f.Legend, "left")
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Legend.ThumbnailWidth = vg.Points(16)
	p.Title.TextStyle.Font.Size = vg.Points(11)
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridColor, gridColor
	if f.Kind == KindBars {
		g.Vertical.Width = 0
	}
	p.Add(g)
	return p
}

// seriesColor gives measured series the palette's colours in order and
// paper series one dark grey.
func seriesColor(s Series, i int) color.Color {
	if s.Paper {
		return paperColor
	}
	return plotutil.Color(i)
}

// Bars draws a grouped bar chart: one group per category, one bar per
// series in the order given, error bars from Err, the paper's series as
// outlined unfilled bars. With LogY the bars rise from the bottom of the
// axis and the Y axis is logarithmic.
func Bars(f Figure) (*plot.Plot, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Kind != KindBars {
		return nil, fmt.Errorf("%w %q: Bars of a %q figure", ErrBadFigure, f.Name, f.Kind)
	}
	p := newPlot(f)
	n := len(f.Series)
	groupWidth := vg.Points(min(60, 360/float64(len(f.Categories))))
	barWidth := groupWidth / vg.Length(n)
	measured := 0
	for i, s := range f.Series {
		b := &bars{
			values: s.Y, errs: s.Err, logY: f.LogY, width: barWidth,
			offset: (vg.Length(i) - vg.Length(n-1)/2) * barWidth,
		}
		b.line = draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}
		if s.Paper {
			b.fill = white
			b.line = draw.LineStyle{Color: paperColor, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(2), vg.Points(1.5)}}
		} else {
			b.fill = seriesColor(s, measured)
			measured++
		}
		p.Add(b)
		p.Legend.Add(s.Label, b)
	}
	p.NominalX(f.Categories...)
	if len(f.Categories) > 4 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	p.X.Tick.Label.Font.Size = vg.Points(8)
	if f.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Y.Min = floorPow10(p.Y.Min)
	} else {
		p.Y.Min = 0
		p.Y.Tick.Marker = siTicks{}
	}
	makeRoomForLegend(p, f)
	return p, nil
}

// Lines draws each series as a line through its points (or points only,
// or a line only, by Style) with error bars from Err; the paper's series
// are black, dashed, with hollow glyphs. LogX and LogY make the axes
// logarithmic; XTicks fixes the labelled X ticks.
func Lines(f Figure) (*plot.Plot, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Kind != KindLines {
		return nil, fmt.Errorf("%w %q: Lines of a %q figure", ErrBadFigure, f.Name, f.Kind)
	}
	p := newPlot(f)
	measured, paper := 0, 0
	for _, s := range f.Series {
		pts := make(plotter.XYs, len(s.Y))
		for i := range s.Y {
			pts[i] = plotter.XY{X: s.X[i], Y: s.Y[i]}
		}
		c := seriesColor(s, measured)
		var glyph draw.GlyphStyle
		dashes := []vg.Length(nil)
		if s.Paper {
			glyph = draw.GlyphStyle{Color: c, Radius: vg.Points(4), Shape: hollowShape(paper)}
			dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			paper++
		} else {
			glyph = draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: filledShape(measured)}
			measured++
		}
		var thumbs []plot.Thumbnailer
		if s.Style != StylePoints {
			l, err := plotter.NewLine(pts)
			if err != nil {
				return nil, err
			}
			l.Color, l.Width, l.Dashes = c, vg.Points(1.5), dashes
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if s.Style != StyleLine {
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = glyph
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if len(s.Err) > 0 {
			eb := &errorBars{x: s.X, y: s.Y, err: s.Err, logY: f.LogY, color: c}
			p.Add(eb)
		}
		p.Legend.Add(s.Label, thumbs...)
	}
	if f.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
	} else {
		p.X.Tick.Marker = siTicks{}
	}
	if len(f.XTicks) > 0 {
		ticks := make(plot.ConstantTicks, len(f.XTicks))
		for i, x := range f.XTicks {
			ticks[i] = plot.Tick{Value: x, Label: siLabel(x)}
		}
		p.X.Tick.Marker = ticks
	}
	if f.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	} else {
		p.Y.Tick.Marker = siTicks{}
		if p.Y.Min > 0 {
			p.Y.Min = 0
		}
	}
	if f.LogX {
		p.X.Min, p.X.Max = p.X.Min/1.25, p.X.Max*1.25
	}
	if f.LogY {
		p.Y.Min, p.Y.Max = floorPow10(p.Y.Min), p.Y.Max*1.5
	}
	makeRoomForLegend(p, f)
	return p, nil
}

// makeRoomForLegend stretches the Y axis so that the legend, drawn inside
// the plot at the top or bottom, sits in empty space rather than over the
// data: about 7% of the axis per legend entry.
func makeRoomForLegend(p *plot.Plot, f Figure) {
	share := 0.07 * float64(len(f.Series))
	top := f.Legend == "" || strings.HasPrefix(f.Legend, "top")
	if f.LogY {
		lo, hi := math.Log10(p.Y.Min), math.Log10(p.Y.Max)
		grow := math.Pow(10, (hi-lo)*share/(1-share))
		if top {
			p.Y.Max *= grow
		} else {
			p.Y.Min /= grow
		}
		return
	}
	grow := (p.Y.Max - p.Y.Min) * share / (1 - share)
	if top {
		p.Y.Max += grow
	} else {
		p.Y.Min -= grow
	}
}

func filledShape(i int) draw.GlyphDrawer {
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}
	return shapes[i%len(shapes)]
}

func hollowShape(i int) draw.GlyphDrawer {
	shapes := []draw.GlyphDrawer{draw.RingGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}}
	return shapes[i%len(shapes)]
}

// bars is one series of a grouped bar chart. Unlike plotter.BarChart it
// works on a logarithmic Y axis (bars start at the bottom of the axis) and
// draws its own error bars.
type bars struct {
	values, errs []float64
	logY         bool
	width        vg.Length
	offset       vg.Length
	fill         color.Color
	line         draw.LineStyle
}

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, v := range b.values {
		if v == 0 && b.logY {
			continue // a missing value
		}
		x := trX(float64(i)) + b.offset
		x0, x1 := x-b.width/2, x+b.width/2
		y0 := c.Min.Y
		if !b.logY {
			y0 = trY(0)
		}
		y1 := trY(v)
		pts := []vg.Point{{X: x0, Y: y0}, {X: x0, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}}
		c.FillPolygon(b.fill, c.ClipPolygonY(pts))
		c.StrokeLines(b.line, c.ClipLinesY(append(pts, pts[0]))...)
		if len(b.errs) > 0 && b.errs[i] > 0 {
			lo, hi := errRange(v, b.errs[i], b.logY)
			drawErrorBar(c, x, trY(lo), trY(hi), b.width/4, color.Black)
		}
	}
}

func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = 0, float64(len(b.values)-1)
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for i, v := range b.values {
		if v == 0 && b.logY {
			continue
		}
		lo, hi := v, v
		if len(b.errs) > 0 {
			lo, hi = errRange(v, b.errs[i], b.logY)
		}
		ymin, ymax = math.Min(ymin, lo), math.Max(ymax, hi)
	}
	if !b.logY {
		ymin = math.Min(ymin, 0)
	}
	if math.IsInf(ymin, 1) { // nothing to draw on a log axis
		ymin, ymax = 1, 10
	}
	return xmin, xmax, ymin, ymax
}

func (b *bars) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	boxes := make([]plot.GlyphBox, len(b.values))
	for i := range b.values {
		boxes[i].X = p.X.Norm(float64(i))
		boxes[i].Rectangle = vg.Rectangle{
			Min: vg.Point{X: b.offset - b.width/2},
			Max: vg.Point{X: b.offset + b.width/2},
		}
	}
	return boxes
}

// Thumbnail draws the legend entry: a small filled, outlined box.
func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}
	c.FillPolygon(b.fill, c.ClipPolygonY(pts))
	c.StrokeLines(b.line, c.ClipLinesY(append(pts, pts[0]))...)
}

// errorBars draws vertical ±err bars at each point; on a log axis the
// lower end is kept above zero.
type errorBars struct {
	x, y, err []float64
	logY      bool
	color     color.Color
}

func (e *errorBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, y := range e.y {
		if e.err[i] <= 0 {
			continue
		}
		lo, hi := errRange(y, e.err[i], e.logY)
		drawErrorBar(c, trX(e.x[i]), trY(lo), trY(hi), vg.Points(3), e.color)
	}
}

func (e *errorBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for i, y := range e.y {
		lo, hi := errRange(y, e.err[i], e.logY)
		xmin, xmax = math.Min(xmin, e.x[i]), math.Max(xmax, e.x[i])
		ymin, ymax = math.Min(ymin, lo), math.Max(ymax, hi)
	}
	return xmin, xmax, ymin, ymax
}

// errRange is [v-err, v+err], with the lower end kept at a tenth of v or
// more on a log axis.
func errRange(v, err float64, logY bool) (lo, hi float64) {
	lo, hi = v-err, v+err
	if logY && lo < v/10 {
		lo = v / 10
	}
	return lo, hi
}

func drawErrorBar(c draw.Canvas, x, lo, hi, capHalf vg.Length, col color.Color) {
	ls := draw.LineStyle{Color: col, Width: vg.Points(0.8)}
	c.StrokeLines(ls, c.ClipLinesY([]vg.Point{{X: x, Y: lo}, {X: x, Y: hi}})...)
	for _, y := range []vg.Length{lo, hi} {
		c.StrokeLines(ls, c.ClipLinesY([]vg.Point{{X: x - capHalf, Y: y}, {X: x + capHalf, Y: y}})...)
	}
}

// logTicks labels the powers of ten of a logarithmic axis with SI
// suffixes (1, 10, 100, 1K, ...) and marks 2..9 times each without a
// label; when the axis spans less than two decades, 2 and 5 are labelled
// too.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= 0 || hi < lo {
		return nil
	}
	few := math.Log10(hi/lo) < 2
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1; m < 10; m++ {
			v := base * float64(m)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (few && (m == 2 || m == 5)) {
				t.Label = siLabel(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// siTicks is gonum's default ticker with SI-suffixed labels.
type siTicks struct{}

func (siTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = siLabel(ticks[i].Value)
		}
	}
	return ticks
}

// siLabel formats v with at most three significant digits and a K, M or G
// suffix: 22300 -> "22.3K", 4.03e6 -> "4.03M", 0.5 -> "0.5".
func siLabel(v float64) string {
	a := math.Abs(v)
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "K"}} {
		if a >= u.div {
			return strconv.FormatFloat(round3(v/u.div), 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(round3(v), 'f', -1, 64)
}

// round3 rounds to three significant digits.
func round3(v float64) float64 {
	if v == 0 {
		return 0
	}
	mag := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*mag) / mag
}

func floorPow10(v float64) float64 {
	if v <= 0 {
		return v
	}
	return math.Pow(10, math.Floor(math.Log10(v)))
}

// CDF returns the empirical cumulative distribution of samples as points
// (x sorted ascending, y the fraction of samples <= x), thinned to at most
// maxPoints points (keeping the first and the last), for a StyleLine
// series. The samples are not modified.
func CDF(samples []float64, maxPoints int) (x, y []float64) {
	if len(samples) == 0 {
		return nil, nil
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	n := len(s)
	step := 1
	if maxPoints > 1 && n > maxPoints {
		step = (n + maxPoints - 2) / (maxPoints - 1)
	}
	for i := 0; i < n; i += step {
		x = append(x, s[i])
		y = append(y, float64(i+1)/float64(n))
	}
	if x[len(x)-1] != s[n-1] || y[len(y)-1] != 1 {
		x = append(x, s[n-1])
		y = append(y, 1)
	}
	return x, y
}

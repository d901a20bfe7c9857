package render

import (
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"math"

	"golang.org/x/image/vector"

	"manta/sims"
)

// Options says how an episode is drawn.
type Options struct {
	Width, Height int   // each frame's size in pixels (default 480 × 320)
	Seed          int64 // the episode's Reset seed (sims.NoSeed: the env's stream)
	Every         int   // draw every Every-th step (default 1)
	MaxFrames     int   // stop drawing after this many frames (default 1000)
	Delay         int   // each frame's time on screen, in hundredths of a second (default 4)
}

func (o *Options) fill() {
	if o.Width <= 0 {
		o.Width = 480
	}
	if o.Height <= 0 {
		o.Height = 320
	}
	if o.Every <= 0 {
		o.Every = 1
	}
	if o.MaxFrames <= 0 {
		o.MaxFrames = 1000
	}
	if o.Delay <= 0 {
		o.Delay = 4
	}
}

// Episode runs one episode of env, acting with act, and draws it: a
// frame after the reset and after every Every-th step, up to
// MaxFrames; the episode runs to its end either way. It returns the
// animation and the episode's return.
func Episode(env sims.Env, act func(obs []float32) []float64, o Options) (*gif.GIF, float64, error) {
	o.fill()
	obs, err := env.Reset(o.Seed)
	if err != nil {
		return nil, 0, err
	}
	anim := &gif.GIF{}
	var scene sims.Scene
	r := NewRasterizer(o.Width, o.Height)
	frame := func() error {
		if len(anim.Image) >= o.MaxFrames {
			return nil
		}
		if err := sims.Draw(env, &scene); err != nil {
			return err
		}
		anim.Image = append(anim.Image, r.Frame(&scene))
		anim.Delay = append(anim.Delay, o.Delay)
		return nil
	}
	if err := frame(); err != nil {
		return nil, 0, err
	}
	var ret float64
	for step := 1; ; step++ {
		var r float64
		var term, trunc bool
		if obs, r, term, trunc, err = env.Step(act(obs)); err != nil {
			return nil, ret, err
		}
		ret += r
		if step%o.Every == 0 || term || trunc {
			if err := frame(); err != nil {
				return nil, ret, err
			}
		}
		if term || trunc {
			return anim, ret, nil
		}
	}
}

// Rasterizer paints scenes into frames of one size.
type Rasterizer struct {
	w, h  int
	z     vector.Rasterizer
	rgba  *image.RGBA
	index map[color.RGBA]uint8 // colours met, by their place in the palette
}

// NewRasterizer returns a rasterizer of w × h frames.
func NewRasterizer(w, h int) *Rasterizer {
	return &Rasterizer{w: w, h: h, rgba: image.NewRGBA(image.Rect(0, 0, w, h)), index: map[color.RGBA]uint8{}}
}

// Frame paints s, anti-aliased, its window fitted into the frame with
// its aspect kept, and returns it in the web-safe palette, a GIF's frame.
func (r *Rasterizer) Frame(s *sims.Scene) *image.Paletted {
	draw.Draw(r.rgba, r.rgba.Bounds(), image.NewUniform(s.Background), image.Point{}, draw.Src)
	sx, sy := float64(r.w)/(s.MaxX-s.MinX), float64(r.h)/(s.MaxY-s.MinY)
	scale := math.Min(sx, sy)
	ox := (float64(r.w) - scale*(s.MaxX-s.MinX)) / 2
	oy := (float64(r.h) - scale*(s.MaxY-s.MinY)) / 2
	px := func(p sims.Point) (float32, float32) {
		return float32(ox + (p.X-s.MinX)*scale), float32(float64(r.h) - oy - (p.Y-s.MinY)*scale)
	}
	for _, sh := range s.Shapes {
		r.z.Reset(r.w, r.h)
		switch sh.Kind {
		case sims.Polygon:
			r.polygon(sh.Points, px)
		case sims.Circle:
			if len(sh.Points) > 0 {
				r.polygon(circle(sh.Points[0], sh.Radius), px)
			}
		case sims.Line:
			for i := 1; i < len(sh.Points); i++ {
				r.polygon(segment(sh.Points[i-1], sh.Points[i], sh.Width/2), px)
			}
		}
		r.z.Draw(r.rgba, r.rgba.Bounds(), image.NewUniform(sh.Color), image.Point{})
	}
	out := image.NewPaletted(r.rgba.Bounds(), palette.WebSafe)
	for i := range out.Pix {
		c := color.RGBA{r.rgba.Pix[4*i], r.rgba.Pix[4*i+1], r.rgba.Pix[4*i+2], r.rgba.Pix[4*i+3]}
		idx, ok := r.index[c]
		if !ok {
			idx = uint8(out.Palette.Index(c)) // a search of the whole palette: once per colour
			r.index[c] = idx
		}
		out.Pix[i] = idx
	}
	return out
}

// polygon adds a closed path through pts.
func (r *Rasterizer) polygon(pts []sims.Point, px func(sims.Point) (float32, float32)) {
	if len(pts) < 3 {
		return
	}
	r.z.MoveTo(px(pts[0]))
	for _, p := range pts[1:] {
		r.z.LineTo(px(p))
	}
	r.z.ClosePath()
}

// circle is c's outline as a 32-gon.
func circle(c sims.Point, radius float64) []sims.Point {
	pts := make([]sims.Point, 32)
	for i := range pts {
		sin, cos := math.Sincos(2 * math.Pi * float64(i) / 32)
		pts[i] = sims.Point{X: c.X + radius*cos, Y: c.Y + radius*sin}
	}
	return pts
}

// segment is the rectangle of half-width hw along a to b.
func segment(a, b sims.Point, hw float64) []sims.Point {
	dx, dy := b.X-a.X, b.Y-a.Y
	n := math.Hypot(dx, dy)
	if n == 0 {
		return nil
	}
	nx, ny := -dy/n*hw, dx/n*hw
	return []sims.Point{{X: a.X + nx, Y: a.Y + ny}, {X: b.X + nx, Y: b.Y + ny}, {X: b.X - nx, Y: b.Y - ny}, {X: a.X - nx, Y: a.Y - ny}}
}

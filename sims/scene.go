package sims

import (
	"errors"
	"fmt"
	"image/color"
	"math"
)

// ErrNotDrawable is returned by Draw for an env that cannot describe its
// scene (a custom env whose Model is not a Drawer).
var ErrNotDrawable = errors.New("sims: env cannot be drawn")

// Scene is what an env looks like at one moment, in its world's own
// coordinates (y up): the window of the world to show and the shapes in
// it, painted in order. Draw fills it; a renderer (package
// sims/render) rasterises it.
type Scene struct {
	MinX, MinY, MaxX, MaxY float64
	Background             color.RGBA
	Shapes                 []Shape
}

// ShapeKind says what a Shape is.
type ShapeKind uint8

// Shape kinds.
const (
	Polygon ShapeKind = iota // filled, through Points
	Circle                   // filled, around Points[0]
	Line                     // a polyline through Points, Width wide
)

// Shape is one filled polygon, filled circle or polyline of a Scene.
type Shape struct {
	Kind   ShapeKind
	Points []Point
	Radius float64 // a Circle's
	Width  float64 // a Line's, in world units
	Color  color.RGBA
}

// Point is a position in a scene's world.
type Point struct{ X, Y float64 }

// Drawer is a custom env's Model that can describe its scene.
type Drawer interface {
	// Draw appends the model's shapes to s and sets its window.
	Draw(s *Scene)
}

// drawer is a built-in model that can describe its scene.
type drawer interface{ draw(s *Scene) }

// Draw describes env's current state as a scene into s (its shapes
// replaced, their memory reused), for an env of this package's: a
// built-in one, or a custom one whose Model is a Drawer.
func Draw(env Env, s *Scene) error {
	e, ok := env.(*episode)
	if !ok {
		return fmt.Errorf("%w: %T is not an env of package sims", ErrNotDrawable, env)
	}
	s.Shapes = s.Shapes[:0]
	s.Background = color.RGBA{255, 255, 255, 255}
	switch m := e.m.(type) {
	case drawer:
		m.draw(s)
	case *customModel:
		d, ok := m.m.(Drawer)
		if !ok {
			return fmt.Errorf("%w: %s's Model is not a Drawer", ErrNotDrawable, e.spec.id)
		}
		d.Draw(s)
	default:
		return fmt.Errorf("%w: %s", ErrNotDrawable, e.spec.id)
	}
	return nil
}

// Colours of the drawings, Gymnasium's where it has them.
var (
	black = color.RGBA{0, 0, 0, 255}
	brown = color.RGBA{202, 152, 101, 255} // CartPole's pole
	axle  = color.RGBA{129, 132, 203, 255}
	rod   = color.RGBA{204, 77, 77, 255} // Pendulum's
	link  = color.RGBA{0, 204, 204, 255} // Acrobot's
	flag  = color.RGBA{204, 204, 0, 255}
)

// add appends a shape.
func (s *Scene) add(k ShapeKind, c color.RGBA, radius, width float64, pts ...Point) {
	s.Shapes = append(s.Shapes, Shape{Kind: k, Points: pts, Radius: radius, Width: width, Color: c})
}

// rect appends the rectangle of half-sizes hw, hh centred at c, turned
// by angle (radians, counter-clockwise).
func (s *Scene) rect(c Point, hw, hh, angle float64, col color.RGBA) {
	sin, cos := math.Sincos(angle)
	at := func(x, y float64) Point { return Point{c.X + x*cos - y*sin, c.Y + x*sin + y*cos} }
	s.add(Polygon, col, 0, 0, at(-hw, -hh), at(hw, -hh), at(hw, hh), at(-hw, hh))
}

func (c *cartPole) draw(s *Scene) {
	s.MinX, s.MaxX, s.MinY, s.MaxY = -cartXThreshold, cartXThreshold, -1, 2
	s.add(Line, black, 0, 0.01, Point{-cartXThreshold, 0}, Point{cartXThreshold, 0})
	s.rect(Point{c.x, 0}, 0.25, 0.15, 0, black)
	top := Point{c.x + 2*cartLength*math.Sin(c.theta), 2 * cartLength * math.Cos(c.theta)}
	s.add(Line, brown, 0, 0.1, Point{c.x, 0}, top)
	s.add(Circle, axle, 0.05, 0, Point{c.x, 0})
}

func (p *pendulum) draw(s *Scene) {
	s.MinX, s.MaxX, s.MinY, s.MaxY = -2.2, 2.2, -2.2, 2.2
	end := Point{-math.Sin(p.th), math.Cos(p.th)} // th = 0 is upright, counter-clockwise positive
	s.add(Line, rod, 0, 0.2, Point{}, end)
	s.add(Circle, black, 0.05, 0, Point{})
}

func (a *acrobot) draw(s *Scene) {
	s.MinX, s.MaxX, s.MinY, s.MaxY = -2.2, 2.2, -2.2, 2.2
	s.add(Line, black, 0, 0.02, Point{-2.2, 1}, Point{2.2, 1}) // the height to swing the tip above
	p1 := Point{acroL1 * math.Sin(a.s[0]), -acroL1 * math.Cos(a.s[0])}
	p2 := Point{p1.X + math.Sin(a.s[0]+a.s[1]), p1.Y - math.Cos(a.s[0]+a.s[1])}
	s.add(Line, link, 0, 0.2, Point{}, p1, p2)
	s.add(Circle, axle, 0.1, 0, Point{})
	s.add(Circle, axle, 0.1, 0, p1)
}

// drawMountain draws a car at pos on the hill y = 0.45·sin(3x) + 0.55
// with its goal flag.
func drawMountain(s *Scene, pos, goal float64) {
	s.MinX, s.MaxX, s.MinY, s.MaxY = -1.2, 0.6, 0, 1.2
	height := func(x float64) float64 { return 0.45*math.Sin(3*x) + 0.55 }
	hill := make([]Point, 0, 61)
	for i := range 61 {
		x := -1.2 + 1.8*float64(i)/60
		hill = append(hill, Point{x, height(x)})
	}
	s.add(Line, black, 0, 0.01, hill...)
	s.add(Line, black, 0, 0.005, Point{goal, height(goal)}, Point{goal, height(goal) + 0.1})
	s.add(Polygon, flag, 0, 0, Point{goal, height(goal) + 0.1}, Point{goal, height(goal) + 0.07}, Point{goal + 0.05, height(goal) + 0.085})
	s.rect(Point{pos, height(pos) + 0.03}, 0.05, 0.025, math.Atan(1.35*math.Cos(3*pos)), black)
}

func (m *mountainCar) draw(s *Scene)           { drawMountain(s, m.pos, mcGoalPosition) }
func (m *mountainCarContinuous) draw(s *Scene) { drawMountain(s, m.pos, mccGoalPosition) }

package sims

import (
	"image/color"

	"manta/internal/box2d"
)

// Gymnasium's colours of the Box2D envs.
var (
	landerBody = color.RGBA{128, 102, 230, 255}
	moon       = color.RGBA{255, 255, 255, 255}
	walkerHull = color.RGBA{127, 51, 229, 255}
	walkerLeg  = color.RGBA{178, 101, 152, 255}
	ground     = color.RGBA{102, 153, 76, 255}
	sky        = color.RGBA{215, 215, 255, 255}
)

// drawWorld appends every fixture of w: a polygon filled, an edge as a
// line, in the colour paint gives its body.
func drawWorld(s *Scene, w *box2d.B2World, paint func(*box2d.B2Body) color.RGBA) {
	for b := w.GetBodyList(); b != nil; b = b.GetNext() {
		xf, c := b.GetTransform(), paint(b)
		at := func(v box2d.B2Vec2) Point {
			p := box2d.B2TransformVec2Mul(xf, v)
			return Point{p.X, p.Y}
		}
		for f := b.GetFixtureList(); f != nil; f = f.GetNext() {
			switch sh := f.GetShape().(type) {
			case *box2d.B2PolygonShape:
				pts := make([]Point, sh.M_count)
				for i := range pts {
					pts[i] = at(sh.M_vertices[i])
				}
				s.add(Polygon, c, 0, 0, pts...)
			case *box2d.B2EdgeShape:
				s.add(Line, c, 0, 0.05, at(sh.M_vertex1), at(sh.M_vertex2))
			}
		}
	}
}

func (l *lunarLander) draw(s *Scene) {
	s.MinX, s.MaxX, s.MinY, s.MaxY = 0, llViewportW/llScale, 0, llViewportH/llScale
	s.Background = color.RGBA{0, 0, 0, 255} // space; the moon's surface is drawn white
	drawWorld(s, l.world, func(b *box2d.B2Body) color.RGBA {
		if b == l.lander || b == l.legs[0] || b == l.legs[1] {
			return landerBody
		}
		return moon
	})
	chunk := llViewportW / llScale / (llChunks - 1)
	for _, x := range []float64{chunk * (llChunks/2 - 1), chunk * (llChunks/2 + 1)} { // the helipad's flags, at its ends
		top := l.helipadY + 50/llScale
		s.add(Line, moon, 0, 0.05, Point{x, l.helipadY}, Point{x, top})
		s.add(Polygon, flag, 0, 0, Point{x, top}, Point{x, top - 10/llScale}, Point{x + 25/llScale, top - 5/llScale})
	}
}

func (w *bipedalWalker) draw(s *Scene) {
	// The view follows the hull, as Gymnasium's scroll does.
	left := w.hull.GetPosition().X - bwViewportW/bwScale/5
	s.MinX, s.MaxX, s.MinY, s.MaxY = left, left+bwViewportW/bwScale, 0, bwViewportH/bwScale
	s.Background = sky
	drawWorld(s, w.world, func(b *box2d.B2Body) color.RGBA {
		switch b {
		case w.hull:
			return walkerHull
		case w.legs[0], w.legs[1], w.legs[2], w.legs[3]:
			return walkerLeg
		}
		return ground
	})
}

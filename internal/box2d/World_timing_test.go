package box2d

import "testing"

// BenchmarkWorldStep times one step of the test scene (two jointed boxes
// and a pile of six on a ground of edges, Gymnasium's 180 velocity and 60 position
// iterations); BenchmarkWorldReset an emptying and refilling of the world.
// Neither allocates.
func BenchmarkWorldStep(b *testing.B) {
	var s scene
	w := MakeB2World(MakeB2Vec2(0, -10))
	s.build(&w, 0)
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		if k++; k%300 == 0 { // before the bodies come to rest
			w.Reset(MakeB2Vec2(0, -10))
			s.build(&w, 0)
		}
		w.Step(1.0/50, 6*30, 2*30)
	}
}

func BenchmarkWorldReset(b *testing.B) {
	var s scene
	w := MakeB2World(MakeB2Vec2(0, -10))
	s.build(&w, 0)
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(MakeB2Vec2(0, -10))
		s.build(&w, 0)
	}
}

package render_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"math/rand/v2"
	"testing"

	"manta/sims"
	"manta/sims/render"
)

// lean pushes CartPole's cart the way its pole leans.
func lean(obs []float32) []float64 {
	if obs[2]+0.5*obs[3] > 0 {
		return []float64{1}
	}
	return []float64{0}
}

// An episode of CartPole drawn under a lean-following policy: a frame
// for the reset and for every tenth step.
func Example() {
	env, _ := sims.Make("CartPole-v1")
	anim, ret, err := render.Episode(env, lean, render.Options{Seed: 42, Width: 240, Height: 160, Every: 10})
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	if err := gif.EncodeAll(&out, anim); err != nil {
		panic(err)
	}
	fmt.Println(len(anim.Image), "frames of", anim.Image[0].Bounds().Size(), "return", ret)
	// Output: 51 frames of (240,160) return 500
}

// drawn counts the pixels of a frame that are not its background (the
// top-left corner's colour).
func drawn(f *image.Paletted) int {
	bg := f.ColorIndexAt(0, 0)
	n := 0
	for _, c := range f.Pix {
		if c != bg {
			n++
		}
	}
	return n
}

// Every built-in env draws: each frame shows something, and the scene
// moves from the first frame to the last. The GIF decodes as it was
// made.
func TestEveryEnvDraws(t *testing.T) {
	for _, id := range sims.IDs() {
		t.Run(id, func(t *testing.T) {
			env, err := sims.Make(id)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			space := env.ActionSpace()
			random := func([]float32) []float64 {
				a := make([]float64, space.Dim())
				for i := range a {
					if space.Discrete > 0 {
						a[i] = float64(rng.IntN(space.Discrete))
					} else {
						a[i] = space.Low[i] + rng.Float64()*(space.High[i]-space.Low[i])
					}
				}
				return a
			}
			anim, _, err := render.Episode(env, random, render.Options{Seed: 3, Every: 5, MaxFrames: 40, Width: 160, Height: 120})
			if err != nil {
				t.Fatal(err)
			}
			first, last := anim.Image[0], anim.Image[len(anim.Image)-1]
			for i, f := range anim.Image {
				if n := drawn(f); n < 50 {
					t.Fatalf("frame %d: %d pixels drawn", i, n)
				}
			}
			if len(anim.Image) > 1 && bytes.Equal(first.Pix, last.Pix) {
				t.Fatalf("the last of %d frames is the first", len(anim.Image))
			}
			var b bytes.Buffer
			if err := gif.EncodeAll(&b, anim); err != nil {
				t.Fatal(err)
			}
			back, err := gif.DecodeAll(&b)
			if err != nil || len(back.Image) != len(anim.Image) || !bytes.Equal(back.Image[0].Pix, first.Pix) {
				t.Fatalf("decoded: %d frames, %v", len(back.Image), err)
			}
		})
	}
}

type plain struct{}

func (plain) Reset(_ *rand.Rand, obs []float32)                             { obs[0] = 0 }
func (plain) Step(_ *rand.Rand, _ []float64, obs []float32) (float64, bool) { return 0, true }

// A custom env whose Model draws nothing says so.
func TestNotDrawable(t *testing.T) {
	box := sims.Space{Low: []float64{0}, High: []float64{1}, Shape: []int{1}}
	if err := sims.Register(sims.EnvSpec{ID: "Plain-render-v0", MaxSteps: 1, Observation: box, Action: box, New: func() sims.Model { return plain{} }}); err != nil {
		t.Fatal(err)
	}
	env, _ := sims.Make("Plain-render-v0")
	if _, _, err := render.Episode(env, func([]float32) []float64 { return []float64{0} }, render.Options{}); !errors.Is(err, sims.ErrNotDrawable) {
		t.Fatalf("got %v, want ErrNotDrawable", err)
	}
}

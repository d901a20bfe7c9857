package sims

import (
	"encoding/binary"
	"hash"
	"hash/fnv"
	"math"
	"testing"

	"manta/internal/box2d"
)

// box2dPinned is what the heuristic controllers scored on seeds 0-9 before
// the Box2D engine was tuned for speed (issue 18): return, episode length
// and an FNV-1a digest of every observation and reward bit along the
// episode. The tuning must not change the physics by a single bit, so
// these are asserted exactly.
var box2dPinned = map[string][10]box2dRun{
	"LunarLander-v3": {
		{314.9359478843335, 197, 0x6a83f88e12b9847f},
		{262.03253323753916, 201, 0x888a06a6e0d0f3e8},
		{253.71984548808345, 199, 0x4e6179f276756546},
		{242.38008880042247, 206, 0xf7c769eb84365c50},
		{266.0775518750578, 203, 0x26da70c738718ecb},
		{277.5130783787085, 216, 0xd1bc82be5eb01fea},
		{321.2738014205171, 251, 0x3a59d50797d16f1e},
		{248.47095487249382, 315, 0x725cdd0fb2d8dcb4},
		{221.7521991742224, 781, 0x544d65168f8bb8eb},
		{311.1752925712328, 246, 0xa418da301e5fa11f},
	},
	"LunarLanderContinuous-v3": {
		{305.73530058303936, 205, 0xb9634a891651b9e8},
		{273.1632406866523, 192, 0xcde1a26648ce4c2d},
		{257.03468038927895, 180, 0xbfd9c01a92c4fd39},
		{247.9230975342435, 180, 0xd2b24fa91de9e64},
		{262.37436322383394, 200, 0x8e3257c3da28b197},
		{286.77214359964256, 189, 0x232e1c713da6c78e},
		{305.84309276736803, 293, 0xffd95409a1551b14},
		{272.8699497972997, 182, 0xfb5969b466fa1d8b},
		{293.08514189212724, 202, 0xa58058b98ba1883b},
		{301.8669303632891, 245, 0xbe1a0746195eace0},
	},
	"BipedalWalker-v3": {
		{316.4910782523388, 1539, 0xa67643efe966515d},
		{-57.621012048049245, 261, 0xc9a66b6640cea5c1},
		{316.0729926820929, 1554, 0x8ed195332536aa3},
		{-29.745738545124354, 334, 0x8b145a22da3a132a},
		{316.60266310200103, 1532, 0xa1979ebecfe9e432},
		{316.5718655009266, 1551, 0xfb274804c67c3a09},
		{315.6013605160576, 1582, 0x1de2e7ce192e05a8},
		{315.7913934682832, 1570, 0xe8c69efe3f112c01},
		{-57.871115590899684, 241, 0xb3a80794e4fe2508},
		{-60.68535528086325, 245, 0x711c748c69e6a95a},
	},
}

type box2dRun struct {
	ret    float64
	steps  int
	digest uint64
}

// box2dHeuristicRun plays seed with the env's heuristic controller.
func box2dHeuristicRun(t testing.TB, env Env, id string, seed int64) box2dRun {
	t.Helper()
	obs, err := env.Reset(seed)
	if err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	var buf [8]byte
	put := func(bits uint64) {
		for i := range buf {
			buf[i] = byte(bits >> (8 * i))
		}
		h.Write(buf[:])
	}
	for _, v := range obs {
		put(uint64(math.Float32bits(v)))
	}
	var bw *bwHeuristic
	a := make([]float64, 4)
	if id == "BipedalWalker-v3" {
		bw = newBWHeuristic() // Gymnasium's demo starts with a zero action
	} else {
		a = llHeuristic(obs, id == "LunarLanderContinuous-v3")
	}
	run := box2dRun{}
	for {
		obs, r, term, trunc, err := env.Step(a)
		if err != nil {
			t.Fatal(err)
		}
		run.ret += r
		run.steps++
		for _, v := range obs {
			put(uint64(math.Float32bits(v)))
		}
		put(math.Float64bits(r))
		if term || trunc {
			run.digest = h.Sum64()
			return run
		}
		if bw != nil {
			a = bw.act(obs)
		} else {
			a = llHeuristic(obs, id == "LunarLanderContinuous-v3")
		}
	}
}

// TestBox2DHeuristicScoresPinned: see box2dPinned.
func TestBox2DHeuristicScoresPinned(t *testing.T) {
	for id, runs := range box2dPinned {
		env := mustMake(t, id)
		for seed, want := range runs {
			if got := box2dHeuristicRun(t, env, id, int64(seed)); got != want {
				t.Errorf("%s seed %d: return %v in %d steps, digest %#x; pinned %v in %d, %#x",
					id, seed, got.ret, got.steps, got.digest, want.ret, want.steps, want.digest)
			}
		}
	}
}

// box2dRandomPinned is the FNV-1a digest of every body's position, angle
// and velocities (float64 bits) after each of 20,000 steps of uniformly
// random actions (episodes reset as BenchmarkStep does), from before the
// solver's early exits. Random actions reach what the heuristics avoid
// (falls, hard landings, a leg hitting the ground fast enough for a
// time-of-impact sub-step), and the digest reads the physics' state
// itself rather than the observations rounded to float32.
var box2dRandomPinned = map[string]uint64{
	"LunarLander-v3":           0x7be4acc53a3d48a9,
	"LunarLanderContinuous-v3": 0xae1350276554ddfb,
	"BipedalWalker-v3":         0xb52d80975782bb1b,
}

// worldDigest hashes the state of every body in w into h.
func worldDigest(h hash.Hash64, w *box2d.B2World) {
	var buf [8]byte
	for b := w.GetBodyList(); b != nil; b = b.GetNext() {
		p, v := b.GetPosition(), b.GetLinearVelocity()
		for _, x := range [...]float64{p.X, p.Y, b.GetAngle(), v.X, v.Y, b.GetAngularVelocity()} {
			binary.LittleEndian.PutUint64(buf[:], math.Float64bits(x))
			h.Write(buf[:])
		}
	}
}

func TestBox2DRandomActionStatesPinned(t *testing.T) {
	for _, id := range []string{"LunarLander-v3", "LunarLanderContinuous-v3", "BipedalWalker-v3"} {
		env := mustMake(t, id)
		ad := env.ActionSpace().Dim()
		acts := randomActions(env.ActionSpace(), 1024, 1)
		if _, err := env.Reset(0); err != nil {
			t.Fatal(err)
		}
		var world *box2d.B2World // made at the first reset, then refilled
		switch m := env.(*episode).m.(type) {
		case *lunarLander:
			world = m.world
		case *lunarLanderContinuous:
			world = m.world
		case *bipedalWalker:
			world = m.world
		}
		h := fnv.New64a()
		for k := range 20000 {
			i := k & 1023 * ad
			_, _, term, trunc, err := env.Step(acts[i : i+ad])
			if err != nil {
				t.Fatal(err)
			}
			worldDigest(h, world)
			if term || trunc {
				env.Reset(NoSeed)
			}
		}
		if got, want := h.Sum64(), box2dRandomPinned[id]; got != want {
			t.Errorf("%s: digest %#x, pinned %#x", id, got, want)
		}
	}
}

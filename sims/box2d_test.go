package sims

import (
	"hash/fnv"
	"math"
	"testing"
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

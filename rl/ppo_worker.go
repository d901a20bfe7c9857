package rl

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"manta/core"
	"manta/sims"
)

// ppoWorkerSpec configures one PPO rollout actor.
type ppoWorkerSpec struct {
	Env        string  `json:"env"`
	Envs       int     `json:"envs"`
	Steps      int     `json:"steps"`
	Seed       uint64  `json:"seed"`
	Index      int     `json:"index"`
	Hidden     []int   `json:"hidden"`
	Gamma      float64 `json:"gamma"`
	Lambda     float64 `json:"lambda"`
	NormReward bool    `json:"norm_reward"`
	// RetRMS, when resuming, is the reward normaliser to go on from.
	RetRMS *RunningMeanStd `json:"ret_rms,omitempty"`
	// Resumed is the iterations done before this run resumed, which
	// seeds the worker's envs and sampling afresh.
	Resumed int `json:"resumed,omitempty"`
}

// rolloutBatch is what one worker returns for one iteration: Steps×Envs
// transitions, time-major, with advantages and returns already computed
// (GAE with the weights the rollout ran with).
type rolloutBatch struct {
	Obs       []float64 `json:"obs"` // normalised, as the policy saw them
	Act       []float64 `json:"act"`
	LogP      []float64 `json:"logp"`
	Val       []float64 `json:"val"`
	Adv       []float64 `json:"adv"`
	Ret       []float64 `json:"ret"`
	EpReturns []float64 `json:"ep_returns"` // undiscounted, unnormalised
	EpLengths []int     `json:"ep_lengths"`
	ObsN      float64   `json:"obs_n"` // raw observation moments
	ObsSum    []float64 `json:"obs_sum"`
	ObsSumSq  []float64 `json:"obs_sumsq"`
	PID       int       `json:"pid"`
	// RetRMS is the worker's reward normaliser after the rollout (nil
	// unless it normalises rewards), for a checkpoint.
	RetRMS *RunningMeanStd `json:"ret_rms,omitempty"`
}

// ppoWorker is a rollout actor: a vectorised env, the policy's shape and
// the per-episode bookkeeping that must survive across iterations.
type ppoWorker struct {
	spec    ppoWorkerSpec
	vec     *sims.Vec
	pol     *Policy
	rng     *rand.Rand
	obs     []float32 // current observation batch (copy)
	wsA     *Workspace
	wsC     *Workspace
	epRet   []float64
	epLen   []int
	retDisc []float64 // discounted returns for reward normalisation
	retRMS  *RunningMeanStd
}

func newPPOWorker(s ppoWorkerSpec) (*ppoWorker, error) {
	vec, err := sims.NewVec(s.Env, s.Envs, sims.SameStep)
	if err != nil {
		return nil, err
	}
	pol, err := NewPolicy(vec.ObservationSpace(), vec.ActionSpace(), s.Hidden)
	if err != nil {
		return nil, err
	}
	obs, err := vec.Reset(int64(s.Seed)*1_000_003 + int64(s.Index*s.Envs) + int64(s.Resumed)*7919)
	if err != nil {
		return nil, err
	}
	retRMS := NewRunningMeanStd(1)
	if s.RetRMS != nil && len(s.RetRMS.Mean) == 1 {
		retRMS = s.RetRMS.clone()
	}
	return &ppoWorker{
		spec: s, vec: vec, pol: pol,
		rng:     rand.New(rand.NewPCG(s.Seed, uint64(s.Index)+1+uint64(s.Resumed)<<32)),
		obs:     append([]float32(nil), obs...),
		wsA:     pol.Actor.NewWorkspace(s.Envs),
		wsC:     pol.Critic.NewWorkspace(s.Envs),
		epRet:   make([]float64, s.Envs),
		epLen:   make([]int, s.Envs),
		retDisc: make([]float64, s.Envs),
		retRMS:  retRMS,
	}, nil
}

var (
	ppoWorkerType = core.RegisterActor1("rl.ppoWorker", newPPOWorker, core.WithMaxRestarts(8))
	// ppoRollout runs one rollout with the weights (a Ref put once per
	// iteration and shared by every worker) and the observation statistics
	// (mean then variance; empty when observations are not normalised).
	ppoRollout = core.RegisterMethod2(ppoWorkerType, "rollout", (*ppoWorker).rollout)
)

func (w *ppoWorker) rollout(params, obsStats []float64) (*rolloutBatch, error) {
	if len(params) != w.pol.NumParams() {
		return nil, fmt.Errorf("rl: worker got %d weights, want %d", len(params), w.pol.NumParams())
	}
	s, p := w.spec, w.pol
	N, T, od := s.Envs, s.Steps, p.ObsDim
	ad := p.ActDim
	if p.Discrete {
		ad = 1
	}
	var mean, variance []float64
	if len(obsStats) == 2*od {
		mean, variance = obsStats[:od], obsStats[od:]
	}
	actor, critic, logStd := p.Split(params)
	b := &rolloutBatch{
		Obs: make([]float64, T*N*od), Act: make([]float64, T*N*ad),
		LogP: make([]float64, T*N), Val: make([]float64, T*N),
		Adv: make([]float64, T*N), Ret: make([]float64, T*N),
		ObsSum: make([]float64, od), ObsSumSq: make([]float64, od), PID: os.Getpid(),
	}
	rew := make([]float64, N)
	term := make([]bool, N)
	trunc := make([]bool, N)
	done := make([]bool, T*N)
	rewards := make([]float64, T*N)
	lp := make([]float64, p.ActDim)
	one := make([]float64, od)
	cat, gau := Categorical{N: p.ActDim}, Gaussian{N: p.ActDim}
	for t := 0; t < T; t++ {
		x := b.Obs[t*N*od : (t+1)*N*od]
		for i := 0; i < N; i++ {
			row := w.obs[i*od : (i+1)*od]
			normalizeObs(x[i*od:(i+1)*od], row, mean, variance)
		}
		out := p.Actor.Forward(actor, x, N, w.wsA)
		val := p.Critic.Forward(critic, x, N, w.wsC)
		act := b.Act[t*N*ad : (t+1)*N*ad]
		for i := 0; i < N; i++ {
			k := t*N + i
			b.Val[k] = val[i]
			if p.Discrete {
				a, l := cat.Sample(out[i*p.ActDim:(i+1)*p.ActDim], lp, w.rng)
				act[i], b.LogP[k] = float64(a), l
			} else {
				b.LogP[k] = gau.Sample(out[i*ad:(i+1)*ad], logStd, act[i*ad:(i+1)*ad], w.rng)
			}
		}
		obs, err := w.vec.Step(act, rew, term, trunc)
		if err != nil {
			return nil, err
		}
		copy(w.obs, obs)
		final := w.vec.FinalObs()
		for i := 0; i < N; i++ {
			k := t*N + i
			r := rew[i]
			w.epRet[i] += r
			w.epLen[i]++
			if s.NormReward {
				w.retDisc[i] = w.retDisc[i]*s.Gamma + r
				w.retRMS.Merge(1, w.retDisc[i:i+1], []float64{0})
				r = min(max(r/math.Sqrt(w.retRMS.Var[0]+1e-8), -10), 10)
			}
			ended := term[i] || trunc[i]
			var raw []float32
			if ended {
				raw = final[i*od : (i+1)*od]
			} else {
				raw = obs[i*od : (i+1)*od]
			}
			b.ObsN++
			for j, v := range raw {
				b.ObsSum[j] += float64(v)
				b.ObsSumSq[j] += float64(v) * float64(v)
			}
			if trunc[i] && !term[i] {
				// Bootstrap the cut-off episode from its last observation.
				normalizeObs(one, raw, mean, variance)
				v := p.Critic.Forward(critic, one, 1, w.wsC)[0]
				r += s.Gamma * v
			}
			rewards[k], done[k] = r, ended
			if ended {
				b.EpReturns = append(b.EpReturns, w.epRet[i])
				b.EpLengths = append(b.EpLengths, w.epLen[i])
				w.epRet[i], w.epLen[i], w.retDisc[i] = 0, 0, 0
			}
		}
	}
	// Bootstrap values for the observations after the last step, then GAE.
	x := make([]float64, N*od)
	for i := 0; i < N; i++ {
		normalizeObs(x[i*od:(i+1)*od], w.obs[i*od:(i+1)*od], mean, variance)
	}
	next := append([]float64(nil), p.Critic.Forward(critic, x, N, w.wsC)...)
	gae := make([]float64, N)
	for t := T - 1; t >= 0; t-- {
		for i := 0; i < N; i++ {
			k := t*N + i
			nv := next[i]
			if t < T-1 {
				nv = b.Val[k+N]
			}
			nonterm := 1.0
			if done[k] {
				nonterm = 0
			}
			delta := rewards[k] + s.Gamma*nv*nonterm - b.Val[k]
			gae[i] = delta + s.Gamma*s.Lambda*nonterm*gae[i]
			b.Adv[k] = gae[i]
			b.Ret[k] = gae[i] + b.Val[k]
		}
	}
	if s.NormReward {
		b.RetRMS = w.retRMS.clone()
	}
	return b, nil
}

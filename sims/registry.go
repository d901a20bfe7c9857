package sims

import (
	"fmt"
	"sort"
	"strings"
)

// registry holds every env by Gymnasium id.
var registry = byID(
	cartPoleSpec,
	pendulumSpec,
	acrobotSpec,
	mountainCarSpec,
	mountainCarContinuousSpec,
	lunarLanderSpec,
	lunarLanderContinuousSpec,
	bipedalWalkerSpec,
)

func byID(specs ...*spec) map[string]*spec {
	m := make(map[string]*spec, len(specs))
	for _, s := range specs {
		s.obsDim, s.actDim = s.obs.Dim(), s.act.Dim()
		m[s.id] = s
	}
	return m
}

// IDs lists the registered ids in sorted order: Gymnasium's, and any
// added with Register.
func IDs() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	ids := make([]string, 0, len(registry))
	for id := range registry {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Make returns a new, unseeded env for a Gymnasium id. Call Reset before Step.
func Make(id string) (Env, error) {
	s, err := lookup(id)
	if err != nil {
		return nil, err
	}
	return &episode{spec: s, m: s.newModels(1)[0], obs: make([]float32, s.obsDim)}, nil
}

func lookup(id string) (*spec, error) {
	registryMu.RLock()
	s, ok := registry[id]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q; known: %s", ErrUnknownEnv, id, strings.Join(IDs(), ", "))
	}
	return s, nil
}

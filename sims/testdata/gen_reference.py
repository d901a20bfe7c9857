"""Generate reference trajectories for package sims from real Gymnasium.

Run from any directory with the pinned versions installed:

    python -m venv /tmp/gymenv
    /tmp/gymenv/bin/pip install gymnasium==1.2.2 numpy==2.3.5 box2d==2.3.10 pygame==2.6.1
    /tmp/gymenv/bin/python sims/testdata/gen_reference.py

It writes one JSON file per classic-control env into this directory,
rng.json (raw NumPy PCG64/SeedSequence draws) and box2d.json (Gymnasium's
heuristic controllers on LunarLander and BipedalWalker: returns, lengths
and early observations; pygame is needed only because gymnasium.envs.box2d
imports it). Floats are written with repr, which round-trips float64
exactly; observations as their shortest float32 decimals, which round-trip
through float32. Flags per step: bit 0 terminated, bit 1 truncated.
The Go tests read these files; they never run Python.
"""

import json
import os
import platform
import sys

import gymnasium as gym
import numpy as np

PINNED = {"gymnasium": "1.2.2", "numpy": "2.3.5", "box2d": "2.3.10"}
OUT = os.path.dirname(os.path.abspath(__file__))


def check_versions():
    import Box2D

    got = {"gymnasium": gym.__version__, "numpy": np.__version__, "box2d": Box2D.__version__}
    if got != PINNED:
        sys.exit(f"want {PINNED}, have {got}")


def meta(env_id):
    import Box2D

    return {
        "env": env_id,
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "box2d": Box2D.__version__,
        "python": platform.python_version(),
    }


def floats(xs):
    return [float(x) for x in np.asarray(xs, dtype=np.float64).ravel()]


def floats32(xs):
    """float32 values as their shortest float32 decimal (about half the
    characters of the widened float64); parsing one and rounding it to
    float32 gives the value back."""
    return [float(str(x)) for x in np.asarray(xs, dtype=np.float32).ravel()]


def resets(env_id, seeds):
    """Seeded resets, then two unseeded ones continuing the same stream."""
    env = gym.make(env_id)
    out = []
    for s in seeds:
        obs, _ = env.reset(seed=s)
        rec = {"seed": s, "obs": floats32(obs), "state": floats(env.unwrapped.state)}
        rec["next"] = []
        for _ in range(2):
            obs, _ = env.reset()
            rec["next"].append({"obs": floats32(obs), "state": floats(env.unwrapped.state)})
        out.append(rec)
    return out


def episode(env_id, seed, policy, start=None, dtype=np.float64, name=""):
    """Roll one episode under gym.make (TimeLimit included) until it ends.

    policy(obs, t, state) returns the action to take. start, if given, is
    injected into env.unwrapped.state after the seeded reset. name, if
    given, names a closed-loop policy the Go tests re-implement: replaying
    its actions open loop would let an unstable system (a balanced
    CartPole) amplify last-bit differences in sin/cos without bound.
    """
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    if start is not None:
        env.unwrapped.state = np.array(start, dtype=dtype)
        obs = None
    rec = {
        "seed": seed,
        "policy": name,
        "start": floats(env.unwrapped.state),
        "actions": [],
        "states": [],
        "obs": [],
        "rewards": [],
        "flags": [],
    }
    t = 0
    while True:
        a = policy(obs, t, env.unwrapped.state)
        if isinstance(env.action_space, gym.spaces.Discrete):
            act = int(a)
            rec["actions"].append(act)
        else:
            act = np.array([a], dtype=np.float32)
            rec["actions"].append(float(act[0]))
        obs, r, term, trunc, _ = env.step(act)
        rec["states"].append(floats(env.unwrapped.state))
        rec["obs"].append(floats32(obs))
        rec["rewards"].append(float(r))
        rec["flags"].append(int(term) | int(trunc) << 1)
        t += 1
        if term or trunc:
            return rec


def random_discrete(n, seed):
    rng = np.random.default_rng(seed)
    return lambda obs, t, s: int(rng.integers(n))


def random_box(lo, hi, seed):
    rng = np.random.default_rng(seed)
    return lambda obs, t, s: float(np.float32(rng.uniform(lo, hi)))


def cartpole():
    env_id = "CartPole-v1"
    balance = lambda obs, t, s: int(s[2] + 0.5 * s[3] > 0)
    eps = [
        episode(env_id, 0, random_discrete(2, 100)),
        episode(env_id, 1, random_discrete(2, 101)),
        episode(env_id, 2, random_discrete(2, 102), start=[2.35, 0.9, 0.0, 0.0]),
        episode(env_id, 3, random_discrete(2, 103), start=[0.0, 0.0, -0.2, -0.3]),
        episode(env_id, 4, balance, name="balance"),
    ]
    return eps


def pendulum():
    env_id = "Pendulum-v1"
    eps = [
        episode(env_id, 0, random_box(-2.0, 2.0, 200)),
        # Far outside [-pi, pi) both ways and actions outside the box:
        # exercises the floor modulo and Gymnasium's clip.
        episode(env_id, 1, random_box(-3.5, 3.5, 201), start=[21.0, 7.9]),
        episode(env_id, 2, random_box(-3.5, 3.5, 202), start=[-33.5, -8.0]),
    ]
    return eps


def acrobot():
    env_id = "Acrobot-v1"
    # Energy pumping: torque follows the second joint's velocity.
    pump = lambda obs, t, s: 2 if s[3] > 0 else 0
    eps = [
        episode(env_id, 0, random_discrete(3, 300)),
        episode(env_id, 1, pump),
        # Velocities beyond MAX_VEL exercise bound(); angles beyond pi wrap().
        episode(env_id, 2, random_discrete(3, 302), start=[2.0, -3.1, 12.4, 28.0]),
    ]
    return eps


def mountaincar():
    env_id = "MountainCar-v0"
    pump = lambda obs, t, s: 2 if s[1] >= 0 else 0
    eps = [
        episode(env_id, 0, random_discrete(3, 400)),
        episode(env_id, 1, pump),
        # Starts at the left wall moving left: clip and velocity reset.
        episode(env_id, 2, random_discrete(3, 402), start=[-1.19, -0.065]),
    ]
    return eps


def mountaincar_continuous():
    env_id = "MountainCarContinuous-v0"
    pump = lambda obs, t, s: 1.0 if s[1] >= 0 else -1.0
    rnd = random_box(-1.5, 1.5, 500)
    eps = [
        episode(env_id, 0, pump),
        episode(env_id, 1, lambda obs, t, s: rnd(obs, t, s) if t < 60 else (1.3 if s[1] >= 0 else -0.8)),
        episode(env_id, 2, random_box(-1.5, 1.5, 502), start=[-1.19, -0.065]),
        episode(env_id, 3, random_box(-1.0, 1.0, 503)),
    ]
    return eps


def rng_reference():
    """Raw draws, to check the Go port of SeedSequence + PCG64."""
    out = []
    for s in [0, 1, 42, 2**32 - 1, 2**32, 2**63 - 1, 123456789012345678]:
        g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(s)))
        out.append(
            {
                "seed": str(s),
                "uint64": [str(int(x)) for x in g.integers(0, 2**64, size=4, dtype=np.uint64, endpoint=False)],
                "uniform": floats(g.uniform(-0.05, 0.05, size=(4,))),
                "random": floats(g.random(3)),
                # integers() draws 32 bits at a time and keeps the other
                # half of a 64-bit draw for the next call; doubles do not.
                "mixed": [
                    float(g.integers(5.0, 10)),
                    float(g.uniform(-1, 1)),
                    float(g.integers(5.0, 10)),
                    float(g.integers(5.0, 10)),
                    float(g.random()),
                    float(g.integers(3, 5)),
                    float(g.integers(0, 1000003)),
                    float(g.integers(1, 3)),
                ],
            }
        )
    return out


def box2d_heuristics(seeds, early=10):
    """Per seed: reset observation, the first `early` observations under
    Gymnasium's heuristic, and the episode's return, length and flags."""
    from gymnasium.envs.box2d.bipedal_walker import BipedalWalkerHeuristics
    from gymnasium.envs.box2d.lunar_lander import heuristic

    out = {}
    for env_id, kwargs in [
        ("LunarLander-v3", {}),
        ("LunarLanderContinuous-v3", {}),
        ("BipedalWalker-v3", {}),
    ]:
        env = gym.make(env_id, **kwargs)
        runs = []
        for seed in seeds:
            obs, _ = env.reset(seed=seed)
            rec = {"seed": seed, "reset_obs": floats32(obs), "obs": [], "return": 0.0}
            if env_id.startswith("Bipedal"):
                h = BipedalWalkerHeuristics()
                a = np.zeros(4)  # Gymnasium's demo starts with a zero action
                policy = lambda s: h.step_heuristic(s)
            else:
                policy = lambda s: heuristic(env, s)
                a = policy(obs)
            n = 0
            while True:
                obs, r, term, trunc, _ = env.step(a)
                rec["return"] += float(r)
                n += 1
                if n <= early:
                    rec["obs"].append(floats32(obs))
                if term or trunc:
                    break
                a = policy(obs)
            rec["steps"] = n
            rec["flags"] = int(term) | int(trunc) << 1
            runs.append(rec)
        out[env_id] = runs
    return out


def walker_bodies(seed, steps=30):
    """BipedalWalker body states (x, y, angle, vx, vy, omega of hull and the
    four leg segments) along a heuristic run, with the actions between
    them, so the Go test can step once from each of Gymnasium's states."""
    from gymnasium.envs.box2d.bipedal_walker import BipedalWalkerHeuristics

    env = gym.make("BipedalWalker-v3").unwrapped
    env.reset(seed=seed)
    h = BipedalWalkerHeuristics()

    def bodies():
        return [
            float(v)
            for b in [env.hull] + env.legs
            for v in (b.position[0], b.position[1], b.angle, b.linearVelocity[0], b.linearVelocity[1], b.angularVelocity)
        ]

    rec = {"seed": seed, "states": [bodies()], "actions": []}
    a = np.zeros(4)
    for _ in range(steps):
        rec["actions"].append(floats(a))
        s, _, _, _, _ = env.step(a)
        rec["states"].append(bodies())
        a = h.step_heuristic(s)
    return rec


def write(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def main():
    check_versions()
    seeds = [0, 1, 42, 2**31 - 1, 2**40 + 7]
    for env_id, fn, fname in [
        ("CartPole-v1", cartpole, "cartpole.json"),
        ("Pendulum-v1", pendulum, "pendulum.json"),
        ("Acrobot-v1", acrobot, "acrobot.json"),
        ("MountainCar-v0", mountaincar, "mountaincar.json"),
        ("MountainCarContinuous-v0", mountaincar_continuous, "mountaincar_continuous.json"),
    ]:
        write(fname, {"meta": meta(env_id), "resets": resets(env_id, seeds), "episodes": fn()})
    write("rng.json", {"meta": meta(""), "draws": rng_reference()})
    write(
        "box2d.json",
        {"meta": meta(""), "runs": box2d_heuristics(list(range(10))), "walker_bodies": walker_bodies(0)},
    )


if __name__ == "__main__":
    main()

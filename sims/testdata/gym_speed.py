"""Time real Gymnasium's env.step the way sims' BenchmarkStep times manta's.

One bare env (gym.make(...).unwrapped, the fastest Gymnasium gets;
--wrappers keeps gym.make's), 1024 uniformly random actions drawn once
and cycled through, reset when an episode ends (the reset counted in the
time), as in BenchmarkStep. Prints steps per second for each env named (default the
two Box2D envs), best of --rounds rounds of --seconds each. Run it in the
same sitting as the Go benchmark, with the pinned versions of
gen_reference.py installed:

    /tmp/gymenv/bin/python sims/testdata/gym_speed.py LunarLander-v3 BipedalWalker-v3

It is a peer for comparison only; nothing in manta runs it.
"""

import argparse
import time

import gymnasium as gym
import numpy as np


def steps_per_second(env_id, seconds, wrappers):
    env = gym.make(env_id)
    if not wrappers:
        env = env.unwrapped  # the bare env: Gymnasium at its fastest
    rng = np.random.default_rng(1)
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
        acts = [int(a) for a in rng.integers(0, space.n, 1024)]
    else:
        acts = list(rng.uniform(space.low, space.high, (1024,) + space.shape).astype(space.dtype))
    env.reset(seed=0)
    k = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(1024):
            _, _, term, trunc, _ = env.step(acts[k & 1023])
            k += 1
            if term or trunc:
                env.reset()
        if time.perf_counter() >= deadline:
            break
    return k / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("envs", nargs="*", default=["LunarLander-v3", "BipedalWalker-v3"])
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--wrappers", action="store_true",
                   help="step gym.make's env as users get it (time limit, order and passive checks) rather than the bare env")
    a = p.parse_args()
    for env_id in a.envs:
        rates = [steps_per_second(env_id, a.seconds, a.wrappers) for _ in range(a.rounds)]
        print(f"{env_id}\t{max(rates):.0f} steps/s\t(rounds: {' '.join(f'{r:.0f}' for r in rates)})")


if __name__ == "__main__":
    main()

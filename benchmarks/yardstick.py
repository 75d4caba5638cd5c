"""Machine-independent yardstick: Mesa's tutorial money (Boltzmann wealth) model.

1,000 agents start with 1 unit of wealth each; every step, every agent (in random order,
``model.agents.shuffle_do("step")``) that has wealth gives one unit to a random other agent.
100 steps. Every chipsim figure in ``benchmarks/run.py`` is also reported as a ratio to the
time this takes on the same machine, in the same run, so results compare across machines.

Run alone: ``/work/venv/bin/python benchmarks/yardstick.py``.
"""

from __future__ import annotations

import time

import mesa

AGENTS = 1_000
STEPS = 100


class MoneyAgent(mesa.Agent):
    """An agent with some wealth that it gives away one unit at a time."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.wealth = 1

    def step(self) -> None:
        if self.wealth > 0:
            other = self.random.choice(self.model.agent_list)
            other.wealth += 1
            self.wealth -= 1


class MoneyModel(mesa.Model):
    """The tutorial's money model (no space, no data collection)."""

    def __init__(self, n: int = AGENTS, seed: int = 42) -> None:
        super().__init__(rng=seed)
        for _ in range(n):
            MoneyAgent(self)
        # The tutorial indexes model.agents, which Mesa 3.5 deprecates and which copies the set on
        # every draw (quadratic); draw from a list taken once instead (README.md, yardstick note).
        self.agent_list = self.agents.to_list()

    def step(self) -> None:
        self.agents.shuffle_do("step")


def run_once(n: int = AGENTS, steps: int = STEPS, seed: int = 42) -> float:
    """Build the model and run ``steps`` steps; return the wall time in seconds."""
    start = time.perf_counter()
    model = MoneyModel(n, seed=seed)
    for _ in range(steps):
        model.step()
    elapsed = time.perf_counter() - start
    total = sum(a.wealth for a in model.agents)
    if total != n:  # wealth is conserved; a broken yardstick must not pass silently
        raise RuntimeError(f"yardstick wealth not conserved: {total} != {n}")
    return elapsed


def yardstick_seconds(repeats: int = 5) -> float:
    """Best (minimum) of ``repeats`` timed runs after one warm-up run."""
    run_once()
    return min(run_once() for _ in range(repeats))


if __name__ == "__main__":
    print(f"yardstick (money model, {AGENTS} agents, {STEPS} steps): "
          f"{yardstick_seconds():.4f} s (best of 5)")

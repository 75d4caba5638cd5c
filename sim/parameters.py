"""Model parameters: calibrated defaults from ``data/parameters.yaml`` and their overrides.

A parameter is a named number with a unit and a source. A scenario may replace its value with
another number or with a :class:`Distribution`, drawn once per replication so that parameter
uncertainty shows in the spread over seeds.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import yaml


@dataclass(frozen=True)
class Distribution:
    """A distribution a parameter is drawn from once per replication.

    Kinds: ``uniform [a, b]``, ``triangular [low, mode, high]``, ``normal [mean, sd]``,
    ``lognormal [mu, sigma]`` (of the underlying normal).
    """

    kind: str
    args: tuple[float, ...]

    ARITY = {"uniform": 2, "triangular": 3, "normal": 2, "lognormal": 2}

    @classmethod
    def parse(cls, value: Mapping[str, Any]) -> Distribution:
        """Parse ``{kind: [args...]}``; raise ValueError naming the problem."""
        if len(value) != 1:
            raise ValueError(
                f"a distribution is one of {', '.join(cls.ARITY)} with a list of numbers"
            )
        ((kind, args),) = value.items()
        if kind not in cls.ARITY:
            raise ValueError(f"unknown distribution {kind!r}; known: {', '.join(cls.ARITY)}")
        if not isinstance(args, list | tuple) or len(args) != cls.ARITY[kind]:
            raise ValueError(f"{kind} takes a list of {cls.ARITY[kind]} numbers")
        nums = []
        for a in args:
            if isinstance(a, bool) or not isinstance(a, int | float) or not math.isfinite(a):
                raise ValueError(f"{kind} arguments must be finite numbers (got {a!r})")
            nums.append(float(a))
        dist = cls(kind, tuple(nums))
        dist._check()
        return dist

    def _check(self) -> None:
        a = self.args
        if self.kind == "uniform" and not a[0] <= a[1]:
            raise ValueError(f"uniform needs low <= high (got {list(a)})")
        if self.kind == "triangular" and not a[0] <= a[1] <= a[2]:
            raise ValueError(f"triangular needs low <= mode <= high (got {list(a)})")
        if self.kind in ("normal", "lognormal") and a[1] < 0:
            raise ValueError(f"{self.kind} needs a non-negative spread (got {list(a)})")

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        a = self.args
        match self.kind:
            case "uniform":
                return float(rng.uniform(a[0], a[1]))
            case "triangular":
                return float(a[1]) if a[0] == a[2] else float(rng.triangular(a[0], a[1], a[2]))
            case "normal":
                return float(rng.normal(a[0], a[1]))
            case _:
                return float(rng.lognormal(a[0], a[1]))

    def bounds(self) -> tuple[float, float]:
        """A finite range covering the distribution (for sensitivity analysis)."""
        a = self.args
        match self.kind:
            case "uniform":
                return a[0], a[1]
            case "triangular":
                return a[0], a[2]
            case "normal":
                return a[0] - 2 * a[1], a[0] + 2 * a[1]
            case _:
                return math.exp(a[0] - 2 * a[1]), math.exp(a[0] + 2 * a[1])

    def to_yaml(self) -> dict[str, list[float]]:
        """The scenario-file form."""
        return {self.kind: list(self.args)}


Value = float | Distribution


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter's default and provenance."""

    name: str
    value: Value
    unit: str
    source: str
    meaning: str


def _load_defaults() -> dict[str, ParameterSpec]:
    text = resources.files("sim").joinpath("data/parameters.yaml").read_text(encoding="utf-8")
    out: dict[str, ParameterSpec] = {}
    for name, row in yaml.safe_load(text).items():
        raw = row["value"]
        value = Distribution.parse(raw) if isinstance(raw, dict) else float(raw)
        out[name] = ParameterSpec(name, value, str(row["unit"]), str(row["source"]),
                                  str(row["meaning"]))
    return out


#: name -> spec, in data-file order.
DEFAULTS: dict[str, ParameterSpec] = _load_defaults()


def draw(overrides: Mapping[str, Value], seed: np.random.SeedSequence) -> dict[str, float]:
    """Resolve every parameter to a number for one replication.

    Each parameter draws from its own stream, keyed by the replication's seed and the
    parameter's name, so a value never depends on which other parameters a scenario turns into
    distributions (common random numbers across scenarios).
    """
    values: dict[str, float] = {}
    for name, spec in DEFAULTS.items():
        value = overrides.get(name, spec.value)
        if isinstance(value, Distribution):
            key = (*seed.spawn_key, zlib.crc32(name.encode()))
            rng = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=key))
            values[name] = value.sample(rng)
        else:
            values[name] = float(value)
    return values


def group(values: Mapping[str, float], prefix: str) -> dict[str, float]:
    """The parameters under ``prefix.`` keyed by their last part (e.g. per buyer class)."""
    start = prefix + "."
    return {k[len(start):]: v for k, v in values.items() if k.startswith(start)}

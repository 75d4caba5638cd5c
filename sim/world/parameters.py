"""Model parameters: calibrated defaults from ``data/parameters.yaml`` and their overrides.

A parameter is a named number with a unit, a source and an allowed range. A scenario may replace
its value with another number or with a :class:`Distribution`, drawn once per replication so that
parameter uncertainty shows in the spread over seeds.

The range is where the model is valid, not a calibration: no division by zero, no negative
stocks, shares within 0..1, months and cohort sizes small enough that memory stays bounded.
:meth:`ParameterSpec.problem` says why a value or a distribution is refused (the scenario loader
reports it); draws of normal and lognormal distributions, whose tails reach any value, are
clipped into the range by :func:`draw`.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Distribution:
    """A distribution a parameter is drawn from once per replication.

    Kinds: ``uniform [a, b]``, ``triangular [low, mode, high]``, ``normal [mean, sd]``,
    ``lognormal [mu, sigma]`` (of the underlying normal). A parameter's range bounds what a
    distribution may be given (:meth:`ParameterSpec.problem`) and clips what it draws
    (:func:`draw`).
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
                return _exp(a[0] - 2 * a[1]), _exp(a[0] + 2 * a[1])

    def to_yaml(self) -> dict[str, list[float]]:
        """The scenario-file form."""
        return {self.kind: list(self.args)}


Value = float | Distribution


def _exp(x: float) -> float:
    """``math.exp``, infinite instead of OverflowError."""
    return math.exp(x) if x < 709.0 else math.inf


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter's default, provenance and allowed range ``[low, high]`` (both included)."""

    name: str
    value: Value
    unit: str
    source: str
    meaning: str
    low: float
    high: float

    @property
    def limits(self) -> tuple[float, float]:
        """``(low, high)``."""
        return self.low, self.high

    @property
    def range_text(self) -> str:
        """The range as written in the data file, e.g. ``[0, 1]``."""
        return _numbers((self.low, self.high))

    def clip(self, x: float) -> float:
        """``x`` moved into the range (unchanged, bit for bit, when it is in it)."""
        return min(max(x, self.low), self.high)

    def problem(self, value: Value) -> str | None:
        """Why ``value`` is not allowed for this parameter, or None when it is.

        A number must lie in the range. A uniform or triangular distribution must lie wholly in
        it. A normal or lognormal one reaches any value, so its draws are clipped to the range;
        its centre (the normal's mean, the lognormal's median ``e**mu``) must lie in the range,
        or the clipped draws would pile up at a bound.
        """
        if not isinstance(value, Distribution):
            if value < self.low:
                return (f"{_number(value)} is below the allowed minimum {_number(self.low)}"
                        f" (range {self.range_text})")
            if value > self.high:
                return (f"{_number(value)} is above the allowed maximum {_number(self.high)}"
                        f" (range {self.range_text})")
            return None
        if self.name in STRUCTURAL:
            return "must be one number: it sets the model's structure (no distribution)"
        a, allowed = value.args, f"the allowed range {self.range_text}"
        if value.kind in ("uniform", "triangular"):
            if a[0] < self.low or a[-1] > self.high:
                return f"{value.kind} {_numbers(a)} reaches outside {allowed}"
            return None
        centre, what = (a[0], "mean") if value.kind == "normal" else (_exp(a[0]), "median")
        if not self.low <= centre <= self.high:
            return (f"{value.kind} {_numbers(a)}: its {what} {_number(centre)} is outside"
                    f" {allowed} (draws are clipped to the range, so the {what} must lie in it)")
        return None


    def smallest(self, value: Value) -> float:
        """The least ``value`` can be for this parameter: a number, or a draw after clipping."""
        if not isinstance(value, Distribution):
            return value
        a = value.args
        if value.kind in ("uniform", "triangular"):
            return a[0]
        if a[1] > 0:  # normal and lognormal tails reach the bottom of the range
            return self.low
        return self.clip(a[0] if value.kind == "normal" else _exp(a[0]))


#: Shares the model divides by their sum (the demand split, the smuggled chip mix).
SHARE_GROUPS: tuple[str, ...] = ("buyers.demand_share", "smuggling.chip_mix")


def share_group_problem(overrides: Mapping[str, Value]) -> tuple[str, str] | None:
    """A group of :data:`SHARE_GROUPS` that could be all 0 in one replication.

    Returns:
        ``(name, problem)``: the group's member the scenario set last, and why it is refused;
        None when every group keeps a positive share.

    """
    for prefix in SHARE_GROUPS:
        members = [n for n in DEFAULTS if n.startswith(prefix + ".")]
        if any(DEFAULTS[n].smallest(overrides.get(n, DEFAULTS[n].value)) > 0 for n in members):
            continue
        blame = [n for n in overrides if n in members][-1]
        return blame, (f"the shares {prefix}.* could all be 0 at once; at least one must stay"
                       " above 0 (a number, or a uniform or triangular low end, above 0)")
    return None


def _number(x: float) -> str:
    """A number as a scenario file would write it: ``0.5``, ``120``, ``1e6``."""
    return f"{x:g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def _numbers(args: tuple[float, ...]) -> str:
    return "[" + ", ".join(_number(a) for a in args) + "]"


def _load_defaults() -> dict[str, ParameterSpec]:
    text = resources.files("sim.world").joinpath("data/parameters.yaml").read_text(encoding="utf-8")
    out: dict[str, ParameterSpec] = {}
    for name, row in yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)).items():
        out[name] = _spec(name, row, row)
    return out | _chip_defaults()


def _spec(name: str, row: Mapping[str, Any], field: Mapping[str, Any]) -> ParameterSpec:
    """A parameter's spec from its data row (value, source) and its field (unit, range, meaning)."""
    raw = row["value"]
    value = Distribution.parse(raw) if isinstance(raw, dict) else float(raw)
    low, high = (float(x) for x in field["range"])
    return ParameterSpec(name, value, str(field["unit"]), str(row["source"]),
                         str(field["meaning"]), low, high)


def _chip_defaults() -> dict[str, ParameterSpec]:
    """The chip catalogue's numbers as parameters ``chips.<CHIP>.<field>``."""
    from sim.world.catalogue import CHIP_FIELDS, catalogue_data, chip_parameter

    data = catalogue_data()
    out: dict[str, ParameterSpec] = {}
    for chip, row in data["chips"].items():
        for field in CHIP_FIELDS:
            name = chip_parameter(chip, field)
            meaning = f"{chip}: {data['fields'][field]['meaning']}"
            out[name] = _spec(name, row[field], data["fields"][field] | {"meaning": meaning})
    return out


#: name -> spec, in data-file order.
DEFAULTS: dict[str, ParameterSpec] = _load_defaults()


#: Parameters that set the model's structure (array sizes, the clock): one number for every
#: replication of a run, never a distribution.
STRUCTURAL: frozenset[str] = frozenset({
    "model.burn_in_months", "vendors.lead_months",
    "buyers.cohort_size.research_labs", "buyers.cohort_size.state_dcs",
})


# --- the posterior: parameter sets fitted to the record (issue 13) ----------------------------

#: The key of a scenario's ``parameters:`` that says where values come from, not a parameter.
SOURCE_KEY = "from"
#: ``from:`` values a scenario file may write: the shipped posterior, or the data file alone.
SOURCES: tuple[str, ...] = ("posterior", "defaults")
#: The shipped posterior (written by ``chipsim calibrate``), beside its provenance file.
POSTERIOR_FILE = "data/posterior.csv"
#: Stream key of the particle draw: a replication's choice of particle has its own stream.
POSTERIOR_STREAM = zlib.crc32(b"posterior particle")


@dataclass(frozen=True)
class Posterior:
    """A weighted sample of parameter sets (the ABC-SMC's particles) to draw replications from.

    Replication ``r`` draws one particle by weight, from a stream keyed by its seed alone
    (``SeedSequence(entropy, spawn_key + (POSTERIOR_STREAM,))``), so its values are the same
    whatever runs beside it, in a scenario and in its counterfactual alike.

    Attributes:
        names: the parameters it gives values to.
        weights: the particles' weights, summing to 1.
        rows: the particles' values, one tuple per particle in ``names`` order.
        sha256: SHA-256 of the file's bytes (a scenario's resolved form pins it).
        file: where it was read from.

    """

    names: tuple[str, ...]
    weights: tuple[float, ...]
    rows: tuple[tuple[float, ...], ...]
    sha256: str
    file: str

    def index(self, seed: np.random.SeedSequence) -> int:
        """The particle replication ``seed`` draws (by weight)."""
        import numpy as np

        key = (*seed.spawn_key, POSTERIOR_STREAM)
        u = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=key)).random()
        cumulative = np.cumsum(self.weights)
        return min(int(np.searchsorted(cumulative, u * cumulative[-1], side="right")),
                   len(self.rows) - 1)

    def particle(self, seed: np.random.SeedSequence) -> dict[str, float]:
        """The parameter values replication ``seed`` takes from the posterior."""
        return dict(zip(self.names, self.rows[self.index(seed)], strict=True))

    def to_yaml(self) -> dict[str, str]:
        """The resolved (pinned) form: ``{posterior: <sha256>}``; manifests record it."""
        return {"posterior": self.sha256}


def posterior_path() -> str:
    """Path of the shipped posterior file."""
    return str(resources.files("sim.world").joinpath(POSTERIOR_FILE))


def load_posterior(path: str | None = None) -> Posterior:
    """Read a posterior file: a CSV of ``weight`` and one column per parameter.

    Raises:
        ValueError: the file is missing or malformed, names an unknown parameter or holds a
            value outside a parameter's range.

    """
    import os

    path = path or posterior_path()
    try:
        stat = os.stat(path)
    except OSError:
        raise ValueError(f"no posterior file at {path} (run `chipsim calibrate`)") from None
    return _read_posterior(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_posterior(path: str, _mtime: int, _size: int) -> Posterior:
    import csv
    import hashlib
    import io

    with open(path, "rb") as fh:
        data = fh.read()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    if len(rows) < 2 or not rows[0] or rows[0][0] != "weight":
        raise ValueError(f"{path}: a posterior is a CSV with a header 'weight,<parameter>,...'"
                         " and one row per particle")
    names = tuple(rows[0][1:])
    for name in names:
        if name not in DEFAULTS or name in STRUCTURAL:
            raise ValueError(f"{path}: {name!r} is not a parameter a posterior can set")
    weights, values = [], []
    for line, row in enumerate(rows[1:], start=2):
        try:
            numbers = [float(x) for x in row]
        except ValueError:
            raise ValueError(f"{path}:{line}: not a row of numbers") from None
        if len(numbers) != len(names) + 1 or not all(map(math.isfinite, numbers)):
            raise ValueError(f"{path}:{line}: expected {len(names) + 1} finite numbers")
        for name, x in zip(names, numbers[1:], strict=True):
            problem = DEFAULTS[name].problem(x)
            if problem is not None:
                raise ValueError(f"{path}:{line}: {name}: {problem}")
        if numbers[0] < 0:
            raise ValueError(f"{path}:{line}: a weight is not negative")
        weights.append(numbers[0])
        values.append(tuple(numbers[1:]))
    total = sum(weights)
    if not total > 0:
        raise ValueError(f"{path}: the weights sum to 0")
    return Posterior(names, tuple(w / total for w in weights), tuple(values),
                     hashlib.sha256(data).hexdigest(), path)


def parameter_source(value: Any) -> Posterior | None:
    """What ``parameters: {from: VALUE}`` means: the shipped posterior, or None (defaults).

    ``posterior`` reads the shipped file; ``{posterior: SHA256}`` (a resolved scenario, as a
    manifest records it) must match the shipped file's hash; ``defaults`` means the data file's
    values alone (a scenario that extends one drawing from the posterior can turn it off).

    Raises:
        ValueError: an unknown source, a pinned hash that is not the shipped posterior's, or a
            broken posterior file.

    """
    if value == "defaults":
        return None
    if value == "posterior":
        return load_posterior()
    if isinstance(value, Mapping) and list(value) == ["posterior"]:
        posterior = load_posterior()
        if value["posterior"] != posterior.sha256:
            raise ValueError(f"this scenario was resolved with the posterior of hash"
                             f" {str(value['posterior'])[:12]}, but the shipped"
                             f" {POSTERIOR_FILE} hashes to {posterior.sha256[:12]}; its numbers"
                             " would differ (re-run it from the scenario file)")
        return posterior
    raise ValueError(f"unknown source {value!r}; write one of: {', '.join(SOURCES)}")


def draw(overrides: Mapping[str, Value | Posterior], seed: np.random.SeedSequence
         ) -> dict[str, float]:
    """Resolve every parameter to a number for one replication.

    Each parameter draws from its own stream, keyed by the replication's seed and the
    parameter's name, so a value never depends on which other parameters a scenario turns into
    distributions (common random numbers across scenarios). A draw outside the parameter's
    range (only normal and lognormal distributions can make one) is clipped to the nearest
    bound; draws inside it are unchanged.

    With a posterior under :data:`SOURCE_KEY` (``parameters: {from: posterior}``), the
    replication first draws one of its particles (:meth:`Posterior.particle`); the particle's
    values replace the data file's defaults, and the scenario's own overrides win over both.
    """
    import numpy as np

    source = overrides.get(SOURCE_KEY)
    particle = source.particle(seed) if isinstance(source, Posterior) else {}
    values: dict[str, float] = {}
    for name, spec in DEFAULTS.items():
        if name not in overrides and name in particle:
            values[name] = particle[name]
            continue
        value = overrides.get(name, spec.value)
        if isinstance(value, Distribution):
            key = (*seed.spawn_key, zlib.crc32(name.encode()))
            rng = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=key))
            values[name] = spec.clip(value.sample(rng))
        else:
            values[name] = float(value)
    return values


def draw_many(overrides: Mapping[str, Value | Posterior], seeds: Sequence[np.random.SeedSequence],
              fixed: Sequence[Mapping[str, float]] | None = None) -> dict[str, np.ndarray]:
    """Every parameter for a batch of replications: name -> column of values, shape (R, 1).

    Replication ``r`` gets exactly what :func:`draw` gives for ``seeds[r]``, then the values of
    ``fixed[r]`` (a sensitivity design point, a posterior sample) on top. Columns broadcast
    against per-agent arrays of shape (R, n).

    The columns are read-only and shared: a replication's scenario and its counterfactual draw
    the same values (same seeds and overrides), so the second gets the first's table.

    Raises:
        ValueError: a structural parameter (:data:`STRUCTURAL`) differs between replications.

    """
    key = (tuple((name, value.sha256 if isinstance(value, Posterior) else value)
                 for name, value in sorted(overrides.items())),
           tuple((seed.entropy, seed.spawn_key) for seed in seeds),
           None if fixed is None else tuple(tuple(sorted(extra.items())) for extra in fixed))
    cached = _DRAWN.get(key)
    if cached is None:
        cached = _draw_table(overrides, seeds, fixed)
        _DRAWN.clear()  # one table kept: the scenario's, for its counterfactual
        _DRAWN[key] = cached
    return dict(cached)


_DRAWN: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}


def _draw_table(overrides: Mapping[str, Value | Posterior],
                seeds: Sequence[np.random.SeedSequence],
                fixed: Sequence[Mapping[str, float]] | None) -> dict[str, np.ndarray]:
    import numpy as np

    rows = [draw(overrides, seed) for seed in seeds]
    if fixed is not None:
        rows = [row | dict(extra) for row, extra in zip(rows, fixed, strict=True)]
    table = {name: np.array([[row[name]] for row in rows]) for name in DEFAULTS}
    for name in STRUCTURAL:
        if len(np.unique(table[name])) > 1:
            raise ValueError(f"{name} sets the model's structure: it must be the same number in"
                             " every replication of a run")
    for column in table.values():
        column.flags.writeable = False
    return table


def group[V](values: Mapping[str, V], prefix: str) -> dict[str, V]:
    """The parameters under ``prefix.`` keyed by their last part (e.g. per buyer class)."""
    start = prefix + "."
    return {k[len(start):]: v for k, v in values.items() if k.startswith(start)}

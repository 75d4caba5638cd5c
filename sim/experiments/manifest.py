"""A run's manifest: what is needed to cite a run and to repeat it to the byte.

``manifest.json`` holds the scenario's name, hash and resolved document, its counterfactual's, the
seeds and how they derive, the versions of Python and of every package that decides the numbers,
a fingerprint of chipsim's code, the executor, the time and the command line, the failed
replications with their seeds, the name of the timeseries file, and the pairing's strength
(``pairing``, added by the runner: :mod:`sim.experiments.pairing`). :func:`make_manifest` writes
that record; :func:`scenario_from_manifest` rebuilds the scenario and counterfactual from it alone
(no scenario file is read), checked against the recorded hashes - what ``chipsim rerun`` does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sim.experiments.replication import SEED_DERIVATION
from sim.scenario.errors import ScenarioError
from sim.scenario.scenario import NO_EVENTS, Scenario, scenario_from_dict

#: Most replications one run may ask for (keeps memory bounded; see docs/scenarios.md).
MAX_SEEDS = 100_000
#: Packages whose versions a manifest records.
PACKAGES: tuple[str, ...] = ("chipsim", "mesa", "numpy", "scipy", "pandas", "matplotlib",
                             "pyyaml", "pydantic", "networkx", "tqdm", "pyarrow")


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on, for manifests."""
    out = {"python": sys.version.split()[0]}
    for dist in PACKAGES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def scenario_record(scenario: Scenario) -> dict[str, Any]:
    """What every manifest says of the scenario it ran: name, title, file, hash, resolved form.

    The resolved form (defaults, extends and posterior pinned) is what repeats the run.
    """
    return {
        "scenario": scenario.name,
        "title": scenario.title,
        "scenario_file": str(scenario.path) if scenario.path else None,
        "scenario_hash": scenario.content_hash(),
        "resolved_scenario": scenario.resolved,
    }


def make_manifest(scenario: Scenario, counterfactual: Scenario, n: int,
                  failures: dict[int, str], started: datetime, wall: float, *,
                  executor: dict[str, Any] | None = None, reused: int = 0,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of a finished ensemble of ``n`` replications (``extra`` keys added last)."""
    from sim.experiments.store import code_fingerprint

    return {
        **scenario_record(scenario),
        "counterfactual": {
            "name": counterfactual.name,
            "hash": counterfactual.content_hash(),
            "given_as": scenario.resolved.get("counterfactual", NO_EVENTS),
            "resolved": counterfactual.resolved,
        },
        "seeds": {"root_seed": scenario.seed, "count": n, "derivation": SEED_DERIVATION},
        "replications": {"count": n, "succeeded": n - len(failures), "failed": len(failures),
                         "reused_from_interrupted_run": reused},
        "failed_replications": {
            str(i): {"error": error, "seed": {"root_seed": scenario.seed, "spawn_key": [i]}}
            for i, error in failures.items()
        },
        "executor": executor or {"kind": "serial", "workers": 1},
        "versions": package_versions(),
        "code_fingerprint": code_fingerprint(),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 3),
        "command_line": sys.argv,
        **(extra or {}),
    }


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``, as a dict.

    Raises:
        ScenarioError: it is missing, unreadable or not a JSON object.

    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("no such manifest", file=str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ScenarioError(f"not a readable JSON manifest ({exc})", file=str(path)) from None
    if not isinstance(document, dict):
        raise ScenarioError("not a chipsim run manifest (not a JSON object)", file=str(path))
    return document


def scenario_from_manifest(manifest: dict[str, Any], label: str = "<manifest>"
                           ) -> tuple[Scenario, Scenario, int]:
    """Rebuild a run's scenario, counterfactual and seed count from its manifest.

    Both scenarios come from the resolved documents stored in the manifest (no file is read,
    so a counterfactual given by path is reproduced too) and must hash to the recorded hashes.

    Raises:
        ScenarioError: the manifest lacks what is needed, or does not match its hashes.

    """
    def fail(problem: str, key: str | None = None) -> ScenarioError:
        return ScenarioError(problem, file=label, key=key)

    try:
        resolved = manifest["resolved_scenario"]
        n = manifest["seeds"]["count"]
        root = manifest["seeds"]["root_seed"]
    except (KeyError, TypeError) as exc:
        raise fail(f"not a chipsim run manifest (no {exc})") from None
    if not isinstance(n, int) or not 1 <= n <= MAX_SEEDS:
        raise fail(f"must be between 1 and {MAX_SEEDS} (got {n!r})", "seeds.count")
    scenario = _rebuild(resolved, manifest.get("scenario_hash"), label, "resolved_scenario")
    if root != scenario.seed:
        raise fail(f"root seed {root!r} differs from the resolved scenario's {scenario.seed}",
                   "seeds.root_seed")
    entry = manifest.get("counterfactual") or {}
    if isinstance(entry, dict) and isinstance(entry.get("resolved"), dict):
        counterfactual = _rebuild(entry["resolved"], entry.get("hash"), label,
                                  "counterfactual.resolved")
    elif resolved.get("counterfactual", NO_EVENTS) == NO_EVENTS:
        counterfactual = scenario.without_events()
    else:
        raise fail("the counterfactual is a file and this manifest does not hold its resolved "
                   "document (written by an older chipsim); run the scenario file instead",
                   "counterfactual")
    return scenario, counterfactual, n


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _rebuild(resolved: Any, expected_hash: Any, label: str, key: str) -> Scenario:
    """A scenario from its resolved document, without reading any file; hash-checked."""
    if not isinstance(resolved, dict):
        raise ScenarioError("must be a resolved scenario (a JSON object)", file=label, key=key)
    given = resolved.get("counterfactual", NO_EVENTS)
    standalone = {**resolved, "counterfactual": NO_EVENTS}  # the counterfactual is rebuilt apart
    try:
        built = scenario_from_dict(standalone, file=f"<{label}: {key}>")
    except ScenarioError as exc:
        raise ScenarioError(f"cannot rebuild the scenario: {exc}", file=label, key=key) from None
    if built.resolved != standalone:
        raise ScenarioError("the resolved scenario does not rebuild to itself (written by "
                            "another chipsim version?)", file=label, key=key)
    scenario = dataclasses.replace(built, counterfactual=given, resolved=dict(resolved))
    if expected_hash is not None and scenario.content_hash() != expected_hash:
        raise ScenarioError(f"the scenario hashes to {scenario.content_hash()[:12]}, not to the "
                            f"recorded {str(expected_hash)[:12]} (was the manifest edited?)",
                            file=label, key=key)
    return scenario

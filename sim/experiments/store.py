"""Where finished replications go while a run is under way, so that a long run can resume.

A run to ``results/NAME/`` streams each finished replication into a hidden work folder beside it,
``results/.NAME.partial/``, as soon as it comes back from a worker:

* ``replications/000017.npy`` - the metrics of replication 17 (months x METRIC_NAMES, float64,
  exact bits), or ``000017.error.txt`` - the one-line error it raised;
* ``run.json`` - which experiment the folder belongs to: scenario and counterfactual hashes,
  period, metric names and a fingerprint of chipsim's code and numpy (see :func:`identity`);
* ``lock`` - held (``flock``) while a run writes here, so two runs never share a folder.

Every file is written under a temporary name and renamed, so after a SIGKILL at any moment each
file is whole or absent. ``--resume`` reuses the finished replications only if ``run.json``
matches the experiment being run; replications that failed are run again. The results folder is
written atomically at the end (:mod:`sim.experiments.output`) and only then is the work folder
removed.

Memory stays flat: nothing but the list of finished indices is kept while the run goes on, and
the replications are read back one at a time (:class:`sim.experiments.tables.StoreTable`).
:class:`MemoryStore` is the same interface in memory, for ``sim.run`` without a work folder.

A replication that cannot be saved (the disk is full) raises
:class:`~sim.experiments.folders.OutputError`; what was saved before stays resumable.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from sim.experiments.folders import OutputError
from sim.experiments.replication import ReplicationResult

WORK_SUFFIX = ".partial"
IDENTITY_FILE = "run.json"
LOCK_FILE = "lock"
REPLICATIONS_DIR = "replications"
#: Keys of ``run.json`` that must match for a resume (the rest is information).
IDENTITY_KEYS = ("scenario_hash", "counterfactual_hash", "period", "metrics", "code_fingerprint",
                 "numpy")


class StoreError(Exception):
    """A work folder cannot be used as asked (another run's, or locked by a live run)."""


def work_folder(target: Path | str) -> Path:
    """The work folder of a run whose results go to ``target``: ``.<name>.partial`` beside it."""
    target = Path(target)
    return target.parent / f".{target.name}{WORK_SUFFIX}"


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 over chipsim's source and data files: changes whenever the model code does."""
    package = Path(__file__).resolve().parents[1]  # sim/, not only this subpackage
    digest = hashlib.sha256()
    files = sorted(p for p in package.rglob("*")
                   if p.is_file() and p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts)
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def runtime() -> dict[str, str]:
    """What decides the numbers besides the scenario: chipsim's code, numpy and Python."""
    return {"code_fingerprint": code_fingerprint(), "numpy": np.__version__,
            "python": sys.version.split()[0]}


def identity(scenario_hash: str, counterfactual_hash: str, period: tuple[str, str],
             metrics: list[str]) -> dict[str, Any]:
    """The ``run.json`` record of an experiment: what a resumed run must match."""
    here = runtime()
    return {"scenario_hash": scenario_hash, "counterfactual_hash": counterfactual_hash,
            "period": list(period), "metrics": list(metrics),
            "code_fingerprint": here["code_fingerprint"], "numpy": here["numpy"]}


#: How long a run waits for a results folder's lock before it says another run holds it: the
#: worker processes of a run killed a moment ago share its lock until they notice and exit.
LOCK_WAIT_SECONDS = 2.0


def _take_lock(file: IO[bytes]) -> bool:
    """Take ``file``'s exclusive lock, waiting up to :data:`LOCK_WAIT_SECONDS`."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


class MemoryStore:
    """Finished replications kept in memory (``sim.run`` without a work folder)."""

    def __init__(self) -> None:
        self._values: dict[int, np.ndarray] = {}
        self.failures: dict[int, str] = {}
        self.reused = 0

    def finished(self) -> set[int]:
        """Indices of the replications that succeeded."""
        return set(self._values)

    def save(self, result: ReplicationResult) -> None:
        """Keep one finished replication (or its error)."""
        if result.values is None:
            self.failures[result.index] = result.error or ""
        else:
            self._values[result.index] = result.values
            self.failures.pop(result.index, None)

    def load(self, index: int) -> np.ndarray:
        """The metrics of a finished replication."""
        return self._values[index]

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class DiskStore:
    """Finished replications streamed to a work folder (see the module docstring).

    Args:
        folder: the work folder (see :func:`work_folder`); created if missing.
        record: this experiment's :func:`identity`.
        resume: reuse the folder's finished replications if its ``run.json`` matches ``record``.
        discard: throw away whatever the folder holds and start again.

    Raises:
        StoreError: another live run holds the folder; or it holds an unfinished run and neither
            ``resume`` nor ``discard`` was asked; or ``resume`` was asked and ``run.json``
            belongs to another experiment.

    """

    def __init__(self, folder: Path | str, record: dict[str, Any], *, resume: bool = False,
                 discard: bool = False) -> None:
        self.folder = Path(folder)
        self.failures: dict[int, str] = {}
        self.count: int | None = None
        self._removed = False
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.folder / LOCK_FILE, "a+b")  # noqa: SIM115 - held until close()
        if not _take_lock(self._lock):
            self._lock.close()
            raise StoreError(f"another chipsim run is writing {self.folder}; wait for it to "
                             "finish or stop it")
        try:
            self._open(record, resume, discard)
        except BaseException:
            self._unlock()
            raise
        self._done = self.on_disk()
        self.reused = len(self._done)

    # --- opening ------------------------------------------------------------------------------

    @property
    def _reps(self) -> Path:
        return self.folder / REPLICATIONS_DIR

    def _open(self, record: dict[str, Any], resume: bool, discard: bool) -> None:
        stored = _read_json(self.folder / IDENTITY_FILE)
        empty = not any(self._reps.glob("*.npy"))
        if stored is not None and not discard and not empty:
            if not resume:
                raise StoreError(f"{self.folder} holds an unfinished run of this target; add "
                                 "--resume to finish it, or --force to discard it and start "
                                 "again")
            problems = [_difference(key, stored.get(key), record.get(key))
                        for key in IDENTITY_KEYS if stored.get(key) != record.get(key)]
            if problems:
                raise StoreError(f"cannot resume: the unfinished run in {self.folder} was "
                                 f"started with {'; '.join(problems)}; use --force without "
                                 "--resume to discard it and start again")
            self.count = stored.get("count")
        else:  # new, discarded, or nothing finished yet: start afresh
            if stored is not None and resume and not discard and stored.get("scenario_hash") \
                    == record["scenario_hash"]:
                self.count = stored.get("count")
            shutil.rmtree(self._reps, ignore_errors=True)
            _write_atomic(self.folder / IDENTITY_FILE, _dumps({**record, "count": self.count}))
        self._reps.mkdir(exist_ok=True)
        self._record = {**record, "count": self.count}

    # --- the store ----------------------------------------------------------------------------

    def set_count(self, count: int) -> None:
        """Record how many replications the run asks for (a later ``--resume`` defaults to it).

        Raises:
            OutputError: the record cannot be written.

        """
        if count != self.count:
            self.count = count
            self._record["count"] = count
            try:
                _write_atomic(self.folder / IDENTITY_FILE, _dumps(self._record))
            except OSError as exc:
                raise OutputError(f"the work folder {self.folder}", exc) from exc

    def finished(self) -> set[int]:
        """Indices of the replications that succeeded (in this session or an earlier one)."""
        return set(self._done)

    def on_disk(self) -> set[int]:
        """Indices of the replications saved on disk: what a ``--resume`` will reuse.

        Read from the folder, not from :meth:`finished`: a stop (Ctrl-C, SIGTERM) that lands
        between a replication's file being written and its being counted leaves the file, and
        a resume reuses it, so the stop's message must count it too.
        """
        return {int(p.name.removesuffix(".npy")) for p in self._reps.glob("*.npy")}

    def save(self, result: ReplicationResult) -> None:
        """Write one finished replication (or its error) to disk, atomically.

        Raises:
            OutputError: it cannot be written (the disk is full...); nothing half-written stays.

        """
        try:
            self._save(result)
        except OSError as exc:
            raise OutputError(f"replication {result.index} to {self._reps}", exc) from exc

    def _save(self, result: ReplicationResult) -> None:
        name = f"{result.index:06d}"
        error = self._reps / f"{name}.error.txt"
        if result.values is None:
            self.failures[result.index] = result.error or ""
            _write_atomic(error, ((result.error or "") + "\n").encode("utf-8"))
            return
        buffer = _npy_bytes(np.ascontiguousarray(result.values, dtype=np.float64))
        _write_atomic(self._reps / f"{name}.npy", buffer)
        error.unlink(missing_ok=True)
        self.failures.pop(result.index, None)
        self._done.add(result.index)

    def load(self, index: int) -> np.ndarray:
        """The metrics of a finished replication, read back from disk."""
        return np.load(self._reps / f"{index:06d}.npy", allow_pickle=False)

    def remove(self) -> None:
        """Delete the work folder (once the results folder is in place)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self._removed = True

    def close(self) -> None:
        """Release the lock; drop the folder if it holds no finished replication."""
        if not self._removed and not self._done:
            self.remove()
        self._unlock()

    def _unlock(self) -> None:
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def __enter__(self) -> DiskStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- helpers


def _npy_bytes(values: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, values, allow_pickle=False)
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent, old or complete."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _dumps(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path} is unreadable ({exc}); use --force to discard it") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path} is not a chipsim work record; use --force to discard it")
    return data


def _difference(key: str, there: Any, here: Any) -> str:
    what = {"scenario_hash": "another scenario", "counterfactual_hash": "another counterfactual",
            "period": "another period", "metrics": "other metric columns",
            "code_fingerprint": "other chipsim code", "numpy": "another numpy version"}[key]
    if isinstance(there, str) and isinstance(here, str) and len(here) == 64:
        there, here = there[:12], here[:12]
    return f"{what} ({there} there, {here} now)"

"""Results folders written atomically, and the byte-stable CSV and JSON inside them.

A results folder is what users cite, so it must never be half written or half overwritten.
:func:`atomic_folder` yields a hidden temporary sibling (same parent, so the final move is a
rename on the same file system); when the caller's block finishes it is renamed into place:

* if the target does not exist, the temporary folder is renamed to it;
* if it exists and ``force`` is false, :class:`FileExistsError` is raised before any work;
* if it exists and ``force`` is true, the old folder is renamed aside, the new one renamed in,
  and only then is the old one deleted. If the second rename fails the old folder is restored.

On any error the temporary folder is removed and the target is left as it was. A process killed
outright (SIGKILL) can leave its hidden ``.<name>.tmp-<pid>`` folder behind, never a folder that
looks like finished results; the next write to the same target removes such leftovers.

:func:`write_csv` and :func:`write_json` give identical bytes for identical input: shortest
round-trip floats, bare-newline line ends, sorted JSON keys. Nothing time- or host-dependent is
added.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


class OutputError(OSError):
    """A run's files cannot be written: no space left, no permission, a file in the way...

    An :class:`OSError` (with the original's ``errno``) whose message says, in one line, what
    could not be written and why.

    Attributes:
        what: what could not be written, in words (``the results folder results/x``).
        reason: the system's words for why (``No space left on device``).

    """

    def __init__(self, what: str, exc: OSError) -> None:
        self.what = what
        self.reason = exc.strerror or str(exc) or type(exc).__name__
        super().__init__(f"cannot write {what}: {self.reason}")
        self.errno = exc.errno


@contextmanager
def atomic_folder(target: Path | str, force: bool = False) -> Iterator[Path]:
    """Yield an empty hidden temporary folder; when the block succeeds, rename it to ``target``.

    Raises:
        FileExistsError: the target exists (or appears meanwhile) and ``force`` is false.
        NotADirectoryError: the target exists and is not a folder.

    """
    target = Path(target)
    check_target(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(target)
    tmp = _sibling(target, "tmp")
    if tmp.exists():  # left by a crashed process that had our pid
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        _move_into_place(tmp, target, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_target(target: Path, force: bool) -> None:
    """Refuse early, before any work, if the target exists and may not be replaced."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise NotADirectoryError(f"{target} exists and is not a folder; not replacing it")
    if target.exists() and not force:
        raise FileExistsError(
            f"results folder {target} already exists; remove it, choose another --out, "
            "or use --force to replace it")


def refuse_to_overwrite(target: Path, force: bool, *, file: str, note: str = "") -> None:
    """:func:`check_target` as a command's input error (exit 2), before any model runs.

    Args:
        target: The results folder a command is about to write.
        force: ``--force`` was given.
        file: What the command was given (named at the start of the error line).
        note: Said after the folder's name, e.g. why ``--resume`` does not apply.

    Raises:
        ScenarioError: naming ``--out``.

    """
    from sim.scenario.errors import ScenarioError

    try:
        check_target(target, force)
    except NotADirectoryError as exc:
        raise ScenarioError(str(exc), file=file, key="--out") from None
    except FileExistsError:
        raise ScenarioError(f"{target} exists{note}; use --force to replace it or --out "
                            "elsewhere", file=file, key="--out") from None


def write_csv(frame: pd.DataFrame, path: Path | io.BytesIO) -> None:
    """Write a CSV with shortest round-trip floats and bare-newline line ends."""
    if isinstance(path, Path):
        path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write indented JSON, keys sorted, UTF-8, final newline (paths, dates, numpy converted)."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False,
                      default=_json_default, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8", newline="\n")


def _json_default(value: Any) -> Any:
    """Convert the few non-JSON types a manifest is likely to hold."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy array
        return value.tolist()
    raise TypeError(f"value of type {type(value).__name__} is not JSON-serialisable")


# --------------------------------------------------------------------------- leftovers


def _sibling(target: Path, kind: str) -> Path:
    """Return a hidden sibling of the target, unique to this process: ``.<name>.<kind>-<pid>``."""
    return target.parent / f".{target.name}.{kind}-{os.getpid()}"


def _remove_stale_tmp(target: Path) -> None:
    """Remove temporary folders that killed writers of this target left (their pid is gone)."""
    prefix = f".{target.name}.tmp-"
    for path in target.parent.glob(f"{prefix}*"):
        pid = path.name.removeprefix(prefix)
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


# --------------------------------------------------------------------------- the swap


def _move_into_place(tmp: Path, target: Path, force: bool) -> None:
    """Rename the finished folder to the target, replacing an old one only if forced."""
    if not target.exists():
        try:
            os.rename(tmp, target)
        except OSError as exc:  # created meanwhile, non-empty
            raise FileExistsError(f"results folder {target} appeared while writing; "
                                  "not replacing it") from exc
        return
    if not force:
        raise FileExistsError(f"results folder {target} appeared while writing; "
                              "not replacing it (use --force)")
    old = _sibling(target, "old")
    if old.exists():
        shutil.rmtree(old)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    try:
        shutil.rmtree(old)
    except OSError as exc:
        warnings.warn(f"new results are in {target}, but the old folder could not be removed "
                      f"from {old}: {exc}", stacklevel=3)

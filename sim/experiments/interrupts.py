"""Stopping a run from outside: SIGTERM and SIGHUP handled like Ctrl-C.

SLURM, Kubernetes and systemd send SIGTERM before they kill a job; a closed terminal sends
SIGHUP. Inside :func:`stop_on_signals` either signal raises :class:`Stopped`, a kind of
:class:`KeyboardInterrupt`, in the main thread, so a run stops exactly as it does on Ctrl-C: the
workers are ended, the finished replications are already saved, and the caller says how to
``--resume``. The exit code is the shell's for that signal, 128 + its number: 143 for SIGTERM,
129 for SIGHUP.

One signal is enough: once stopping, further SIGTERMs and SIGHUPs are ignored, so that the clean-up
(a few milliseconds) is not cut short by a scheduler that repeats its signal.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The signals that stop a run like Ctrl-C.
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """The run was asked to stop by a signal (SIGTERM, SIGHUP).

    Attributes:
        signum: the signal's number.

    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal's number: 143 for SIGTERM, 129 for SIGHUP."""
        return 128 + self.signum


@contextmanager
def stop_on_signals(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, each of ``signals`` raises :class:`Stopped` (main thread only).

    Elsewhere than in the main thread Python cannot install signal handlers; the block then
    runs with the handlers as they are. The previous handlers are restored on leaving.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        for each in signals:
            signal.signal(each, signal.SIG_IGN)
        raise Stopped(signum)

    previous = {each: signal.signal(each, stop) for each in signals}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)

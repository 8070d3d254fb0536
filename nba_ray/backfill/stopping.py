"""Stopping a backfill cleanly on SIGINT (Ctrl-C) and SIGTERM (what `ray job stop` sends).

The first signal only asks: the driver starts no new date, finishes the dates in flight, shuts down
what it started and exits with 128 + the signal number, the shell's convention (130 for SIGINT, 143
for SIGTERM), after one line saying how far it got and to rerun the same command to resume. A second
signal stops at once: the dates in flight are abandoned, which is clean because each write replaces a
date's rows atomically (a date is either written whole or not at all) and only written dates get a
done checkpoint; a local Ray started by the run dies with its driver (Ray's fate sharing).

The handlers are Python's, installed in the main thread, so a signal never interrupts the driver inside
a wait with a `KeyboardInterrupt` traceback. `ray.init` installs its own SIGTERM handler (and Ray's C++
core worker one that prints a stack trace), so the driver installs these again once Ray is up.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Records the first SIGINT / SIGTERM while installed; the driver polls `requested` between dates."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""

    @property
    def exit_code(self) -> int:
        return 128 + self.signal if self.signal is not None else 0

    def install(self) -> None:
        """Take over SIGINT and SIGTERM (again, after something replaced them); only the main thread can."""
        if threading.current_thread() is not threading.main_thread():
            return
        for number in SIGNALS:
            previous = signal.signal(number, self._handle)
            if previous is not self._handle:
                self._previous.setdefault(number, previous)

    def restore(self) -> None:
        """Give the signals back to the handlers they had before the first `install`."""
        for number, previous in self._previous.items():
            # None: the handler was not installed from Python (a C one): the default is the safe choice.
            signal.signal(number, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def __enter__(self) -> StopSignals:
        self.install()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.restore()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if self.signal is None:
            self.signal = number
            log.warning("%s: finishing the dates in flight, then stopping (again: stop at once)", name)
            return
        sys.stderr.write(
            f"{name} again: stopped at once; dates in flight are abandoned, none is half-written; "
            "rerun the same command to resume\n"
        )
        sys.stderr.flush()
        os._exit(128 + number)

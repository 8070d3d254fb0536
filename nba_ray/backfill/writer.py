"""The writer thread of a backfill: finished blocks → one atomic replace per group → callback.

Every finished block queued by the time the writer is free goes out in one atomic replace of exactly
its dates' predictions together with their checkpoints (a date is marked done exactly when its rows
are in), then the per-date callback (progress). Dates settled without predictions (failed, skipped)
are checkpointed in one write. The queue is bounded, so predicting runs at most `window` blocks ahead
of writing.

The writer must never hang the run, so nothing that goes wrong in it can end its thread:
- a group whose write fails (or whose rows cannot be concatenated or counted) is written again date by
  date, so one bad date fails alone, with its own error; a write that fails writes none of its dates;
- a checkpoint write of settled dates that fails fails them (a resume redoes them);
- a callback that raises fails its date (its checkpoint is rewritten as failed), and the run goes on;
- anything else fails every date of the group, with the error.
Should the thread die all the same, the driver does not wait on the full queue for ever: it records the
dates it would have queued as failed itself (`put` polls the thread while the queue is full).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from nba_ray.backfill.checkpoints import DONE, FAILED, Checkpoints, DateOutcome
from nba_ray.systems.runner import ChunkResult
from nba_ray.warehouse import Warehouse
from nba_ray.warehouse.errors import WarehouseUnwritable, one_line

log = logging.getLogger(__name__)

# How often the driver, waiting for room in the full queue, checks that the writer thread is alive.
QUEUE_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class PredictedDate:
    """A date whose predictions are gathered, ready to be written."""

    game_date: date
    result: ChunkResult
    players: int
    load_seconds: float
    predict_seconds: float


_STOP = object()


class DateWriter:
    """The writer thread (see the module docstring); `outcomes` holds every date it finished, in the
    order it finished them. Use as a context manager: leaving it writes what is queued, then joins."""

    def __init__(
        self,
        warehouse: Warehouse,
        checkpoints: Checkpoints,
        systems: Sequence[str],
        mode: str,
        window: int,
        on_date: Callable[[DateOutcome], None],
    ) -> None:
        self.warehouse = warehouse
        self.checkpoints = checkpoints
        self.systems = list(systems)
        self.mode = mode
        self.max_group = window
        self.on_date = on_date
        self.outcomes: list[DateOutcome] = []
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=window)
        self._thread = threading.Thread(target=self._loop, name="date-writer", daemon=True)
        self._last_write_seconds = 0.0

    def __enter__(self) -> DateWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._put(_STOP):
            self._thread.join()

    def put_predicted(self, dates: Sequence[date], predicted: Future[list[PredictedDate]]) -> None:
        """Queue a block once its predictions are gathered (an actor lost beyond retries fails its
        dates)."""
        try:
            result = predicted.result()
        except Exception as err:
            for game_date in dates:
                self.put_failure(game_date, "predict", err)
            return
        if not self._put(result):
            stopped = WriterStopped("the writer thread died")
            self.outcomes += [_failed(p.game_date, "write", stopped) for p in result]

    def put_failure(self, game_date: date, stage: str, error: BaseException) -> None:
        log.debug("%s: %s failed", game_date, stage, exc_info=error)
        self.put_outcome(_failed(game_date, stage, error))

    def put_outcome(self, outcome: DateOutcome) -> None:
        """Queue a date whose outcome is already known (failed or skipped), to be checkpointed in order."""
        if not self._put(outcome):
            self.outcomes.append(outcome)

    def _put(self, item: object) -> bool:
        """Queue `item`, waiting for room only while the writer thread lives. If it is dead, the dates
        still queued are failed here and False says `item` was not queued either."""
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=QUEUE_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        log.error("the writer thread is gone: the dates still to write are failed")
        self._fail_stranded()
        return False

    def _fail_stranded(self) -> None:
        stopped = WriterStopped("the writer thread died")
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, DateOutcome):
                self.outcomes.append(item)
            elif isinstance(item, list):
                self.outcomes += [_failed(p.game_date, "write", stopped) for p in item]

    # -- the thread ---------------------------------------------------------------------------------

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            group = [self._queue.get()]
            while len(group) < self.max_group and not self._queue.empty():
                group.append(self._queue.get())
            stopping = any(item is _STOP for item in group)
            items = [one for item in group if item is not _STOP for one in _dates_of(item)]
            if not items:
                continue
            try:
                self._write_group(items)
            except Exception as err:  # last resort: the group fails, the thread goes on
                if not isinstance(err, WarehouseUnwritable):  # a full disk: said once, in the summary
                    log.error("writer failed on %d date(s): %s", len(items), root_cause(err))
                reported = {outcome.game_date for outcome in self.outcomes}
                self.outcomes += [
                    _failed(item.game_date, "writer", err) for item in items if item.game_date not in reported
                ]

    def _write_group(self, items: list[PredictedDate | DateOutcome]) -> None:
        outcomes = [item for item in items if isinstance(item, DateOutcome)]
        predicted = [item for item in items if isinstance(item, PredictedDate)]
        self._mark(outcomes)
        if predicted:
            outcomes += self._write_predictions(predicted)
        for outcome in sorted(outcomes, key=lambda o: o.game_date):
            self._report(outcome)

    def _write_predictions(self, predicted: list[PredictedDate]) -> list[DateOutcome]:
        """One bulk load for the group; if it fails, one per date, so a bad date fails on its own."""
        try:
            return self._write_together(predicted)
        except WarehouseUnwritable:
            raise  # no date can be written: the whole group fails at once
        except Exception as err:
            if len(predicted) == 1:
                log.error("write of %s failed: %s", predicted[0].game_date, root_cause(err))
                return self._failed_write(predicted[0].game_date, err)
            log.warning(
                "write of %d dates together failed (%s): writing them one by one",
                len(predicted),
                root_cause(err),
            )
        return [outcome for one in predicted for outcome in self._write_predictions([one])]

    def _write_together(self, predicted: list[PredictedDate]) -> list[DateOutcome]:
        """Count, then write predictions and checkpoints in one atomic replace: a date that cannot be
        counted raises before anything is written. A checkpoint is written before its write time is
        known: it records the writer's last measured time per date."""
        started = time.perf_counter()
        outcomes = [_done(p) for p in predicted]
        for outcome in outcomes:
            outcome.write_seconds = self._last_write_seconds
        rows = pa.concat_tables([p.result.predictions for p in predicted])
        self.warehouse.write_predictions(
            rows,
            [p.game_date for p in predicted],
            self.systems,
            mode=self.mode,
            checkpoints=(self.checkpoints.key, self.checkpoints.rows(outcomes)),
        )
        self._last_write_seconds = (time.perf_counter() - started) / len(predicted)
        for outcome in outcomes:
            outcome.write_seconds = self._last_write_seconds
        return outcomes

    def _failed_write(self, game_date: date, error: BaseException) -> list[DateOutcome]:
        """The date's write wrote nothing: it is checkpointed as failed (a resume redoes it)."""
        failed = _failed(game_date, "write", error)
        self._mark([failed])
        return [failed]

    def _mark(self, outcomes: list[DateOutcome]) -> None:
        try:
            self.checkpoints.mark(outcomes)
        except WarehouseUnwritable:
            raise
        except Exception as err:  # the rows are written; a resume redoes these dates, replacing them
            log.error("checkpoint write failed for %d date(s): %s", len(outcomes), root_cause(err))
            for outcome in outcomes:
                outcome.status, outcome.error = FAILED, f"checkpoint: {root_cause(err)}"

    def _report(self, outcome: DateOutcome) -> None:
        """Hand the finished date to the callback; one that raises fails the date (checkpoint included)."""
        self.outcomes.append(outcome)
        try:
            self.on_date(outcome)
        except Exception as err:
            log.error("%s: the per-date callback failed: %s", outcome.game_date, root_cause(err))
            outcome.status, outcome.error = FAILED, f"callback: {root_cause(err)}"
            self._mark([outcome])


def _dates_of(item: object) -> list[Any]:
    """A queued block is its dates; anything else is one item."""
    return list(item) if isinstance(item, list) else [item]


class WriterStopped(RuntimeError):
    """The writer thread is gone; the date it was handed is failed, never silently dropped."""


def root_cause(error: BaseException) -> str:
    """One line for the root cause (a Ray task error's own text is a whole remote traceback)."""
    return one_line(getattr(error, "cause", None) or error, limit=500)


def _failed(game_date: date, stage: str, error: BaseException) -> DateOutcome:
    return DateOutcome(game_date, FAILED, error=f"{stage}: {root_cause(error)}")


def _done(predicted: PredictedDate) -> DateOutcome:
    result = predicted.result
    per_system = Counter(result.predictions.column("system_id").to_pylist())
    reasons = Counter(
        f"{system}:{reason}"
        for system, reason in zip(
            result.skips.column("system_id").to_pylist(),
            result.skips.column("reason").to_pylist(),
            strict=True,
        )
    )
    return DateOutcome(
        predicted.game_date,
        DONE,
        players=predicted.players,
        predictions=result.predictions.num_rows,
        skipped=result.skips.num_rows,
        load_seconds=predicted.load_seconds,
        predict_seconds=predicted.predict_seconds,
        per_system=dict(per_system),
        skip_reasons=dict(reasons),
    )

"""The writer thread never hangs the run, and a failure in it fails only the dates it concerns.

Faults are injected by fakes wrapping the real parts: the real DuckDB warehouse whose bulk load raises
for one date, the real predictor whose result cannot be counted on one date, a per-date callback that
raises, and one that kills the writer thread outright. Each test carries a timeout: a hang fails it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from nba_ray.backfill.actors import PredictorWorker
from nba_ray.backfill.checkpoints import DONE, FAILED, DateOutcome
from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.config import Settings
from nba_ray.features.contract import STANDARD
from nba_ray.systems.runner import ChunkResult
from nba_ray.warehouse.base import Replacement
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.schemas import BACKFILL_CHECKPOINTS, PLAYER_PROP_PREDICTIONS
from tests.backfill_fixtures import League, backfill_dates, checkpoints, predictions

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_ray"), pytest.mark.timeout(600)]

BROKEN = date(2023, 1, 20)


class WriteFailsOn(DuckDBWarehouse):
    """The real warehouse; a bulk load that includes BROKEN raises. Each load is slowed down so that
    finished dates queue up behind it and the writer takes them as groups."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[list[date]] = []

    def write_predictions(
        self,
        rows: pa.Table,
        dates: Sequence[date],
        systems: Sequence[str],
        *,
        mode: str = STANDARD,
        checkpoints: Any = None,
    ) -> int:
        self.writes.append(list(dates))
        # The load just before BROKEN waits longest, so that BROKEN and the dates after it finish behind
        # it and are taken as one group (on busy cores a date's prediction can outlast half a second).
        time.sleep(3.0 if BROKEN - timedelta(days=1) in dates else 0.5)
        if BROKEN in dates:
            raise OSError("injected: disk quota exceeded")
        return super().write_predictions(rows, dates, systems, mode=mode, checkpoints=checkpoints)


def run(
    settings: Settings, warehouse_class: type[DuckDBWarehouse] = DuckDBWarehouse, **kwargs: Any
) -> BackfillReport:
    with warehouse_class(settings.warehouse.path, settings.batching) as warehouse:
        return run_backfill(settings, warehouse, backfill_dates(), **kwargs)


def assert_only_broken_failed(settings: Settings, report: BackfillReport, error: str) -> None:
    assert [o.game_date for o in report.failed] == [BROKEN]
    assert error in (report.failed[0].error or "")
    marks = checkpoints(settings).set_index("game_date")
    assert marks.loc[BROKEN, "status"] == FAILED
    others = marks.drop(index=BROKEN)
    assert len(others) == len(report.outcomes) - 1 and (others["status"] == DONE).all()
    rows = predictions(settings)
    assert BROKEN not in set(rows["game_date"])
    assert rows.groupby("game_date").size().to_dict() == others["predictions"].to_dict()


def test_failed_group_write_is_retried_date_by_date(league: League, tmp_path: Path) -> None:
    settings = league.copy_to(tmp_path / "w", in_flight_dates=3)
    with WriteFailsOn(settings.warehouse.path, settings.batching) as warehouse:
        report = run_backfill(settings, warehouse, backfill_dates())
        writes = warehouse.writes
    group = next(dates for dates in writes if BROKEN in dates)
    assert len(group) > 1, f"no group formed around {BROKEN}: {writes}"
    assert [BROKEN] in writes[writes.index(group) + 1 :]  # the retry, alone
    assert all([day] in writes for day in group)  # every date of the group written again on its own
    assert report.exit_code == 1
    assert_only_broken_failed(settings, report, "disk quota exceeded")


def uncountable_on_broken_worker() -> type[PredictorWorker]:
    """The real predictor, but on BROKEN its skips table lacks the reason column the writer counts."""

    class Uncountable(PredictorWorker):
        def predict(self, game_date, *args, **kwargs):  # type: ignore[no-untyped-def]
            result = super().predict(game_date, *args, **kwargs)
            if game_date != BROKEN:
                return result
            return ChunkResult(result.predictions, result.skips.drop_columns(["reason"]))

    return Uncountable


def test_a_date_that_cannot_be_counted_fails_alone(league: League, tmp_path: Path) -> None:
    settings = league.copy_to(tmp_path / "w")
    report = run(settings, worker_class=uncountable_on_broken_worker())
    assert report.exit_code == 1
    assert_only_broken_failed(settings, report, "reason")


def test_a_raising_callback_fails_its_date_and_the_run_goes_on(league: League, tmp_path: Path) -> None:
    settings = league.copy_to(tmp_path / "w")
    seen: list[date] = []

    def on_date(outcome: DateOutcome) -> None:
        seen.append(outcome.game_date)
        if outcome.game_date == BROKEN:
            raise ValueError("injected: progress display broke")

    report = run(settings, on_date=on_date)
    assert seen == [o.game_date for o in report.outcomes]  # every date reached the callback, in order
    assert report.exit_code == 1
    assert [o.game_date for o in report.failed] == [BROKEN]
    assert "callback: ValueError: injected: progress display broke" in (report.failed[0].error or "")
    marks = checkpoints(settings).set_index("game_date")
    assert marks.loc[BROKEN, "status"] == FAILED
    assert (marks.drop(index=BROKEN)["status"] == DONE).all()

    resumed = run(settings)  # the failed date is redone, its rows replaced: nothing duplicated
    assert [o.game_date for o in resumed.outcomes] == [BROKEN] and resumed.exit_code == 0
    assert not predictions(settings).duplicated(["game_date", "player_lookup", "system_id"]).any()


class WriterKilled(BaseException):
    """Not an Exception: nothing in the writer catches it, so it ends the writer thread."""


def test_a_dead_writer_thread_fails_the_remaining_dates_instead_of_hanging(
    league: League, tmp_path: Path
) -> None:
    settings = league.copy_to(tmp_path / "w", in_flight_dates=1, block_rows=1)  # a date per block
    dates = backfill_dates()
    first_game_day = date(2023, 1, 16)

    def on_date(outcome: DateOutcome) -> None:
        if outcome.game_date == first_game_day:
            raise WriterKilled

    previous_hook = threading.excepthook
    threading.excepthook = lambda args: None  # the thread's death is the point, not its traceback
    try:
        with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
            game_days = warehouse.game_dates(dates[0], dates[-1])
            report = run_backfill(settings, warehouse, dates, on_date=on_date)
    finally:
        threading.excepthook = previous_hook
    assert sorted(o.game_date for o in report.outcomes) == game_days  # every date accounted for
    assert [o.game_date for o in report.done] == [first_game_day]  # written before the thread died
    assert {o.error for o in report.failed} == {"write: WriterStopped: the writer thread died"}
    assert report.exit_code == 1


class CheckpointFailsInBlockWith(DuckDBWarehouse):
    """The real warehouse; in the atomic write of a block holding BROKEN, the checkpoint rows gain a
    column the table lacks, so DuckDB fails on them after the block's predictions were deleted and
    inserted in the same transaction. What the warehouse holds for the block's dates right after each
    failed write is kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.after_failed_writes: list[tuple[list[date], int, list[str]]] = []

    def _replace(self, replacements: Sequence[Replacement]) -> None:
        specs = [part.spec for part in replacements]
        marks = next((p for p in replacements if p.spec is BACKFILL_CHECKPOINTS), None)
        if (
            PLAYER_PROP_PREDICTIONS not in specs
            or marks is None
            or BROKEN not in marks.rows["game_date"].to_pylist()
        ):
            return super()._replace(replacements)
        broken = [
            p
            if p is not marks
            else replace(p, rows=p.rows.append_column("injected_column", p.rows["run_key"]))
            for p in replacements
        ]
        try:
            super()._replace(broken)
        finally:
            dates = marks.rows["game_date"].to_pylist()
            stored = self.read_predictions(min(dates), max(dates))
            done = self.read_checkpoints().to_pandas()
            done = done[done["game_date"].isin(dates) & (done["status"] == DONE)]
            self.after_failed_writes.append((dates, stored.num_rows, sorted(map(str, done["game_date"]))))


def test_a_block_that_fails_to_write_leaves_none_of_its_dates_done(league: League, tmp_path: Path) -> None:
    settings = league.copy_to(tmp_path / "w")
    with CheckpointFailsInBlockWith(settings.warehouse.path, settings.batching) as warehouse:
        report = run_backfill(settings, warehouse, backfill_dates())
        observed = warehouse.after_failed_writes
    block, rows, done = observed[0]
    assert len(block) > 1 and BROKEN in block, observed  # the fault hit a whole block first
    assert (rows, done) == (0, []), observed  # neither its predictions nor any of its checkpoints
    assert all((r, d) == (0, []) for _, r, d in observed)  # nor in the date-by-date retry of BROKEN
    assert_only_broken_failed(settings, report, "injected_column")

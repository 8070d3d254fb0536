"""What a run reports: progress in game dates, dates with no history yet skipped with their reason, a
missing feature build still failing loudly, and no autoscaler asked for room on a local Ray."""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from nba_ray.backfill.checkpoints import DONE, SKIPPED
from nba_ray.backfill.driver import NO_HISTORY, BackfillReport, run_backfill
from nba_ray.backfill.progress import Progress, summary
from nba_ray.commands import with_systems
from nba_ray.config import Settings
from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.batches import BlockBatch
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.backfill_fixtures import League, checkpoints, predictions
from tests.test_warehouse import box_rows

# The league's first game dates: nobody has played before the first two (the model is trained later,
# so these runs leave xgboost out: walk-forward forbids it before its training range ends).
SEASON_START = [date(2022, 10, 18) + timedelta(days=i) for i in range(4)]
AROUND_ALL_STAR = [date(2023, 2, 13) + timedelta(days=i) for i in range(12)]  # some days without games
WITHOUT_MODEL = ["moving_average_baseline_v1", "zone_matchup_v1", "similarity_balanced_v1", "ensemble_v1"]


def without_model(settings: Settings) -> Settings:
    """The systems that need no model, the ensemble built from those (it would otherwise need xgboost)."""
    ensemble = settings.systems.ensemble.model_copy(update={"components": tuple(WITHOUT_MODEL[:3])})
    systems = settings.systems.model_copy(update={"ensemble": ensemble})
    return with_systems(settings.model_copy(update={"systems": systems}), WITHOUT_MODEL)


class TerminalStderr(io.StringIO):
    """stderr as a terminal, so the progress bar is drawn (and counts) as a user would see it."""

    def isatty(self) -> bool:
        return True


def backfill_with_progress(
    settings: Settings,
    dates: list[date],
    monkeypatch: pytest.MonkeyPatch,
    warehouse_class: type[DuckDBWarehouse] = DuckDBWarehouse,
) -> tuple[BackfillReport, Progress]:
    monkeypatch.setattr("sys.stderr", TerminalStderr())
    progress = Progress(enabled=True)
    with warehouse_class(settings.warehouse.path, settings.batching) as warehouse:
        report = run_backfill(
            settings, warehouse, dates, on_plan=progress.planned, on_date=progress.date_finished
        )
    progress.close()
    return report, progress


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_progress_counts_the_game_dates_left_and_reaches_them_all(
    league: League, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = league.copy_to(tmp_path / "w")
    dates = AROUND_ALL_STAR
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        game_days = warehouse.game_dates(dates[0], dates[-1])
        run_backfill(settings, warehouse, game_days[:2])  # done before: not part of the next run
    assert len(game_days) < len(dates)  # the range has days without games
    report, progress = backfill_with_progress(settings, dates, monkeypatch)
    assert report.game_dates == game_days[2:]
    assert progress.bar.total == progress.bar.n == len(game_days) - 2  # 100 %, in game dates


@pytest.mark.usefixtures("local_ray")
def test_dates_whose_players_have_no_history_are_skipped_with_the_reason(
    league: League, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = without_model(league.copy_to(tmp_path / "w"))
    caplog.set_level(logging.INFO, "nba_ray")
    report, progress = backfill_with_progress(settings, SEASON_START, monkeypatch)
    first_two = SEASON_START[:2]
    assert [o.game_date for o in report.skipped] == first_two
    assert {o.error for o in report.skipped} == {NO_HISTORY}
    assert report.failed == [] and report.exit_code == 0
    assert [o.game_date for o in report.done] == SEASON_START[2:]
    assert progress.bar.n == progress.bar.total == len(SEASON_START)
    marks = checkpoints(settings).set_index("game_date")
    assert marks.loc[first_two, "status"].tolist() == [SKIPPED, SKIPPED]
    assert (marks.drop(index=first_two)["status"] == DONE).all()
    for outcome in report.done:  # too early for predictions: every player is skipped, and counted
        assert outcome.players > 0 and outcome.skipped == outcome.players * len(WITHOUT_MODEL)
    assert predictions(settings).empty
    text = summary(report)
    assert "ok 2   skipped 2   failed 0" in text
    assert f"SKIPPED 2022-10-18: {NO_HISTORY}" in text and "FAILED" not in text
    assert f"2022-10-18 skipped: {NO_HISTORY}" in caplog.text
    assert "asked the autoscaler" not in caplog.text  # the test's local Ray has no autoscaler

    again, _ = backfill_with_progress(settings, SEASON_START, monkeypatch)  # settled: not redone
    assert again.outcomes == [] and sorted(again.already_done) == SEASON_START


class FeaturesMissingOn(DuckDBWarehouse):
    """The real warehouse, but one date's feature rows are gone (the feature build was not run)."""

    missing = date(2023, 1, 20)

    def date_players(self, game_date: date) -> list[str]:
        return [] if game_date == self.missing else super().date_players(game_date)

    def _load_block_queries(self, dates: Sequence[date]) -> BlockBatch:
        batch = super()._load_block_queries(dates)
        kept = pc.not_equal(batch.features["game_date"], pa.scalar(self.missing, pa.date32()))
        return dataclasses.replace(batch, features=batch.features.filter(kept))


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_a_date_with_history_but_no_feature_rows_still_fails(
    league: League, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = league.copy_to(tmp_path / "w")
    missing = FeaturesMissingOn.missing  # and a day on each side: dates that must still pass
    dates = [missing - timedelta(days=1), missing, missing + timedelta(days=1)]
    report, _ = backfill_with_progress(settings, dates, monkeypatch, FeaturesMissingOn)
    assert [o.game_date for o in report.done] == [dates[0], dates[2]]
    assert [o.game_date for o in report.failed] == [FeaturesMissingOn.missing] and report.skipped == []
    assert "run `nba-ray features`" in (report.failed[0].error or "")
    assert report.exit_code == 1


def test_players_with_history_counts_only_earlier_played_games(warehouse: Warehouse) -> None:
    first, second = date(2022, 1, 10), date(2022, 1, 11)
    did_not_play = box_rows(first, ["carl"])
    did_not_play = did_not_play.set_column(
        did_not_play.schema.get_field_index("minutes_played"),
        "minutes_played",
        pa.array([0.0], pa.float64()).cast(did_not_play.schema.field("minutes_played").type),
    )
    played = [box_rows(first, ["anna", "bo"]), box_rows(second, ["anna", "carl", "dee"])]
    warehouse.replace_box_scores(pa.concat_tables([played[0], did_not_play, played[1]]))
    assert warehouse.players_with_history(first) == 0  # the data's first date: nobody played before
    assert warehouse.players_with_history(second) == 1  # anna; carl's earlier game had 0 minutes

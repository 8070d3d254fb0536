"""Stale inputs redone, and only those: a corrected box-score file is imported, features are rebuilt, and
the resumed backfill redoes exactly the dates whose feature rows changed, ending where a run from
scratch on the corrected data ends; a second rerun does nothing. `status` counts the dates by state and
`catch-up` plans every date not done."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from nba_ray import commands
from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.cli import main
from nba_ray.commands import refresh_features
from nba_ray.config import Settings
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.backfill_fixtures import (
    BACKFILL_END,
    BACKFILL_START,
    BackfilledLeague,
    League,
    backfill_dates,
    content,
    predictions,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_ray")]
CORRECTED_DATE = date(2023, 1, 20)
SEASON = (date(2022, 10, 1), date(2023, 6, 30))


def backfill(settings: Settings, **kwargs: object) -> BackfillReport:
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        return run_backfill(settings, warehouse, backfill_dates(), **kwargs)  # type: ignore[arg-type]


def features_by_date(settings: Settings) -> dict[date, pd.DataFrame]:
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        frame = warehouse.read_features(*SEASON).to_pandas()
    return {day: rows.reset_index(drop=True) for day, rows in frame.groupby("game_date")}


def correct_one_game(settings: Settings, tmp_path: Path) -> None:
    """A scorer's correction: one free throw more for the top scorer of one game on CORRECTED_DATE,
    imported from a file as a user would, then the season's features rebuilt."""
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        box = warehouse.read_box_scores(CORRECTED_DATE, CORRECTED_DATE).to_pandas()
    game = box[box["game_id"] == box["game_id"].iloc[0]].copy()
    top = game["points"].idxmax()
    game.loc[top, ["points", "ft_made", "ft_attempted"]] += 1
    path = tmp_path / "correction.parquet"
    game.to_parquet(path)
    config = tmp_path / "config.yaml"
    config.write_text(f"warehouse:\n  path: {settings.warehouse.path}\n")
    assert main(["import", "--config", str(config), "--box-scores", str(path)]) == 0
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        refresh_features(warehouse, *SEASON)


def test_a_correction_redoes_exactly_the_dates_whose_features_changed(
    league: League, backfilled: BackfilledLeague, tmp_path: Path
) -> None:
    settings = backfilled.copy_to(tmp_path / "w")  # the fortnight backfilled (exit code 0)
    before = features_by_date(settings)

    correct_one_game(settings, tmp_path)
    after = features_by_date(settings)
    window = [d for d in after if BACKFILL_START <= d <= BACKFILL_END]
    changed = [d for d in window if not before[d].equals(after[d])]
    assert changed and changed[0] > CORRECTED_DATE  # the correction reaches later dates' windows only
    assert len(changed) < len(window)

    plan = backfill(settings, dry_run=True)
    assert plan.game_dates == changed
    assert {s.describe() for s in plan.states if s.game_date in changed} == {"stale: features"}
    assert predictions(settings)["run_id"].nunique() == 1  # the dry run wrote nothing

    resumed = backfill(settings)
    assert [o.game_date for o in resumed.outcomes] == changed and resumed.exit_code == 0

    scratch = league.copy_to(tmp_path / "scratch")
    correct_one_game(scratch, tmp_path / "scratch")
    assert backfill(scratch).exit_code == 0
    assert content(predictions(settings)).equals(content(predictions(scratch)))

    again = backfill(settings)
    assert again.outcomes == [] and len(again.already_done) == len(window)


def test_rebuilding_unchanged_features_keeps_every_date_fresh(
    backfilled: BackfilledLeague, tmp_path: Path
) -> None:
    settings = backfilled.copy_to(tmp_path / "w")  # the fortnight backfilled (exit code 0)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        refresh_features(warehouse, *SEASON)
    plan = backfill(settings, dry_run=True)
    assert plan.game_dates == [] and {s.state for s in plan.states} == {"done"}


def test_status_counts_dates_by_state_and_catch_up_plans_the_rest(
    backfilled: BackfilledLeague, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = backfilled.copy_to(tmp_path / "w")  # the fortnight backfilled (exit code 0)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        dates = warehouse.feature_dates()
        done = warehouse.game_dates(BACKFILL_START, BACKFILL_END)
    predictable = [d for d in dates if d >= BACKFILL_START]  # the pinned model's train_end is the day before
    capsys.readouterr()

    assert commands.status(settings) == 0
    out = capsys.readouterr().out
    assert f"{len(dates) - len(predictable)} game date(s) before {BACKFILL_START} left out" in out
    assert re.search(rf"^\s+done\s+{len(done)}$", out, re.MULTILINE)
    assert re.search(rf"^\s+missing\s+{len(predictable) - len(done)}$", out, re.MULTILINE)
    assert re.search(r"^\s+stale\s+0$", out, re.MULTILINE) and "`nba-ray catch-up` redoes" in out

    assert commands.catch_up(settings, dry_run=True) == 0
    out = capsys.readouterr().out
    assert f"{len(predictable) - len(done)} game date(s) to predict, {len(done)} already done" in out
    assert out.count("  missing") == len(predictable) - len(done)

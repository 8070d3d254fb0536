"""The real data end to end: import four seasons, build features, train on 2019-20…2021-22, backfill
2022-23 on Ray, grade it, and hold the systems to the accuracy floors the project promises."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.commands import refresh_features, store_box_scores, train_and_save
from nba_ray.config import ModelSettings, Settings, WarehouseSettings
from nba_ray.data.importer import read_box_scores
from nba_ray.grading import accuracy_table, format_table, grade, write_report
from nba_ray.systems.base import SYSTEM_IDS
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.conftest import real_season, requires_real_data

pytestmark = [requires_real_data, pytest.mark.realdata, pytest.mark.usefixtures("local_ray")]

SEASONS = ("2019-20", "2020-21", "2021-22", "2022-23")
TRAIN_END = date(2022, 6, 30)
SEASON_START, SEASON_END = date(2022, 10, 1), date(2023, 6, 30)


@dataclass(frozen=True)
class RealRun:
    settings: Settings
    report: BackfillReport
    predictions: pd.DataFrame
    accuracy: pd.DataFrame
    table: pd.DataFrame
    report_dir: Path


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory, local_ray: None) -> Iterator[RealRun]:
    directory = tmp_path_factory.mktemp("real")
    settings = Settings(
        warehouse=WarehouseSettings(path=directory / "nba.duckdb"),
        model=ModelSettings(path=directory / "model"),
    )
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        store_box_scores(warehouse, read_box_scores([real_season(s) for s in SEASONS]))
        refresh_features(warehouse, date(2019, 10, 1), SEASON_END)
        train_and_save(warehouse, settings, None, TRAIN_END, settings.model.path)
        days = [date.fromordinal(d) for d in range(SEASON_START.toordinal(), SEASON_END.toordinal() + 1)]
        report = run_backfill(settings, warehouse, days)
        predictions = warehouse.read_predictions(SEASON_START, SEASON_END)
        rows = grade(
            predictions,
            warehouse.read_box_scores(SEASON_START, SEASON_END),
            warehouse.read_features(SEASON_START, SEASON_END),
            pd.Timestamp.now(tz="UTC").to_pydatetime(),
        )
        warehouse.replace_accuracy(rows, SEASON_START, SEASON_END)
    accuracy = rows.to_pandas()
    report_dir = directory / "report"
    write_report(accuracy, report_dir, "2022-23")
    table = accuracy_table(accuracy)
    print(format_table(accuracy_table(accuracy)))  # shown with -s: the figures of the closing note
    yield RealRun(settings, report, predictions.to_pandas(), accuracy, table, report_dir)


def test_real_backfill_is_complete_and_exactly_once(real_run: RealRun) -> None:
    report, rows = real_run.report, real_run.predictions
    assert report.exit_code == 0 and len(report.outcomes) == 164  # every game date of 2022-23
    assert not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()
    assert len(rows) == sum(o.predictions for o in report.outcomes)
    for outcome in report.outcomes:
        assert outcome.predictions + outcome.skipped == outcome.players * len(SYSTEM_IDS)
    # The real files have no prop lines: every line is an honest estimate, or there is none.
    assert (
        set(rows["line_source"]) <= {"ESTIMATED_AVG", "NONE"}
        and (rows["line_source"] == "ESTIMATED_AVG").any()
    )
    assert rows["line_value"].dropna().nunique() > 50  # estimated lines, never one constant


def test_accuracy_floors_against_the_blend_baseline(real_run: RealRun) -> None:
    table = real_run.table
    ratio = table["mae"] / table["blend_mae"]
    assert ratio["xgboost_v1"] <= 0.965
    assert ratio["ensemble_v1"] <= 0.975
    assert ratio["zone_matchup_v1"] <= 1.06
    assert (table.loc[["xgboost_v1", "ensemble_v1"], "bias"].abs() <= 0.3).all(), table["bias"]
    assert (table["bias"].abs() <= 0.6).all(), table["bias"]
    assert (table["n"] > 15_000).all()


def test_report_renders_with_the_same_numbers(real_run: RealRun) -> None:
    markdown = (real_run.report_dir / "report.md").read_text()
    for png in real_run.report_dir.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert len(list(real_run.report_dir.glob("*.png"))) == 5
    for system, row in real_run.table.iterrows():
        assert f"{row['mae']:.3f}" in markdown and str(system) in markdown

"""The real data end to end: import four seasons, build features over all of them, backfill 2020-21 …
2022-23 as ONE job with no model trained by hand (the backfill trains each season's walk-forward model
as a Ray task and registers it), grade it, and hold the systems to the accuracy floors the project
promises on 2022-23."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.commands import refresh_features, with_mode
from nba_ray.config import Settings, WarehouseSettings
from nba_ray.data.importer import read_box_scores
from nba_ray.features.contract import PRE_TIP, STANDARD
from nba_ray.grading import accuracy_table, format_table, grade, write_report
from nba_ray.importing import store_box_scores
from nba_ray.models import registry
from nba_ray.models.registry import ModelEntry
from nba_ray.systems.base import SYSTEM_IDS
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.conftest import real_season, requires_real_data

pytestmark = [
    requires_real_data,
    pytest.mark.realdata,
    pytest.mark.slow,
    pytest.mark.usefixtures("local_ray"),
]

SEASONS = ("2019-20", "2020-21", "2021-22", "2022-23")
RANGE_START, RANGE_END = date(2020, 12, 22), date(2023, 4, 9)  # 2020-21's first day … 2022-23's last
SEASON_START, SEASON_END = date(2022, 10, 1), date(2023, 6, 30)


@dataclass(frozen=True)
class RealRun:
    settings: Settings
    report: BackfillReport
    predictions: pd.DataFrame
    accuracy: pd.DataFrame
    table: pd.DataFrame
    by_season: pd.DataFrame
    models: list[ModelEntry]
    seasons: pd.DataFrame  # season, first_date, last_date
    report_dir: Path


def season_of(dates: pd.Series, seasons: pd.DataFrame) -> pd.Series:
    index = pd.IntervalIndex.from_arrays(
        pd.to_datetime(seasons["first_date"]), pd.to_datetime(seasons["last_date"]), closed="both"
    )
    return pd.Series(
        seasons["season"].to_numpy()[index.get_indexer(pd.to_datetime(dates))], index=dates.index
    )


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory, local_ray: None) -> Iterator[RealRun]:
    directory = tmp_path_factory.mktemp("real")
    settings = Settings(warehouse=WarehouseSettings(path=directory / "nba.duckdb"))
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        store_box_scores(warehouse, read_box_scores([real_season(s) for s in SEASONS]))
        refresh_features(warehouse, date(2019, 10, 1), SEASON_END)
        days = [date.fromordinal(d) for d in range(RANGE_START.toordinal(), RANGE_END.toordinal() + 1)]
        report = run_backfill(settings, warehouse, days)
        predictions = warehouse.read_predictions(RANGE_START, RANGE_END)
        rows = grade(
            predictions,
            warehouse.read_box_scores(RANGE_START, RANGE_END),
            warehouse.read_features(RANGE_START, RANGE_END),
            pd.Timestamp.now(tz="UTC").to_pydatetime(),
        )
        warehouse.replace_accuracy(rows, RANGE_START, RANGE_END)
        models = registry.entries(warehouse)
        seasons = warehouse.season_bounds().to_pandas()
    accuracy = rows.to_pandas()
    accuracy["season"] = season_of(accuracy["game_date"], seasons)
    last = accuracy[accuracy["season"] == SEASONS[-1]]
    report_dir = directory / "report"
    write_report(last.drop(columns="season"), report_dir, "2022-23")
    table = accuracy_table(last.drop(columns="season"))
    ratios = {
        season: (t["mae"] / t["blend_mae"])
        for season, part in accuracy.groupby("season")
        for t in [accuracy_table(part.drop(columns="season"))]
    }
    by_season = pd.DataFrame(ratios).T.loc[:, ["xgboost_v1", "ensemble_v1"]].round(3)
    print(format_table(table))  # shown with -s: the figures of the closing note
    print("MAE / blend MAE per season:\n" + by_season.to_string())
    yield RealRun(
        settings, report, predictions.to_pandas(), accuracy, table, by_season, models, seasons, report_dir
    )


def test_real_backfill_is_complete_and_exactly_once(real_run: RealRun) -> None:
    report, rows = real_run.report, real_run.predictions
    assert report.exit_code == 0
    done = pd.Series([o.game_date for o in report.outcomes])
    assert ((done >= SEASON_START) & (done <= SEASON_END)).sum() == 164  # every game date of 2022-23
    assert not rows.duplicated(["game_date", "player_lookup", "system_id", "prediction_mode"]).any()
    assert len(rows) == sum(o.predictions for o in report.outcomes)
    for outcome in report.outcomes:
        assert outcome.predictions + outcome.skipped == outcome.players * len(SYSTEM_IDS)
    # The real files have no prop lines: every line is an honest estimate, or there is none.
    assert (
        set(rows["line_source"]) <= {"ESTIMATED_AVG", "NONE"}
        and (rows["line_source"] == "ESTIMATED_AVG").any()
    )
    assert rows["line_value"].dropna().nunique() > 50  # estimated lines, never one constant


def test_one_registered_walk_forward_model_per_season(real_run: RealRun) -> None:
    """Three season models, trained by the backfill itself; each ends after the previous season's last
    game and before its own season's first, and predicts exactly its own season's dates."""
    seasons = real_run.seasons.set_index("season")
    models = sorted(real_run.models, key=lambda m: m.train_end)
    assert [m.model_version for m in models] == sorted(
        e.model_version for e in real_run.report.models.trained
    )
    assert len(models) == 3
    for model, (previous, season) in zip(models, itertools.pairwise(SEASONS), strict=True):
        assert seasons.loc[previous, "last_date"] < model.train_end < seasons.loc[season, "first_date"]
        first = seasons.loc[SEASONS[0]]  # every earlier game: from the first season on
        assert first["first_date"] <= model.train_start < first["first_date"] + timedelta(days=7)
    xgboost = real_run.predictions[real_run.predictions["system_id"] == "xgboost_v1"]
    season = season_of(xgboost["game_date"], real_run.seasons)
    expected = season.map({s: m.model_version for s, m in zip(SEASONS[1:], models, strict=True)})
    assert (xgboost["model_version"] == expected).all()
    assert (
        pd.to_datetime(xgboost["game_date"]).dt.date
        > xgboost["model_version"].map({m.model_version: m.train_end for m in models})
    ).all()  # never used on or before its train_end


def test_accuracy_floors_against_the_blend_baseline(real_run: RealRun) -> None:
    table = real_run.table
    ratio = table["mae"] / table["blend_mae"]
    assert ratio["xgboost_v1"] <= 0.965
    assert ratio["ensemble_v1"] <= 0.975
    assert ratio["zone_matchup_v1"] <= 1.06
    assert (table["bias"].abs() <= 0.6).all(), table["bias"]
    assert (table.loc[["xgboost_v1", "ensemble_v1"], "bias"].abs() <= 0.3).all(), table["bias"]
    assert (table["n"] > 15_000).all()
    # every season's model beats the blend it is compared with (each trained only on earlier seasons)
    assert (real_run.by_season["xgboost_v1"] < 1.0).all(), real_run.by_season


def test_report_renders_with_the_same_numbers(real_run: RealRun) -> None:
    markdown = (real_run.report_dir / "report.md").read_text()
    for png in real_run.report_dir.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert len(list(real_run.report_dir.glob("*.png"))) == 5
    for system, row in real_run.table.iterrows():
        assert f"{row['mae']:.3f}" in markdown and str(system) in markdown


@pytest.fixture(scope="module")
def pre_tip_table(real_run: RealRun) -> pd.DataFrame:
    """2022-23 again with `--pre-tip`: the backfill trains the pre-tip season model on every earlier
    game (lineups included) and grades its own predictions, beside the standard ones."""
    settings = with_mode(real_run.settings, PRE_TIP)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        days = [date.fromordinal(d) for d in range(SEASON_START.toordinal(), SEASON_END.toordinal() + 1)]
        report = run_backfill(settings, warehouse, days)
        predictions = warehouse.read_predictions(SEASON_START, SEASON_END, mode=PRE_TIP)
        rows = grade(
            predictions,
            warehouse.read_box_scores(SEASON_START, SEASON_END),
            warehouse.read_features(SEASON_START, SEASON_END),
            pd.Timestamp.now(tz="UTC").to_pydatetime(),
        )
        standard = warehouse.read_predictions(SEASON_START, SEASON_END, mode=STANDARD).num_rows
    assert report.exit_code == 0 and [m.mode for m in report.models.trained] == [PRE_TIP]
    assert predictions.num_rows == standard  # the same population, kept beside the standard rows
    table = accuracy_table(rows.to_pandas())
    print("pre-tip 2022-23:\n" + format_table(table))
    return table


def test_pre_tip_model_floor(pre_tip_table: pd.DataFrame, real_run: RealRun) -> None:
    ratio = pre_tip_table["mae"] / pre_tip_table["blend_mae"]
    assert ratio["xgboost_v1"] <= 0.955
    assert abs(pre_tip_table.loc["xgboost_v1", "bias"]) <= 0.3
    assert ratio["xgboost_v1"] < (real_run.table["mae"] / real_run.table["blend_mae"])["xgboost_v1"]

"""A small synthetic league with features and a registered walk-forward model (pinned by its backfills:
it is trained mid-season), built once and copied per test."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from nba_ray.backfill.actors import PredictorWorker
from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.commands import refresh_features, seed_league, train_and_register
from nba_ray.config import BatchingSettings, ModelSettings, RaySettings, Settings, WarehouseSettings
from nba_ray.systems.settings import XGBoostTrainParams
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

SEASON = "2022-23"
TRAIN_END = date(2023, 1, 15)
# A fortnight after the model's training data ends: enough dates to exercise the pipeline.
BACKFILL_START, BACKFILL_END = date(2023, 1, 16), date(2023, 1, 29)
# Fast training for tests: the model is real, just smaller than production's.
TEST_TRAINING = XGBoostTrainParams(max_rounds=60, early_stopping_rounds=10, objectives=("reg:squarederror",))
# What identifies a prediction's content (run_id and created_at say when it was made, not what).
CONTENT_COLUMNS = [
    "prediction_id", "system_id", "game_date", "player_lookup", "predicted_points", "confidence_score",
    "recommendation", "line_value", "line_source", "line_margin", "similar_games_count",
    "avg_similarity_score", "contributing_systems", "prediction_variance", "model_version",
]  # fmt: skip


@dataclass(frozen=True)
class League:
    """A built league: copy it to get an independent warehouse with its own settings."""

    directory: Path
    model_version: str  # the registered model the league's backfills pin (trained mid-season)

    def copy_to(self, target: Path, **batching: object) -> Settings:
        shutil.copytree(self.directory, target)
        return test_settings(target, self.model_version, **batching)

    def settings(self) -> Settings:
        """Settings on the league itself: only to read it (a test that writes works on a copy)."""
        return test_settings(self.directory, self.model_version)


@dataclass(frozen=True)
class BackfilledLeague(League):
    """The league after one run over the fortnight (`report`): copies start with every date done."""

    report: BackfillReport


def backfill_league(league: League, directory: Path) -> BackfilledLeague:
    settings = league.copy_to(directory)
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        report = run_backfill(settings, warehouse, backfill_dates())
    assert report.exit_code == 0 and report.failed == [], report.failed
    return BackfilledLeague(directory, league.model_version, report)


def test_settings(directory: Path, model_version: str | None = None, **batching: object) -> Settings:
    pinned = {"policy": "pinned", "version": model_version} if model_version else {}
    return Settings(
        warehouse=WarehouseSettings(path=directory / "nba.duckdb"),
        model=ModelSettings(training=TEST_TRAINING, **pinned),  # type: ignore[arg-type]
        ray=RaySettings(num_actors=2),
        batching=BatchingSettings(retry_backoff_seconds=0.0, **batching),  # type: ignore[arg-type]
    )


def build_league(directory: Path) -> League:
    settings = test_settings(directory)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        seed_league(warehouse, [SEASON], seed_value=11)
        dates = warehouse.game_dates(date(2022, 7, 1), date(2023, 7, 1))
        refresh_features(warehouse, dates[0], dates[-1])
        model = train_and_register(warehouse, settings, None, TRAIN_END)
    return League(directory, model.version_id)


def predictions(settings: Settings) -> pd.DataFrame:
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        return warehouse.read_predictions(date(2000, 1, 1), date(2100, 1, 1)).to_pandas()


def content(frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions without when/by-which-run columns, in a canonical order."""
    return (
        frame[CONTENT_COLUMNS].sort_values(["game_date", "player_lookup", "system_id"]).reset_index(drop=True)
    )


def checkpoints(settings: Settings) -> pd.DataFrame:
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        return warehouse.read_checkpoints().to_pandas()


def backfill_dates() -> list[date]:
    return list(pd.date_range(BACKFILL_START, BACKFILL_END).date)


def crash_once_worker(marker: Path) -> type[PredictorWorker]:
    """The real predictor, but the first chunk any actor is given kills its process (once: a marker file).
    Defined in a function so Ray ships the class, marker path included, to the actors by value."""

    class CrashOnceWorker(PredictorWorker):
        def predict(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if marker.exists():
                marker.unlink()
                os._exit(1)
            return super().predict(*args, **kwargs)

    return CrashOnceWorker

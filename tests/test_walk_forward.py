"""Walk-forward per season on a three-season synthetic league: the backfill of a range across two seasons
trains the two season models it needs as Ray tasks, registers them, and predicts each date with its own
season's model; a rerun trains nothing; `--no-train`, a dry run and a pinned model that is too new are
refused or write nothing; the run key ignores the order of `--systems`."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from nba_ray.backfill.checkpoints import run_key
from nba_ray.backfill.driver import run_backfill
from nba_ray.backfill.freshness import settings_digest
from nba_ray.cli import main
from nba_ray.commands import refresh_features, seed_league, train_and_register, with_systems
from nba_ray.config import Settings
from nba_ray.models import registry
from nba_ray.models.policy import MissingModels, WalkForwardError
from nba_ray.models.training import TrainingSpec, train_on_ray, training_rows
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests import backfill_fixtures
from tests.backfill_fixtures import predictions

SEASONS = ("2020-21", "2021-22", "2022-23")


@dataclass(frozen=True)
class Seasons:
    directory: Path
    bounds: pd.DataFrame  # season, first_date, last_date
    dates: list[date]  # the last week of 2021-22 and the first week of 2022-23

    def copy(self, target: Path) -> Settings:
        shutil.copytree(self.directory, target)
        return backfill_fixtures.test_settings(target)


@pytest.fixture(scope="module")
def seasons(tmp_path_factory: pytest.TempPathFactory) -> Seasons:
    directory = tmp_path_factory.mktemp("seasons") / "base"
    settings = backfill_fixtures.test_settings(directory)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        seed_league(warehouse, SEASONS, seed_value=5)
        every = warehouse.game_dates(date(2000, 1, 1), date(2100, 1, 1))
        refresh_features(warehouse, every[0], every[-1])
        bounds = warehouse.season_bounds().to_pandas().set_index("season")
    last_of_second, first_of_third = bounds.loc["2021-22", "last_date"], bounds.loc["2022-23", "first_date"]
    dates = [
        d for d in every if last_of_second - timedelta(days=6) <= d <= first_of_third + timedelta(days=6)
    ]
    return Seasons(directory, bounds, dates)


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_a_range_across_seasons_trains_each_seasons_model_on_ray_once(
    seasons: Seasons, tmp_path: Path
) -> None:
    settings = seasons.copy(tmp_path / "w")
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        report = run_backfill(settings, warehouse, seasons.dates)
        models = sorted(registry.entries(warehouse), key=lambda m: m.train_end)
        again = run_backfill(settings, warehouse, seasons.dates, resume=False)
        assert len(registry.entries(warehouse)) == 2  # the rerun found both in the registry
    assert report.exit_code == 0 and again.exit_code == 0 and again.models.trained == []
    assert sorted(m.model_version for m in report.models.trained) == [m.model_version for m in models]
    assert len(models) == 2
    bounds = seasons.bounds
    for model, (previous, season) in zip(models, [SEASONS[:2], SEASONS[1:]], strict=True):
        assert bounds.loc[previous, "last_date"] < model.train_end < bounds.loc[season, "first_date"]
        assert model.train_end == bounds.loc[season, "first_date"] - timedelta(days=1)
        first = bounds.loc[SEASONS[0]]  # every earlier game: from the first season on
        assert first["first_date"] <= model.train_start < first["first_date"] + timedelta(days=7)
    rows = predictions(settings)
    xgboost = rows[rows["system_id"] == "xgboost_v1"]
    assert not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()
    in_third = xgboost["game_date"] >= bounds.loc["2022-23", "first_date"]
    assert in_third.any() and (~in_third).any()
    assert (xgboost.loc[~in_third, "model_version"] == models[0].model_version).all()
    assert (xgboost.loc[in_third, "model_version"] == models[1].model_version).all()
    assert report.models.versions == {
        d: models[int(d >= bounds.loc["2022-23", "first_date"])].model_version for d in report.game_dates
    }


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_no_train_refuses_naming_the_seasons_and_writes_nothing(
    seasons: Seasons, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = seasons.copy(tmp_path / "w")
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        with pytest.raises(MissingModels, match=r"season\(s\) 2021-22 \(train_end .*\), 2022-23"):
            run_backfill(settings, warehouse, seasons.dates, train=False)
        dry = run_backfill(settings, warehouse, seasons.dates, dry_run=True)
        assert [n.season for n in dry.models.missing] == ["2021-22", "2022-23"]
        counts = warehouse.table_counts()
    assert counts["model_registry"] == 0 and counts["player_prop_predictions"] == 0
    assert counts["backfill_checkpoints"] == 0
    config = tmp_path / "config.yaml"
    config.write_text(f"warehouse:\n  path: {settings.warehouse.path}\n")
    first, last = seasons.dates[0], seasons.dates[-1]
    argv = ["backfill", "--config", str(config), "--start", str(first), "--end", str(last), "--no-train"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "2021-22" in err and "2022-23" in err and "--no-train" in err


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_the_first_season_and_a_too_new_pinned_model_are_refused(seasons: Seasons, tmp_path: Path) -> None:
    settings = seasons.copy(tmp_path / "w")
    first_season = seasons.bounds.loc["2020-21", "first_date"]
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        with pytest.raises(WalkForwardError, match="season 2020-21 .* is the first the warehouse holds"):
            run_backfill(settings, warehouse, [first_season + timedelta(days=10)])
        model = train_and_register(warehouse, settings, None, seasons.dates[2])
        pinned = settings.model.model_copy(update={"policy": "pinned", "version": model.version_id})
        with pytest.raises(WalkForwardError, match=f"{model.version_id} was trained on games up to"):
            run_backfill(settings.model_copy(update={"model": pinned}), warehouse, seasons.dates)
        assert warehouse.table_counts()["player_prop_predictions"] == 0


@pytest.mark.usefixtures("local_ray")
def test_a_season_model_trained_as_a_ray_task_is_the_one_trained_in_the_driver(
    league: backfill_fixtures.League, tmp_path: Path
) -> None:
    """The fixture league's model was trained in this process; the same range trained as a Ray task
    (what a backfill does for each season) gives the same booster, bit for bit, and the same figures."""
    settings = league.copy_to(tmp_path / "w")
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        driver = registry.load(warehouse, league.model_version)
        spec = TrainingSpec("the fixture league's season", driver.metadata.train_end)
        [task] = train_on_ray(training_rows(warehouse, [spec]), [spec], settings.model.training)
    assert task.raw == driver.raw
    assert task.metadata.model_dump(exclude={"created_at"}) == driver.metadata.model_dump(
        exclude={"created_at"}
    )


def test_run_key_ignores_the_order_of_systems() -> None:
    settings = Settings()
    one = with_systems(settings, ["xgboost_v1", "moving_average_baseline_v1", "ensemble_v1"])
    other = with_systems(settings, ["ensemble_v1", "moving_average_baseline_v1", "xgboost_v1"])
    assert run_key(one.systems) == run_key(other.systems)
    assert settings_digest(one.systems) == settings_digest(other.systems)
    alone = settings.systems.model_copy(update={"enabled": ["moving_average_baseline_v1"]})
    assert run_key(one.systems) != run_key(alone)

"""Pre-tip mode on a two-season synthetic league: a `--pre-tip` backfill trains and registers a pre-tip
season model on the lineup features, writes its predictions beside the standard ones (neither mode
touches the other's rows, each is exactly once and resumes on its own), says which mode made them, and
grades by mode; lineup feeds are validated all or nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from nba_ray.backfill.driver import run_backfill
from nba_ray.cli import main
from nba_ray.commands import refresh_features, seed_league, with_mode
from nba_ray.config import Settings
from nba_ray.features.contract import MODE_CONTRACTS, PRE_TIP, STANDARD
from nba_ray.models import registry
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.schemas import PLAYER_PROP_PREDICTIONS
from tests import backfill_fixtures
from tests.backfill_fixtures import CONTENT_COLUMNS

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_ray")]

SEASONS = ("2021-22", "2022-23")


@pytest.fixture(scope="module")
def league(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[date]]:
    settings = backfill_fixtures.test_settings(tmp_path_factory.mktemp("pre_tip"))
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        seed_league(warehouse, SEASONS, seed_value=3)
        every = warehouse.game_dates(date(2000, 1, 1), date(2100, 1, 1))
        refresh_features(warehouse, every[0], every[-1])
        first = warehouse.season_bounds().to_pylist()[1]["first_date"]
    return settings, [d for d in every if first + timedelta(days=20) <= d <= first + timedelta(days=26)]


def read(settings: Settings, dates: list[date]) -> pd.DataFrame:
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        return warehouse.read_predictions(dates[0], dates[-1]).to_pandas()


def test_pre_tip_predictions_live_beside_the_standard_ones(league: tuple[Settings, list[date]]) -> None:
    settings, dates = league
    pre_tip = with_mode(settings, PRE_TIP)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        standard_report = run_backfill(settings, warehouse, dates)
    standard = read(settings, dates)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        report = run_backfill(pre_tip, warehouse, dates)
        again = run_backfill(pre_tip, warehouse, dates)
        standard_again = run_backfill(settings, warehouse, dates)
        models = {e.mode: e for e in registry.entries(warehouse)}
    both = read(settings, dates)

    assert standard_report.exit_code == report.exit_code == 0
    assert again.game_dates == [] and standard_again.game_dates == []  # each mode resumes on its own
    assert report.run_key != standard_report.run_key
    # One model per mode for the season, the pre-tip one on the lineup contract.
    assert set(models) == {STANDARD, PRE_TIP} and [e.mode for e in report.models.trained] == [PRE_TIP]
    assert models[PRE_TIP].feature_version == MODE_CONTRACTS[PRE_TIP].version
    assert models[STANDARD].feature_version == MODE_CONTRACTS[STANDARD].version
    assert models[PRE_TIP].train_end == models[STANDARD].train_end

    assert not both.duplicated(list(PLAYER_PROP_PREDICTIONS.key)).any()
    by_mode = {mode: rows for mode, rows in both.groupby("prediction_mode")}
    assert set(by_mode) == {STANDARD, PRE_TIP}
    assert len(by_mode[PRE_TIP]) == len(by_mode[STANDARD]) == len(standard) > 0
    # The standard rows are untouched by the pre-tip run.
    untouched = by_mode[STANDARD].sort_values(["game_date", "player_lookup", "system_id"])
    original = standard.sort_values(["game_date", "player_lookup", "system_id"])
    assert (
        untouched[CONTENT_COLUMNS]
        .reset_index(drop=True)
        .equals(original[CONTENT_COLUMNS].reset_index(drop=True))
    )
    xgb = both[both.system_id == "xgboost_v1"]
    assert set(xgb[xgb.prediction_mode == PRE_TIP].model_version) == {models[PRE_TIP].model_version}
    assert set(xgb[xgb.prediction_mode == STANDARD].model_version) == {models[STANDARD].model_version}
    # Starters known before tip-off move the model's predictions.
    paired = xgb.pivot_table(
        index=["game_date", "player_lookup"], columns="prediction_mode", values="predicted_points"
    )
    assert (paired[PRE_TIP] != paired[STANDARD]).mean() > 0.5


def test_grading_is_per_mode(league: tuple[Settings, list[date]], tmp_path: Path) -> None:
    settings, dates = league
    config = tmp_path / "config.yaml"
    config.write_text(f"warehouse:\n  path: {settings.warehouse.path}\n")
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        run_backfill(with_mode(settings, PRE_TIP), warehouse, dates)
        run_backfill(settings, warehouse, dates)
    span = ["--config", str(config), "--start", str(dates[0]), "--end", str(dates[-1])]
    assert main(["grade", *span, "--pre-tip"]) == 0
    assert main(["grade", *span]) == 0
    assert main(["grade", *span, "--pre-tip"]) == 0  # regrading one mode leaves the other's rows
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        accuracy = warehouse.read_accuracy(dates[0], dates[-1]).to_pandas()
        predictions = warehouse.read_predictions(dates[0], dates[-1]).to_pandas()
    assert (
        accuracy.groupby("prediction_mode").size().to_dict()
        == predictions.groupby("prediction_mode").size().to_dict()
    )
    assert not accuracy.duplicated(["game_date", "player_lookup", "system_id", "prediction_mode"]).any()


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_lineup_feeds_are_all_or_nothing(
    league: tuple[Settings, list[date]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = league
    config = tmp_path / "config.yaml"
    config.write_text(f"warehouse:\n  path: {settings.warehouse.path}\n")
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        last = warehouse.season_bounds().to_pylist()[-1]["last_date"]
        before = warehouse.read_lineups().num_rows
    future = last + timedelta(days=3)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        played = warehouse.read_lineups(last, last).to_pandas()
    played_team = played[played.team_abbr == played.team_abbr.iloc[0]]
    team, starters = played_team.team_abbr.iloc[0], sorted(played_team.player_lookup)
    five = [{"game_date": future, "team_abbr": team, "player_lookup": player} for player in starters]
    good = write_csv(tmp_path / "good.csv", five)
    bad_team = write_csv(tmp_path / "bad_team.csv", [*five[:4], {**five[4], "team_abbr": "XYZ"}])
    four = write_csv(tmp_path / "four.csv", five[:4])
    clash = write_csv(
        tmp_path / "played.csv", played_team.drop(columns=["source", "reported_at"]).to_dict("records")
    )

    for path, message in (
        (bad_team, "bad_team.csv: row 6: team_abbr 'XYZ' is not an NBA team code"),
        (four, f"{team} on {future} has 4 starter(s), not 5"),
        (clash, "already has box scores"),
    ):
        files = [str(path)] if path == four else [str(good), str(path)]  # good + bad: nothing written
        assert main(["import", "--config", str(config), "--lineups", *files]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        assert warehouse.read_lineups().num_rows == before  # nothing written
    assert main(["import", "--config", str(config), "--lineups", str(good)]) == 0
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        stored = warehouse.read_lineups(future, future).to_pandas()
    assert sorted(stored.player_lookup) == starters and set(stored.source) == {"FEED"}

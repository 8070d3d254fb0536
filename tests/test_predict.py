"""`nba-ray predict`: a coming game day predicted before tip-off through the backfill, its predictions
written as a backfill writes them and appended, with the run's time, to `issued_predictions`.

On the synthetic league (a registered model pinned by its runs): a schedule for the day after its last
played date, one game tipping before the morning run and two after; a morning run, then a pre-tip run
after a changed injury report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from nba_ray.cli import main, parse_moment
from nba_ray.config import Settings
from nba_ray.data.stored_feeds import import_availability, import_schedule
from nba_ray.slate import coming_features, coming_games, not_started, predict
from nba_ray.warehouse.base import EARLIEST_DATE, LATEST_DATE
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.issued import read_issued
from nba_ray.warehouse.schemas import (
    AVAILABILITY_OUT,
    GAME_SCHEDULED,
    PLAYER_AVAILABILITY,
    SCHEDULED_GAMES,
    SOURCE_FEED,
)
from tests.backfill_fixtures import League

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_ray")]

UTC_TYPE = pa.timestamp("us", tz="UTC")


def _schedule(day: date, games: list[tuple[str, str, datetime | None]], reported: datetime) -> pa.Table:
    return pa.table(
        {
            "game_id": [f"{day:%Y%m%d}0{home}" for home, _, _ in games],
            "game_date": pa.array([day] * len(games), pa.date32()),
            "season": ["2022-23"] * len(games),
            "home_team_abbr": [home for home, _, _ in games],
            "away_team_abbr": [away for _, away, _ in games],
            "tip_time_utc": pa.array([tip for _, _, tip in games], UTC_TYPE),
            "status": [GAME_SCHEDULED] * len(games),
            "source": [SOURCE_FEED] * len(games),
            "reported_at": pa.array([reported] * len(games), UTC_TYPE),
        },
        schema=SCHEDULED_GAMES.schema,
    )


@pytest.fixture
def slate(league: League, tmp_path: Path) -> tuple[Settings, date, list[str]]:
    """A copy of the league with three games scheduled the day after its last played date."""
    settings = league.copy_to(tmp_path / "w")
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        last = warehouse.played_dates(EARLIEST_DATE, LATEST_DATE)[-1]
        teams = sorted(
            set(warehouse.read_box_scores(last - timedelta(days=10), last)["team_abbr"].to_pylist())
        )
        day = last + timedelta(days=1)
        early = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
            hours=13
        )  # before the morning run
        games = [(teams[0], teams[1], early), (teams[2], teams[3], None), (teams[4], teams[5], None)]
        import_schedule(warehouse, _schedule(day, games, early - timedelta(days=3)), "schedule")
    return settings, day, teams[:6]


def _report(day: date, team: str, player: str, status: str, at: datetime) -> pa.Table:
    return pa.Table.from_pylist(
        [{"game_date": day, "team_abbr": team, "player_lookup": player, "status": status,
          "source": SOURCE_FEED, "reported_at": at}],
        schema=PLAYER_AVAILABILITY.schema,
    )  # fmt: skip


def test_predict_issues_the_coming_games_and_keeps_every_snapshot(
    slate: tuple[Settings, date, list[str]],
) -> None:
    settings, day, teams = slate
    morning = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15)
    pre_tip = morning + timedelta(hours=7)

    assert predict(settings, day, morning, show_progress=False) == 0
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        features = warehouse.read_features(day, day).to_pandas()
        first = read_issued(warehouse, day, day).to_pandas()
        written = warehouse.read_predictions(day, day).to_pandas()
        star = (
            features[features["team_abbr"] == teams[2]]
            .sort_values("points_avg_last_10")
            .iloc[-1]["player_lookup"]
        )
        # The pre-tip report rules the team's best scorer out.
        import_availability(warehouse, _report(day, teams[2], star, AVAILABILITY_OUT, pre_tip), "report")

    # Only the games still to tip off at the run's time: the early game's teams are left out.
    assert set(features["team_abbr"]) == set(teams[2:])
    assert len(features) > 20 and not features.duplicated(["game_date", "player_lookup"]).any()
    assert set(first["as_of"]) == {pd.Timestamp(morning)}
    assert len(first) == len(written) and len(first) >= len(features) * 4
    key = ["player_lookup", "system_id"]
    same = first.merge(written, on=key, suffixes=("", "_written"))
    assert len(same) == len(first)
    assert (same["predicted_points"] == same["predicted_points_written"]).all()

    assert predict(settings, day, pre_tip, show_progress=False) == 0
    assert predict(settings, day, pre_tip, show_progress=False) == 0  # the same clock again issues nothing
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        issued = read_issued(warehouse, day, day).to_pandas()
        now = warehouse.read_features(day, day).to_pandas()
    morning_rows = issued[issued["as_of"] == pd.Timestamp(morning)].drop(columns="as_of")
    pd.testing.assert_frame_equal(
        morning_rows.reset_index(drop=True), first.drop(columns="as_of").reset_index(drop=True)
    )
    later = issued[issued["as_of"] == pd.Timestamp(pre_tip)]
    assert star in set(first["player_lookup"]) and star not in set(later["player_lookup"])
    assert len(later) == len(issued) - len(first) and not later.empty
    assert star not in set(now["player_lookup"])
    # Teammates see the points he leaves behind.
    mates = now[now["team_abbr"] == teams[2]]
    assert (
        mates["points_vacated_last_10"]
        > features.set_index("player_lookup").loc[mates["player_lookup"], "points_vacated_last_10"].to_numpy()
    ).all()


def test_predict_refuses_a_day_without_coming_games(slate: tuple[Settings, date, list[str]]) -> None:
    settings, day, _ = slate
    late = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=12)
    with pytest.raises(ValueError, match="has tipped off"):
        predict(settings, day, late, show_progress=False)
    with pytest.raises(ValueError, match="no coming game"):
        predict(settings, day + timedelta(days=5), late, show_progress=False)
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        assert read_issued(warehouse, day, day + timedelta(days=5)).num_rows == 0


def test_as_of_is_the_league_time_unless_it_says_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    new_york = "America/New_York"
    assert parse_moment("--as-of", "2023-01-10T10:00", new_york) == datetime(2023, 1, 10, 15, tzinfo=UTC)
    assert parse_moment("--as-of", "2023-01-10T10:00+00:00", new_york) == datetime(
        2023, 1, 10, 10, tzinfo=UTC
    )
    assert main(["predict", "--date", "2023-01-10", "--as-of", "morning"]) == 2
    assert "--as-of: 'morning' is not a date-time" in capsys.readouterr().err


def test_a_report_for_a_coming_slate_names_predict_not_features(
    slate: tuple[Settings, date, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A coming date's feature rows are `predict`'s to rebuild (`nba-ray features` refuses a date
    without box scores), so a report for it names `predict`, and no played date is said to be stale."""
    settings, day, teams = slate
    morning = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15)
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        games = not_started(coming_games(warehouse, day), warehouse.tips, morning)
        features, _ = coming_features(warehouse, settings.availability, games, day, morning)
        warehouse.replace_features(features, day, day)
        lookup = features.filter(pc.equal(features["team_abbr"], teams[2]))["player_lookup"][0].as_py()
        box = warehouse.read_box_scores(EARLIEST_DATE, day)
        player = box.filter(pc.equal(box["player_lookup"], lookup))["player_name"][-1].as_py()
    report = tmp_path / "report.csv"
    report.write_text(f"game_date,team_abbr,player_name,status\n{day},{teams[2]},{player},OUT\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"warehouse:\n  path: {settings.warehouse.path}\n")
    capsys.readouterr()

    assert main(["import", "--config", str(config), "--availability", str(report)]) == 0
    out = capsys.readouterr().out
    assert f"this import changed inputs of the coming slate of {day}: `nba-ray predict --date {day}`" in out
    assert "nba-ray features" not in out

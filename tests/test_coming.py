"""Feature rows of coming games (`nba_ray.slate`, `nba_ray.features.coming`).

On the real 2022-23 season: its last game dates are held out and replayed as a user would each day:
their schedule and, per date, an injury report and lineups saying what that date's box scores say are
imported; the date's coming rows are built; then its box scores are imported. Once all are in, the
backfill's rows of those dates must equal the coming rows bit for bit for every player in both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from nba_ray.commands import store_box_scores
from nba_ray.config import AvailabilitySettings, Settings
from nba_ray.data.availability import derive_availability, derive_lineups
from nba_ray.data.schedule import derive_schedule
from nba_ray.data.stored_feeds import import_availability, import_lineups, import_schedule
from nba_ray.features.builder import build_features
from nba_ray.slate import coming_features, coming_games
from nba_ray.warehouse.base import EARLIEST_DATE
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.schemas import (
    GAME_POSTPONED,
    GAME_SCHEDULED,
    PLAYER_GAME_SUMMARY,
    SOURCE_BOX_SCORE,
    SOURCE_FEED,
    conform,
)
from tests.conftest import real_season, requires_real_data

HELD_OUT_DATES = 2  # the season's last two game dates: 3 and 15 games
MIN_MINUTES = 10.0
MIN_COVERAGE = 0.97
SOURCES = ("availability_source", "lineup_source")


def _as_feed(rows: pa.Table, reported_at: datetime) -> pa.Table:
    stamp = pa.array([reported_at] * rows.num_rows, pa.timestamp("us", tz="UTC"))
    rows = rows.set_column(
        rows.schema.get_field_index("source"), "source", pa.array([SOURCE_FEED] * rows.num_rows)
    )
    return rows.set_column(rows.schema.get_field_index("reported_at"), "reported_at", stamp)


def _on(table: pa.Table, day: date) -> pa.Table:
    return table.filter(pc.equal(table["game_date"], pa.scalar(day, pa.date32())))


def _morning(day: date) -> datetime:
    return datetime.combine(day, time(14, 0), tzinfo=UTC)  # 10:00 in New York


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    season = conform(pq.read_table(real_season("2022-23")), PLAYER_GAME_SUMMARY)
    days = sorted(set(season["game_date"].to_pylist()))[-HELD_OUT_DATES:]
    held = pc.is_in(season["game_date"], pa.array(days, pa.date32()))
    availability, lineups = derive_availability(season), derive_lineups(season)
    settings = AvailabilitySettings()
    with DuckDBWarehouse(tmp_path_factory.mktemp("coming") / "nba.duckdb", Settings().batching) as warehouse:
        store_box_scores(warehouse, season.filter(pc.invert(held)))
        schedule = derive_schedule(season.filter(held))
        schedule = schedule.set_column(
            schedule.schema.get_field_index("status"),
            "status",
            pa.array([GAME_SCHEDULED] * schedule.num_rows),
        )
        import_schedule(warehouse, _as_feed(schedule, _morning(days[0]) - timedelta(days=7)), "schedule")
        coming, expected = [], []
        for day in days:
            import_availability(warehouse, _as_feed(_on(availability, day), _morning(day)), "injuries")
            import_lineups(warehouse, _as_feed(_on(lineups, day), _morning(day)), "lineups")
            assert coming_games(warehouse, day).num_rows == len(set(_on(season, day)["game_id"].to_pylist()))
            rows, players = coming_features(
                warehouse, settings, coming_games(warehouse, day), day, _morning(day)
            )
            coming.append(rows)
            expected.append(players)
            store_box_scores(warehouse, _on(season, day))
            assert coming_games(warehouse, day).num_rows == 0  # the box scores are in: nothing is coming
        box = warehouse.read_box_scores()
        backfill = build_features(
            box,
            days[0],
            days[-1],
            warehouse.read_availability(EARLIEST_DATE, days[-1]),
            warehouse.read_lineups(),
        )
        yield {
            "season": season,
            "days": days,
            "coming": pa.concat_tables(coming),
            "expected": pa.concat_tables(expected),
            "backfill": backfill,
        }


@requires_real_data
def test_coming_rows_equal_the_backfill_rows_bit_for_bit(replay: dict[str, object]) -> None:
    coming = replay["coming"].to_pandas()  # type: ignore[attr-defined]
    backfill = replay["backfill"].to_pandas()  # type: ignore[attr-defined]
    key = ["game_date", "player_lookup"]
    both = coming.merge(backfill[key], on=key).sort_values(key).reset_index(drop=True)
    theirs = backfill.merge(coming[key], on=key).sort_values(key).reset_index(drop=True)
    assert len(both) > 300
    compared = [name for name in coming.columns if name not in SOURCES]
    pd.testing.assert_frame_equal(both[compared], theirs[compared], check_exact=True)
    # Bit for bit, not merely equal: the float columns' bytes are the same.
    for name in compared:
        if both[name].dtype.kind == "f":
            assert both[name].to_numpy().tobytes() == theirs[name].to_numpy().tobytes(), name
    assert set(both["availability_source"]) == {SOURCE_FEED}
    assert set(both["lineup_source"]) == {SOURCE_FEED}
    assert set(theirs["availability_source"]) == {SOURCE_BOX_SCORE}
    assert set(theirs["lineup_source"]) == {SOURCE_BOX_SCORE}


@requires_real_data
def test_coming_rows_cover_the_players_who_played(replay: dict[str, object]) -> None:
    season: pa.Table = replay["season"]  # type: ignore[assignment]
    days: list[date] = replay["days"]  # type: ignore[assignment]
    held = season.filter(pc.is_in(season["game_date"], pa.array(days, pa.date32()))).to_pandas()
    coming = replay["coming"].to_pandas()  # type: ignore[attr-defined]
    predicted = set(zip(coming["game_date"], coming["player_lookup"], strict=True))
    regulars = held[held["minutes_played"].fillna(0.0) >= MIN_MINUTES]
    covered = sum(
        key in predicted for key in zip(regulars["game_date"], regulars["player_lookup"], strict=True)
    )
    coverage = covered / len(regulars)
    played = held[held["minutes_played"].fillna(0.0) > 0]
    did_not_play = predicted - set(zip(played["game_date"], played["player_lookup"], strict=True))
    print(
        f"coverage {covered}/{len(regulars)} = {coverage:.3f} of players with >= {MIN_MINUTES:.0f} minutes; "
        f"{len(did_not_play)} of {len(predicted)} predicted players did not play"
    )
    assert coverage >= MIN_COVERAGE
    # Who the report lists as OUT gets no row; players of the held dates' teams only.
    expected = replay["expected"].to_pandas()  # type: ignore[attr-defined]
    out = expected[~expected["predicted"]]
    assert not out.empty
    assert not set(zip(out["game_date"], out["player_lookup"], strict=True)) & predicted
    assert set(coming["team_abbr"]) <= set(held["team_abbr"])


def test_postponed_games_are_not_coming(duckdb_warehouse: DuckDBWarehouse) -> None:
    day = date(2023, 4, 9)
    games = pa.table(
        {
            "game_id": ["0022201221", "0022201222"],
            "game_date": pa.array([day, day], pa.date32()),
            "season": ["2022-23", "2022-23"],
            "home_team_abbr": ["BOS", "LAL"],
            "away_team_abbr": ["ATL", "UTA"],
            "tip_time_utc": pa.array([None, None], pa.timestamp("us", tz="UTC")),
            "status": [GAME_SCHEDULED, GAME_POSTPONED],
            "source": [SOURCE_FEED, SOURCE_FEED],
            "reported_at": pa.array([_morning(day)] * 2, pa.timestamp("us", tz="UTC")),
        }
    )
    duckdb_warehouse.replace_schedule(games, SOURCE_FEED)
    assert coming_games(duckdb_warehouse, day)["home_team_abbr"].to_pylist() == ["BOS"]

"""Who is expected to play a coming game: the team's recent players (a traded one with his new team),
plus the report's listed players, each with his status's probability of playing; OUT and DOUBTFUL get
no prediction. Only box scores before the date count."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa

from nba_ray.config import AvailabilitySettings
from nba_ray.data.expected import EXPECTED_PLAYERS_SCHEMA, expected_players
from nba_ray.warehouse.schemas import PLAYER_AVAILABILITY
from tests.test_availability import OPENING, game
from tests.test_features import to_table

SETTINGS = AvailabilitySettings(roster_games=3)


def report(day: date, team: str, statuses: dict[str, str], source: str = "FEED") -> list[dict[str, object]]:
    return [
        {
            "game_date": day,
            "team_abbr": team,
            "player_lookup": player,
            "status": status,
            "source": source,
            "reported_at": None,
        }
        for player, status in statuses.items()
    ]


def test_the_recent_roster_plus_the_report_with_probabilities() -> None:
    rows = game(0, "BOS", "NYK", {"old": None, "benched": "Did Not Play"})  # old: not in the last 3 games
    for day in (2, 4, 6):
        rows += game(day, "BOS", "NYK", {"a1": None, "a2": None, "a3": None, "benched": "Did Not Play"})
    rows += game(4, "MIA", "ATL", {"traded": None})
    rows += game(5, "BOS", "NYK", {"traded": None})  # ... now of BOS
    rows += game(6, "MIA", "ATL", {"a4": None})
    rows += game(8, "BOS", "NYK", {"late": None})  # the coming date itself and after: never counted
    coming = OPENING + timedelta(days=8)
    reports = report(
        coming, "BOS", {"a2": "OUT", "a3": "QUESTIONABLE", "rookie": "AVAILABLE", "a1": "DOUBTFUL"}
    )
    reports += report(coming, "MIA", {"a4": "PROBABLE"})
    reports += report(coming, "BOS", {"a2": "AVAILABLE"}, source="BOX_SCORE")  # not a report: ignored
    reports += report(coming - timedelta(days=1), "BOS", {"old": "AVAILABLE"})  # another date: ignored
    table = expected_players(
        to_table(rows),
        [(coming, "BOS"), (coming, "MIA"), (coming, "BOS")],
        pa.Table.from_pylist(reports, schema=PLAYER_AVAILABILITY.schema),
        SETTINGS,
    )
    assert table.schema == EXPECTED_PLAYERS_SCHEMA
    got = [
        (r["team_abbr"], r["player_lookup"], r["status"], r["play_probability"], r["predicted"])
        for r in table.to_pylist()
    ]
    assert got == [
        ("BOS", "a1", "DOUBTFUL", 0.25, False),
        ("BOS", "a2", "OUT", 0.0, False),
        ("BOS", "a3", "QUESTIONABLE", 0.5, True),
        ("BOS", "rookie", "AVAILABLE", 1.0, True),
        ("BOS", "traded", None, 1.0, True),
        ("MIA", "a4", "PROBABLE", 0.75, True),
    ]
    assert set(table["game_date"].to_pylist()) == {coming}


def test_without_a_report_the_roster_is_unknown_but_predicted_and_the_settings_decide() -> None:
    rows = game(0, "BOS", "NYK", {"a1": None, "a2": None})
    coming = OPENING + timedelta(days=2)
    none = PLAYER_AVAILABILITY.schema.empty_table()
    table = expected_players(to_table(rows), [(coming, "BOS"), (coming, "NYK")], none, SETTINGS)
    assert table.to_pydict()["player_lookup"] == ["a1", "a2"]  # NYK has no games: nobody expected
    assert table.to_pydict()["predicted"] == [True, True] and table.to_pydict()["status"] == [None, None]
    strict = AvailabilitySettings(unpredicted=["out", "doubtful", "questionable"])
    reported = pa.Table.from_pylist(
        report(coming, "BOS", {"a1": "QUESTIONABLE"}), schema=PLAYER_AVAILABILITY.schema
    )
    table = expected_players(to_table(rows), [(coming, "BOS")], reported, strict)
    assert table.to_pydict()["predicted"] == [False, True]
    assert expected_players(to_table(rows), [], none, SETTINGS).num_rows == 0

"""`player_availability`: derivation from box scores on hand-built team-games, the feed import (all or
nothing, a bad row named with its file and row), and the import path that keeps both in the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from nba_ray.cli import main
from nba_ray.config import Settings
from nba_ray.data.availability import ROTATION_GAMES, derive_availability
from nba_ray.data.feeds import FeedError, read_availability_feed
from nba_ray.data.players import KnownPlayers
from nba_ray.warehouse import Warehouse
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.schemas import PLAYER_AVAILABILITY
from tests.test_features import box_row, to_table

OPENING = date(2021, 10, 19)
SEASON = "2021-22"


def game(day: int, team: str, opponent: str, players: dict[str, str | None]) -> list[dict[str, object]]:
    """One team's rows of a game on OPENING + day: player → None (played 20 minutes) or a DNP reason."""
    rows = []
    for player, reason in players.items():
        if reason is None:
            stats = {"points": 10, "fg_made": 5, "fg_attempted": 10}
            rows.append(
                box_row(OPENING + timedelta(days=day), team, opponent, True, player, SEASON, 20.0, stats)
            )
        else:
            rows.append(
                box_row(
                    OPENING + timedelta(days=day), team, opponent, True, player, SEASON, 0.0, None, reason
                )
            )
    return rows


def statuses(table: pa.Table, day: int, team: str) -> dict[str, str]:
    frame = table.to_pandas()
    on = frame[(frame.game_date == OPENING + timedelta(days=day)) & (frame.team_abbr == team)]
    return dict(zip(on.player_lookup, on.status, strict=True))


ROSTER = {f"a{i}": None for i in range(1, 8)}


def test_listed_rows_and_rotation_players_without_a_row() -> None:
    rows = game(0, "BOS", "NYK", ROSTER) + game(2, "BOS", "NYK", ROSTER)
    tonight = {**ROSTER, "a5": "Did Not Dress", "a4": "Did Not Play", "a3": "Played 0:00"}
    del tonight["a6"]  # no row at all: injured, not listed
    rows += game(4, "BOS", "NYK", tonight)
    availability = derive_availability(to_table(rows))
    assert availability.schema == PLAYER_AVAILABILITY.schema
    assert set(availability["source"].to_pylist()) == {"BOX_SCORE"}
    assert availability["reported_at"].null_count == availability.num_rows
    assert statuses(availability, 4, "BOS") == {
        "a1": "AVAILABLE",
        "a2": "AVAILABLE",
        "a3": "AVAILABLE",  # played 0:00: available
        "a4": "AVAILABLE",  # coach's decision: available
        "a5": "OUT",  # inactive list
        "a6": "OUT",  # rotation player without a row
        "a7": "AVAILABLE",
    }
    # Opening night has no earlier rotation: everyone listed is active, nobody else is out.
    assert set(statuses(availability, 0, "BOS").values()) == {"AVAILABLE"}
    keys = availability.select(list(PLAYER_AVAILABILITY.key)).to_pandas()
    assert not keys.duplicated().any()


def test_a_returning_player_is_active_and_a_long_absence_leaves_the_rotation() -> None:
    rows = game(0, "BOS", "NYK", ROSTER)
    without = {k: v for k, v in ROSTER.items() if k != "a7"}
    for number in range(1, ROTATION_GAMES + 2):
        rows += game(2 * number, "BOS", "NYK", without)
    rows += game(2 * (ROTATION_GAMES + 2), "BOS", "NYK", ROSTER)  # a7 is back
    availability = derive_availability(to_table(rows))
    # Out for the next ROTATION_GAMES games after his last one, then no longer a rotation player.
    for number in range(1, ROTATION_GAMES + 1):
        assert statuses(availability, 2 * number, "BOS")["a7"] == "OUT"
    assert "a7" not in statuses(availability, 2 * (ROTATION_GAMES + 1), "BOS")
    assert statuses(availability, 2 * (ROTATION_GAMES + 2), "BOS")["a7"] == "AVAILABLE"


def test_a_player_traded_mid_season_is_not_out_for_his_old_team() -> None:
    rows = game(0, "BOS", "NYK", ROSTER) + game(2, "BOS", "NYK", ROSTER)
    traded = {k: v for k, v in ROSTER.items() if k != "a2"}
    rows += game(4, "BOS", "NYK", traded)  # a2 has not played for his new team yet: out, as far as we know
    rows += game(5, "MIA", "CHI", {"a2": None, "c1": None})
    rows += game(6, "BOS", "NYK", traded)  # his latest row is for MIA: he left BOS
    rows += game(8, "BOS", "NYK", traded) + game(8, "MIA", "CHI", {"a2": None, "c1": None})
    availability = derive_availability(to_table(rows))
    assert statuses(availability, 4, "BOS")["a2"] == "OUT"
    assert "a2" not in statuses(availability, 6, "BOS")
    assert "a2" not in statuses(availability, 8, "BOS")
    assert statuses(availability, 8, "MIA")["a2"] == "AVAILABLE"


def test_a_missing_game_is_not_counted_and_gets_no_rows() -> None:
    rows = game(0, "BOS", "NYK", ROSTER)
    without = {k: v for k, v in ROSTER.items() if k != "a7"}
    days = [2 * n for n in range(1, ROTATION_GAMES + 3) if n != 3]  # the game on day 6 is not in the data
    for day in days:
        rows += game(day, "BOS", "NYK", without)
    availability = derive_availability(to_table(rows))
    assert statuses(availability, 6, "BOS") == {}
    # Ten games present after day 0: a7 is out in each of them, and not in the eleventh.
    assert [statuses(availability, day, "BOS").get("a7") for day in days] == ["OUT"] * ROTATION_GAMES + [None]


def test_last_season_players_are_not_out_on_opening_night() -> None:
    last_season = [
        {**row, "season": "2020-21", "game_date": date(2021, 4, 10)}
        for row in game(0, "BOS", "NYK", {"gone": None, "a1": None})
    ]
    rows = last_season + game(0, "BOS", "NYK", {"a1": None})
    assert statuses(derive_availability(to_table(rows)), 0, "BOS") == {"a1": "AVAILABLE"}


def test_the_dates_own_minutes_and_points_never_change_its_availability() -> None:
    rows = game(0, "BOS", "NYK", ROSTER) + game(2, "BOS", "NYK", {**ROSTER, "a1": "Did Not Play"})
    changed = [
        {**row, "minutes_played": 30.0, "points": 0, "fg_made": 0, "dnp": False, "dnp_reason": None}
        if row["game_date"] == OPENING + timedelta(days=2) and row["player_lookup"] == "a1"
        else row
        for row in rows
    ]
    changed[-1]["points"] = 40  # a teammate's points that night
    changed[-1]["fg_made"] = 10
    assert derive_availability(to_table(rows)).equals(derive_availability(to_table(changed)))


# ---- the feed ----------------------------------------------------------------------------------------


def write_feed(tmp_path: Path, rows: list[dict[str, object]], name: str = "feed.csv") -> Path:
    path = tmp_path / name
    frame = pd.DataFrame(rows)
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


FEED = [
    {"game_date": "2021-10-24", "team_abbr": "BOS", "player_name": "Jayson Tatum", "status": "active"},
    {"game_date": "2021-10-24", "team_abbr": "BOS", "player_name": "Kristaps Porziņģis", "status": "OUT"},
    {"game_date": "2021-10-24", "team_abbr": "NYK", "player_name": "Mitchell Robinson", "status": "OUT"},
]


# The feed's players as box scores know them: Tatum and Porziņģis of BOS, Robinson of NYK.
FEED_PLAYERS = [
    *game(2, "BOS", "NYK", {"jaysontatum": None, "kristapsporzingis": None}),
    *game(2, "NYK", "BOS", {"mitchellrobinson": None}),
]
KNOWN = KnownPlayers.of(to_table(FEED_PLAYERS))
NOW = datetime(2021, 10, 24, 15, 0, tzinfo=UTC)
STATUSES = "OUT, DOUBTFUL, QUESTIONABLE, PROBABLE, AVAILABLE"


def test_feed_is_read_validated_and_folded_to_lookups(tmp_path: Path) -> None:
    table = read_availability_feed([write_feed(tmp_path, FEED, "feed.parquet")], KNOWN, NOW)
    assert table.schema == PLAYER_AVAILABILITY.schema
    assert table.to_pydict()["player_lookup"] == ["jaysontatum", "kristapsporzingis", "mitchellrobinson"]
    assert table.to_pydict()["status"] == ["AVAILABLE", "OUT", "OUT"]
    assert set(table["source"].to_pylist()) == {"FEED"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": "maybe"}, f"status is not one of {STATUSES}"),
        ({"game_date": "24/13/2023"}, "game_date is not a date"),
        ({"team_abbr": "Boston Celtics"}, "team_abbr 'Boston Celtics' is not an NBA team code"),
        ({"player_name": ""}, "player is empty"),
    ],
)
def test_a_bad_feed_row_is_named_with_file_and_row(
    tmp_path: Path, change: dict[str, str], reason: str
) -> None:
    rows = [dict(row) for row in FEED]
    rows[2].update(change)
    path = write_feed(tmp_path, rows)
    with pytest.raises(FeedError) as caught:
        read_availability_feed([path], KNOWN, NOW)
    assert str(caught.value).startswith(f"{path}: row 4: {reason}")  # header is line 1


def test_a_second_row_for_one_player_is_rejected(tmp_path: Path) -> None:
    first = write_feed(tmp_path, FEED, "a.csv")
    second = write_feed(tmp_path, FEED[:1], "b.csv")
    with pytest.raises(FeedError, match=r"b\.csv: row 2: a second row for jaysontatum"):
        read_availability_feed([first, second], KNOWN, NOW)


def _config(settings: Settings, tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"warehouse:\n  kind: duckdb\n  path: {settings.warehouse.path}\n")
    return str(path)


def stored(settings: Settings, read: Callable[[Warehouse], pa.Table]) -> pd.DataFrame:
    """What one read of the embedded warehouse returns, as a frame."""
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        return read(warehouse).to_pandas()


def _availability(settings: Settings) -> pd.DataFrame:
    return stored(settings, lambda warehouse: warehouse.read_availability())


def test_import_derives_availability_and_loads_feeds_all_or_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(settings, tmp_path)
    box = tmp_path / "box.parquet"
    tonight = {k: v for k, v in ROSTER.items() if k != "a6"}
    rows = game(0, "BOS", "NYK", ROSTER) + game(2, "BOS", "NYK", tonight) + FEED_PLAYERS
    to_table(rows).to_pandas().to_parquet(box)
    assert main(["import", "--config", config, "--box-scores", str(box)]) == 0
    derived = _availability(settings)
    assert len(derived) == len(rows) + 1 and set(derived.source) == {"BOX_SCORE"}

    good = write_feed(tmp_path, FEED, "good.csv")
    assert main(["import", "--config", config, "--availability", str(good)]) == 0
    assert len(_availability(settings)) == len(derived) + len(FEED)
    capsys.readouterr()

    bad_rows = [dict(row) for row in FEED] + [{**FEED[0], "player_name": "X", "status": "maybe"}]
    bad = write_feed(tmp_path, bad_rows, "bad.csv")
    assert main(["import", "--config", config, "--availability", str(good), str(bad)]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and f"{bad}: row 5: status is not one of {STATUSES}" in message
    assert len(_availability(settings)) == len(derived) + len(FEED)

    played = write_feed(tmp_path, [{**FEED[0], "game_date": str(OPENING), "team_abbr": "BOS"}], "played.csv")
    assert main(["import", "--config", config, "--availability", str(played)]) == 2
    assert "BOS on 2021-10-19 already has box scores" in capsys.readouterr().err
    assert len(_availability(settings)) == len(derived) + len(FEED)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"player_name": "Jayson Tatem"},
            "player 'jaysontatem' is no known player of BOS (closest of BOS: Jaysontatum;",
        ),
        (
            {"team_abbr": "BOS", "player_name": "Mitchell Robinson"},
            "player 'mitchellrobinson' is a player of NYK, not BOS (no close name on BOS;",
        ),
        (
            {"player_name": "Victor Wembanyama"},
            "player 'victorwembanyama' is no known player of NYK (no close name on NYK;",
        ),
    ],
)
def test_a_player_not_of_the_team_is_refused_with_the_closest_names(
    tmp_path: Path, change: dict[str, str], reason: str
) -> None:
    rows = [dict(row) for row in FEED]
    rows[1 if "Tatem" in change["player_name"] else 2].update(change)
    path = write_feed(tmp_path, rows)
    with pytest.raises(FeedError) as caught:
        read_availability_feed([path], KNOWN, NOW)
    row = 3 if "Tatem" in change["player_name"] else 4
    assert str(caught.value).startswith(f"{path}: row {row}: {reason}"), caught.value
    assert "--new-player NAME" in str(caught.value)


def test_a_new_player_is_admitted_explicitly_and_a_traded_one_belongs_to_his_latest_team(
    tmp_path: Path,
) -> None:
    rookie = [*FEED, {**FEED[2], "player_name": "Victor Wembanyama"}]
    admitted = KnownPlayers.of(to_table(FEED_PLAYERS), admitted={"victorwembanyama"})
    table = read_availability_feed([write_feed(tmp_path, rookie)], admitted, NOW)
    assert "victorwembanyama" in table["player_lookup"].to_pylist()
    # Known from then on through the stored feed row, without admitting him again.
    later = KnownPlayers.of(to_table(FEED_PLAYERS), feeds=[table])
    assert read_availability_feed([write_feed(tmp_path, rookie, "again.csv")], later, NOW).num_rows == 4

    traded = KnownPlayers.of(to_table([*FEED_PLAYERS, *game(5, "NYK", "BOS", {"jaysontatum": None})]))
    with pytest.raises(FeedError, match="'jaysontatum' is a player of NYK, not BOS"):
        read_availability_feed([write_feed(tmp_path, FEED, "traded.csv")], traded, NOW)
    moved = [{**FEED[0], "team_abbr": "NYK"}, FEED[2]]
    assert read_availability_feed([write_feed(tmp_path, moved, "moved.csv")], traded, NOW).num_rows == 2
    # Before the trade he was still a player of BOS.
    early = [{**FEED[0], "game_date": str(OPENING + timedelta(days=3))}]
    assert read_availability_feed([write_feed(tmp_path, early, "early.csv")], traded, NOW).num_rows == 1


def test_box_scores_of_one_game_keep_the_feeds_of_the_dates_other_games(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(settings, tmp_path)
    earlier = tmp_path / "earlier.parquet"
    to_table(game(0, "BOS", "NYK", ROSTER) + FEED_PLAYERS).to_pandas().to_parquet(earlier)
    assert main(["import", "--config", config, "--box-scores", str(earlier)]) == 0
    feed = write_feed(tmp_path, [{**row, "game_date": str(OPENING + timedelta(days=4))} for row in FEED])
    assert main(["import", "--config", config, "--availability", str(feed)]) == 0
    boston = tmp_path / "boston.parquet"
    to_table(game(4, "BOS", "MIA", ROSTER)).to_pandas().to_parquet(boston)  # BOS plays; NYK's game is later
    assert main(["import", "--config", config, "--box-scores", str(boston)]) == 0
    stored = _availability(settings)
    day = stored[stored.game_date == OPENING + timedelta(days=4)]
    nyk = day[day.team_abbr == "NYK"]
    assert list(zip(nyk.player_lookup, nyk.status, nyk.source, strict=True)) == [
        ("mitchellrobinson", "OUT", "FEED")
    ]
    assert set(day[day.team_abbr == "BOS"].source) == {"BOX_SCORE", "FEED"}
    assert not stored.duplicated(["game_date", "team_abbr", "player_lookup", "source"]).any()
    capsys.readouterr()

    tonight = str(OPENING + timedelta(days=4))
    rookie = [{**FEED[2], "game_date": tonight, "player_name": "Victor Wembanyama"}]
    rookie = write_feed(tmp_path, rookie, "rookie.csv")
    assert main(["import", "--config", config, "--availability", str(rookie)]) == 2
    assert f"{rookie}: row 2: player 'victorwembanyama' is no known player of NYK" in capsys.readouterr().err
    assert len(_availability(settings)) == len(stored)
    admit = ["--new-player", "Victor Wembanyama"]
    assert main(["import", "--config", config, "--availability", str(rookie), *admit]) == 0
    nyk = _availability(settings).query("team_abbr == 'NYK' and source == 'FEED'")
    assert list(nyk.player_lookup) == ["victorwembanyama"]  # the team-date's new report replaced the old


def test_the_official_reports_shapes_and_statuses_are_read(tmp_path: Path) -> None:
    """The report's "Last, First", "AWAY@HOME" and status words; every row has a reported_at."""
    rows = [
        {**FEED[0], "player_name": "Tatum, Jayson", "matchup": "NYK@BOS", "status": "Questionable"},
        {**FEED[1], "player_name": "Porziņģis, Kristaps", "matchup": "NYK@BOS", "status": "Probable"},
        {**FEED[2], "matchup": "NYK@BOS", "status": "Doubtful", "reported_at": "2021-10-24 17:30:00-04:00"},
        {**FEED[0], "team_abbr": "NYK", "player_name": "Robinson, Mitchell", "matchup": "NYK@BOS"},
    ]
    rows[3].update(status="Active", reported_at="2021-10-24 21:00")  # a second report of the day
    table = read_availability_feed([write_feed(tmp_path, rows)], KNOWN, NOW).to_pylist()
    assert [(r["player_lookup"], r["status"]) for r in table] == [
        ("jaysontatum", "QUESTIONABLE"),
        ("kristapsporzingis", "PROBABLE"),
        ("mitchellrobinson", "DOUBTFUL"),
        ("mitchellrobinson", "AVAILABLE"),
    ]
    assert [r["reported_at"] for r in table] == [
        NOW,
        NOW,
        datetime(2021, 10, 24, 21, 30, tzinfo=UTC),
        datetime(2021, 10, 24, 21, 0, tzinfo=UTC),
    ]
    for matchup, reason in (
        ("NYK-BOS", "matchup is not two NBA team codes as AWAY@HOME"),
        ("MIA@ATL", "team_abbr is not a team of matchup"),
    ):
        path = write_feed(tmp_path, [rows[0], {**rows[1], "matchup": matchup}], "bad.csv")
        with pytest.raises(FeedError, match=rf"bad\.csv: row 3: {reason}"):
            read_availability_feed([path], KNOWN, NOW)


def test_a_later_report_replaces_an_earlier_one_and_a_repeat_changes_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(settings, tmp_path)
    box = tmp_path / "box.parquet"
    to_table(FEED_PLAYERS).to_pandas().to_parquet(box)
    assert main(["import", "--config", config, "--box-scores", str(box)]) == 0
    feed = write_feed(tmp_path, FEED, "morning.csv")  # no reported_at: the import's time
    assert main(["import", "--config", config, "--availability", str(feed)]) == 0
    first = _availability(settings)
    stamps = first[first.source == "FEED"].reported_at
    assert stamps.notna().all() and stamps.nunique() == 1
    assert main(["import", "--config", config, "--availability", str(feed)]) == 0
    assert "imported 0 availability rows" in capsys.readouterr().out
    pd.testing.assert_frame_equal(_availability(settings), first)

    news = write_feed(tmp_path, [{**FEED[1], "status": "available"}], "evening.csv")
    assert main(["import", "--config", config, "--availability", str(news)]) == 0
    latest = _availability(settings).query("source == 'FEED'")
    assert sorted(zip(latest.team_abbr, latest.player_lookup, latest.status, strict=True)) == [
        ("BOS", "kristapsporzingis", "AVAILABLE"),  # BOS's later report replaces its earlier one
        ("NYK", "mitchellrobinson", "OUT"),
    ]
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        morning = warehouse.read_availability(as_of=stamps.iloc[0].to_pydatetime()).to_pandas()
    assert morning.query("source == 'FEED'").equals(first.query("source == 'FEED'"))

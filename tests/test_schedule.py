"""`scheduled_games`: played games derived from the box scores, coming games from schedule files in
nba-ray's own columns or nba_api's ScheduleLeagueV2 frame, validated all or nothing (file and row named),
and re-imported without change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from nba_ray.cli import main
from nba_ray.config import Settings
from nba_ray.data.schedule import ScheduleError, derive_schedule, read_schedule_files
from nba_ray.warehouse.schemas import SCHEDULED_GAMES
from tests.test_availability import OPENING, ROSTER, _config, game, stored
from tests.test_features import to_table

NOW = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)
GAMES = [
    {"game_date": "2022-03-02", "home_team_abbr": "BOS", "away_team_abbr": "NYK"},
    {"game_date": "2022-03-02", "home_team_abbr": "mia", "away_team_abbr": "ATL", "status": "postponed"},
    {
        "game_date": "2022-03-03",
        "home_team_abbr": "LAL",
        "away_team_abbr": "DEN",
        "game_id": "0022100901",
        "season": "2021-22",
        "tip_time_utc": "2022-03-04 03:30:00",
        "reported_at": "2022-03-01T08:00:00-05:00",
    },
]

# nba_api's SeasonGames columns (its endpoint documentation), broadcasters abridged to one group.
NBA_API_COLUMNS = [
    "leagueId", "seasonYear", "gameDate", "gameId", "gameCode", "gameStatus", "gameStatusText",
    "gameSequence", "gameDateEst", "gameTimeEst", "gameDateTimeEst", "gameDateUTC", "gameTimeUTC",
    "gameDateTimeUTC", "awayTeamTime", "homeTeamTime", "day", "monthNum", "weekNumber", "weekName",
    "ifNecessary", "seriesGameNumber", "gameLabel", "gameSubLabel", "seriesText", "arenaName", "arenaState",
    "arenaCity", "postponedStatus", "branchLink", "gameSubtype", "isNeutral", "homeTeam_teamId",
    "homeTeam_teamName", "homeTeam_teamCity", "homeTeam_teamTricode", "homeTeam_teamSlug", "homeTeam_wins",
    "homeTeam_losses", "homeTeam_score", "homeTeam_seed", "awayTeam_teamId", "awayTeam_teamName",
    "awayTeam_teamCity", "awayTeam_teamTricode", "awayTeam_teamSlug", "awayTeam_wins", "awayTeam_losses",
    "awayTeam_score", "awayTeam_seed", "pointsLeaders_personId", "pointsLeaders_points",
    "nationalBroadcasters_broadcasterDisplay",
]  # fmt: skip


def nba_api_game(game_id: str, day: str, home: str, away: str, status: int, postponed: str = "A") -> dict:
    row: dict[str, object] = dict.fromkeys(NBA_API_COLUMNS, "")
    row.update(
        leagueId="00",
        seasonYear="2021-22",
        gameDate=f"{day[5:7]}/{day[8:10]}/{day[:4]} 00:00:00",
        gameId=game_id,
        gameStatus=status,
        gameStatusText="Final" if status == 3 else "7:30 pm ET",
        gameDateEst=f"{day}T00:00:00Z",
        gameDateTimeUTC=f"{day}T23:30:00Z",
        postponedStatus=postponed,
        homeTeam_teamTricode=home,
        awayTeam_teamTricode=away,
        homeTeam_wins=30,
        pointsLeaders_points=31.0,
    )
    return row


NBA_API_FRAME = [
    nba_api_game("0012100001", "2021-10-04", "PHI", "TOR", 3),  # preseason: left out
    nba_api_game("0022100001", "2021-10-19", "MIL", "BKN", 3),
    nba_api_game("0022100900", "2022-03-02", "BOS", "NYK", 1, postponed="P"),
    nba_api_game("0032100001", "2022-02-20", "LBN", "DRT", 3),  # All-Star: left out
    nba_api_game("0022100901", "2022-03-03", "LAL", "DEN", 1),
    nba_api_game("0042100401", "2022-06-02", "", "", 1),  # Finals before the teams are known: left out
]


def write(tmp_path: Path, rows: list[dict], name: str = "schedule.csv") -> Path:
    path = tmp_path / name
    frame = pd.DataFrame(rows)
    frame.to_parquet(path) if name.endswith(".parquet") else frame.to_csv(path, index=False)
    return path


def test_played_games_are_derived_from_box_scores() -> None:
    rows = game(0, "BOS", "NYK", ROSTER)  # BOS at home
    rows += [{**row, "is_home": False} for row in game(1, "MIA", "BOS", ROSTER)]  # MIA away at BOS
    schedule = derive_schedule(to_table(rows))
    assert schedule.schema == SCHEDULED_GAMES.schema
    games = [
        (g["game_date"], g["home_team_abbr"], g["away_team_abbr"], g["status"], g["source"], g["season"])
        for g in schedule.to_pylist()
    ]
    assert games == [
        (OPENING, "BOS", "NYK", "FINAL", "BOX_SCORE", "2021-22"),
        (date(2021, 10, 20), "BOS", "MIA", "FINAL", "BOX_SCORE", "2021-22"),
    ]
    assert schedule["game_id"].to_pylist() == [rows[0]["game_id"], rows[-1]["game_id"]]


@pytest.mark.parametrize("name", ["schedule.csv", "schedule.parquet"])
def test_own_columns_with_defaults(tmp_path: Path, name: str) -> None:
    table = read_schedule_files([write(tmp_path, GAMES, name)], NOW)
    assert table.schema == SCHEDULED_GAMES.schema
    games = table.to_pylist()
    assert [g["game_id"] for g in games] == ["202203020BOS", "202203020MIA", "0022100901"]
    assert [g["season"] for g in games] == ["2021-22"] * 3
    assert [g["home_team_abbr"] for g in games] == ["BOS", "MIA", "LAL"]
    assert [g["status"] for g in games] == ["SCHEDULED", "POSTPONED", "SCHEDULED"]
    assert [g["tip_time_utc"] for g in games] == [None, None, datetime(2022, 3, 4, 3, 30, tzinfo=UTC)]
    assert [g["reported_at"] for g in games] == [NOW, NOW, datetime(2022, 3, 1, 13, 0, tzinfo=UTC)]
    assert set(table["source"].to_pylist()) == {"FEED"}


@pytest.mark.parametrize("name", ["nba_api.csv", "nba_api.parquet"])
def test_nba_api_schedule_frame_is_accepted_unchanged(tmp_path: Path, name: str) -> None:
    table = read_schedule_files([write(tmp_path, NBA_API_FRAME, name)], NOW)
    games = [
        (g["game_id"], g["game_date"], g["home_team_abbr"], g["away_team_abbr"], g["status"])
        for g in table.to_pylist()
    ]
    assert games == [
        ("0022100001", date(2021, 10, 19), "MIL", "BKN", "FINAL"),
        ("0022100900", date(2022, 3, 2), "BOS", "NYK", "POSTPONED"),
        ("0022100901", date(2022, 3, 3), "LAL", "DEN", "SCHEDULED"),
    ]
    assert table["tip_time_utc"][2].as_py() == datetime(2022, 3, 3, 23, 30, tzinfo=UTC)
    assert set(table["season"].to_pylist()) == {"2021-22"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"home_team_abbr": "BOX"}, "home_team_abbr 'BOX' is not an NBA team code"),
        ({"away_team_abbr": "LAL"}, "home_team_abbr equals away_team_abbr"),
        ({"game_date": "2022-02-30"}, "game_date '2022-02-30' is not a date"),
        ({"season": "2021-2022"}, "season '2021-2022' is not a season like 2022-23"),
        ({"season": "2020-21"}, "game_date 2022-03-03 is outside season 2020-21"),
        ({"status": "LIVE"}, "status 'LIVE' is not one of SCHEDULED, POSTPONED, FINAL"),
        ({"tip_time_utc": "7:30 pm"}, "tip_time_utc '7:30 pm' is not a timestamp"),
        ({"home_team_abbr": "NYK", "game_date": "2022-03-02"}, "NYK has a second game on 2022-03-02"),
    ],
)
def test_a_bad_row_is_named_with_file_and_row(tmp_path: Path, change: dict[str, str], reason: str) -> None:
    rows = [dict(row) for row in GAMES]
    rows[2].update(change)
    path = write(tmp_path, rows)
    with pytest.raises(ScheduleError) as caught:
        read_schedule_files([path], NOW)
    assert str(caught.value).startswith(f"{path}: row 4: {reason}"), caught.value


def test_one_game_per_team_and_date_holds_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, GAMES, "a.csv")
    second = write(tmp_path, [{**GAMES[0], "home_team_abbr": "PHI"}], "b.csv")
    with pytest.raises(ScheduleError, match=r"b\.csv: row 2: NYK has a second game on 2022-03-02"):
        read_schedule_files([first, second], NOW)


def _schedule(settings: Settings) -> pd.DataFrame:
    return stored(settings, lambda warehouse: warehouse.read_schedule())


def test_import_derives_played_games_and_loads_coming_ones_once(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(settings, tmp_path)
    box = tmp_path / "box.parquet"
    to_table(game(0, "BOS", "NYK", ROSTER)).to_pandas().to_parquet(box)
    assert main(["import", "--config", config, "--box-scores", str(box)]) == 0
    played = _schedule(settings)
    assert list(zip(played.home_team_abbr, played.status, played.source, strict=True)) == [
        ("BOS", "FINAL", "BOX_SCORE")
    ]

    coming = write(
        tmp_path, [*GAMES, {"game_date": str(OPENING), "home_team_abbr": "BOS", "away_team_abbr": "NYK"}]
    )
    assert main(["import", "--config", config, "--schedule", str(coming)]) == 0
    first = _schedule(settings)
    assert len(first) == 4 and first.iloc[0].source == "BOX_SCORE"  # the played game's box-score row
    assert main(["import", "--config", config, "--schedule", str(coming)]) == 0
    assert "(0 new or changed)" in capsys.readouterr().out
    pd.testing.assert_frame_equal(_schedule(settings), first)  # reported_at included: nothing changed

    moved = write(tmp_path, [{**GAMES[0], "status": "POSTPONED"}], "moved.csv")
    assert main(["import", "--config", config, "--schedule", str(moved)]) == 0
    assert _schedule(settings).set_index("home_team_abbr").loc["BOS"].status.tolist() == [
        "FINAL",
        "POSTPONED",
    ]

    for rows, message in (
        ([GAMES[0], {**GAMES[1], "away_team_abbr": "XYZ"}], "bad.csv: row 3: away_team_abbr 'XYZ'"),
        (
            [GAMES[0], {"game_date": str(OPENING), "home_team_abbr": "MIA", "away_team_abbr": "NYK"}],
            f"NYK on {OPENING} played NYK@BOS (box scores), not NYK@MIA",
        ),
    ):
        before = _schedule(settings)
        bad = write(tmp_path, [{**rows[0], "status": "FINAL"}, rows[1]], "bad.csv")
        assert main(["import", "--config", config, "--schedule", str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
        pd.testing.assert_frame_equal(_schedule(settings), before)  # nothing written

"""Box-score import: real counts, idempotent re-import, and all-or-nothing rejection of bad rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from nba_ray.cli import main
from nba_ray.config import Settings
from nba_ray.data.importer import BoxScoreError, read_box_scores
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.conftest import real_season, requires_real_data


def _counts(settings: Settings) -> tuple[int, int]:
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        table = warehouse.read_box_scores().to_pandas()
    return len(table), int((table["minutes_played"] > 0).sum())


def _config(settings: Settings, tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"warehouse:\n  kind: duckdb\n  path: {settings.warehouse.path}\n")
    return str(path)


@requires_real_data
def test_real_season_import_is_exact_and_idempotent(settings: Settings, tmp_path: Path) -> None:
    config = _config(settings, tmp_path)
    source = real_season("2021-22")
    assert main(["import", "--config", config, "--box-scores", str(source)]) == 0
    assert _counts(settings) == (30_901, 25_707)
    assert main(["import", "--config", config, "--box-scores", str(source)]) == 0
    assert _counts(settings) == (30_901, 25_707)


@requires_real_data
def test_corrupted_row_rejects_the_file_and_writes_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(settings, tmp_path)
    assert main(["import", "--config", config, "--box-scores", str(real_season("2021-22"))]) == 0
    before = _counts(settings)

    frame = pd.read_parquet(real_season("2022-23"))
    played = frame.index[frame["minutes_played"] > 0]
    frame.loc[played[100], "fg_made"] = frame.loc[played[100], "fg_attempted"] + 3
    corrupted = tmp_path / "corrupted.parquet"
    frame.to_parquet(corrupted)

    assert main(["import", "--config", config, "--box-scores", str(corrupted)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0
    assert f"corrupted.parquet: row {played[100] + 1}: fg_made is greater than fg_attempted" in message
    assert _counts(settings) == before


def _write_csv(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "box.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = dict(
        season="2021-22",
        game_id="202110190LAL",
        game_date="2021-10-19",
        team_abbr="GSW",
        opponent_team_abbr="LAL",
        is_home=False,
        player_id="curryst01",
        player_name="Stephen Curry",
        starter=True,
        minutes_played=36.2,
        points=21,
        fg_made=5,
        fg_attempted=21,
        three_pt_made=2,
        three_pt_attempted=8,
        ft_made=9,
        ft_attempted=9,
        offensive_rebounds=1,
        defensive_rebounds=9,
        rebounds=10,
        assists=10,
        steals=3,
        blocks=0,
        turnovers=4,
        personal_fouls=1,
        plus_minus=4,
        dnp=False,
        dnp_reason="",
    )
    row.update(changes)
    return row


def test_csv_is_read_and_player_lookup_derived(tmp_path: Path) -> None:
    dnp = _row(
        player_id="x01",
        player_name="Nikola Jokić",
        minutes_played=0,
        dnp=True,
        dnp_reason="Did Not Play",
        **{c: "" for c in ("points", "fg_made", "plus_minus")},
    )
    table = read_box_scores([_write_csv(tmp_path, [_row(), dnp])])
    assert table.column("player_lookup").to_pylist() == ["stephencurry", "nikolajokic"]
    assert table.column("points").to_pylist() == [21, None]
    assert table.column("dnp_reason").to_pylist() == [None, "Did Not Play"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"minutes_played": -3}, "minutes_played is negative"),
        ({"points": 22}, "points do not equal"),
        ({"ft_made": 10}, "ft_made is greater than ft_attempted"),
        ({"game_date": "2021-02-30"}, "game_date '2021-02-30' is not a date"),
        ({"rebounds": 11}, "rebounds do not equal"),
        ({"steals": "lots"}, "steals 'lots' is not a number"),
        ({"is_home": "maybe"}, "is_home 'maybe' is not true/false"),
        ({"player_id": ""}, "player_id is empty"),
        ({"assists": 2.5}, "assists is not a whole number"),
    ],
)
def test_invalid_row_is_named_by_line(tmp_path: Path, changes: dict[str, object], reason: str) -> None:
    rows = [_row(player_id=f"p{i}", player_name=f"Player {i}") for i in range(3)]
    rows[1] = _row(**({"player_id": "p1", "player_name": "Player 1"} | changes))
    with pytest.raises(BoxScoreError, match=rf"box.csv: row 3: {reason}"):
        read_box_scores([_write_csv(tmp_path, rows)])


def test_duplicate_player_game_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(BoxScoreError, match="box.csv: row 3: a second row for game 202110190LAL"):
        read_box_scores([_write_csv(tmp_path, [_row(), _row()])])


def test_missing_column_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "thin.parquet"
    pq.write_table(read_box_scores([_write_csv(tmp_path, [_row()])]).drop(["points"]), path)
    with pytest.raises(BoxScoreError, match=r"thin.parquet: missing column\(s\) points"):
        read_box_scores([path])
    with pytest.raises(BoxScoreError, match="nope.csv: no such file"):
        read_box_scores([tmp_path / "nope.csv"])


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"team_abbr": "ZZZ"}, "team_abbr 'ZZZ' is not an NBA team code"),
        ({"opponent_team_abbr": "SEA"}, "opponent_team_abbr 'SEA' is not an NBA team code"),
        ({"opponent_team_abbr": "GSW"}, "team_abbr equals opponent_team_abbr"),
        ({"game_date": "2099-10-19"}, r"game_date is outside season 2021-22 \(2021-09-01 → 2022-08-31\)"),
        ({"season": "2021-23"}, "season '2021-23' is not a season like 2021-22"),
    ],
)
def test_team_codes_and_season_dates_are_checked(
    tmp_path: Path, changes: dict[str, object], reason: str
) -> None:
    rows = [_row(player_id=f"p{i}", player_name=f"Player {i}") for i in range(3)]
    rows[1] = _row(**({"player_id": "p1", "player_name": "Player 1"} | changes))
    with pytest.raises(BoxScoreError, match=rf"box.csv: row 3: {reason}"):
        read_box_scores([_write_csv(tmp_path, rows)])


def _game(**home_changes: object) -> list[dict[str, object]]:
    """One game, two rows a side: GSW away at LAL (rows 2-3), LAL at home (rows 4-5)."""
    away = [_row(player_id=f"g{i}", player_name=f"Guard {i}") for i in range(2)]
    home = [
        _row(
            player_id=f"l{i}",
            player_name=f"Laker {i}",
            team_abbr="LAL",
            opponent_team_abbr="GSW",
            is_home=True,
        )
        for i in range(2)
    ]
    home[1].update(home_changes)
    return away + home


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"opponent_team_abbr": "BOS"}, "row 5: team LAL has a second opponent in game 202110190LAL"),
        ({"is_home": False}, "row 5: team LAL is both home and away in game 202110190LAL"),
        ({"game_date": "2021-10-20"}, "row 5: game 202110190LAL has rows on another date"),
        ({"team_abbr": "BOS", "is_home": False}, "row 5: team BOS is a third team in game 202110190LAL"),
    ],
)
def test_a_game_is_two_teams_on_one_date(tmp_path: Path, changes: dict[str, object], reason: str) -> None:
    with pytest.raises(BoxScoreError, match=rf"box.csv: {reason}"):
        read_box_scores([_write_csv(tmp_path, _game(**changes))])


def test_opponent_must_be_the_other_team_and_one_team_is_home(tmp_path: Path) -> None:
    rows = _game()
    for row in rows[2:]:
        row["opponent_team_abbr"] = "BOS"
    with pytest.raises(BoxScoreError, match="row 4: opponent_team_abbr BOS is not the other team of game"):
        read_box_scores([_write_csv(tmp_path, rows)])
    rows = _game()
    for row in rows[2:]:
        row["is_home"] = False
    with pytest.raises(BoxScoreError, match="row 2: game 202110190LAL does not have exactly one home team"):
        read_box_scores([_write_csv(tmp_path, rows)])
    assert read_box_scores([_write_csv(tmp_path, _game())]).num_rows == 4

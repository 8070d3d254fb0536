"""`nba-ray import --lines`: snapshot files and the odds feeds' player-points rows are validated all or
nothing (a bad row named with its file and row), appended beside what is stored (never replacing it), and
the same file twice changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from nba_ray.cli import main
from nba_ray.config import Settings
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.test_availability import OPENING, ROSTER, game
from tests.test_features import to_table

COMING = OPENING + timedelta(days=10)  # no box scores yet: any known player may have a line
SNAPSHOTS = [
    {
        "game_date": str(OPENING),
        "player_name": "A1",
        "bookmaker": "DraftKings",
        "points_line": 9.5,
        "snapshot_ts": "2021-10-19T14:05:00Z",
        "over_price": -115,
        "under_price": -105,
    },
    {
        "game_date": str(OPENING),
        "player_name": "A2",
        "bookmaker": "fanduel",
        "points_line": 11.5,
        "snapshot_ts": "2021-10-19T10:05:00-04:00",
        "over_price": 1.91,  # decimal odds: stored as American (-110)
        "under_price": "",
    },
    {
        "game_date": str(COMING),
        "player_name": "A3",
        "bookmaker": "draftkings",
        "points_line": 7.0,
        "snapshot_ts": "2021-10-29T15:00:00+00:00",
        "over_price": 120,
        "under_price": -140,
    },
]


def _write(tmp_path: Path, rows: list[dict[str, object]], name: str) -> Path:
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _config(settings: Settings, tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"warehouse:\n  kind: duckdb\n  path: {settings.warehouse.path}\n")
    return str(path)


def _stored(settings: Settings) -> tuple[pd.DataFrame, dict[date, str]]:
    """The stored snapshots of both dates and their dates' `prop_lines` fingerprints."""
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        lines = warehouse.read_prop_lines([OPENING, COMING]).to_pandas()
        prints = warehouse.read_fingerprints(OPENING, COMING)
    return lines, {day: inputs["prop_lines"] for day, inputs in prints.items() if "prop_lines" in inputs}


@pytest.fixture
def config(settings: Settings, tmp_path: Path) -> str:
    config = _config(settings, tmp_path)
    box = tmp_path / "box.parquet"
    to_table(game(0, "BOS", "NYK", ROSTER)).to_pandas().to_parquet(box)
    assert main(["import", "--config", config, "--box-scores", str(box)]) == 0
    return config


def test_snapshots_are_appended_and_the_same_file_twice_changes_nothing(
    settings: Settings, config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _write(tmp_path, SNAPSHOTS, "lines.csv")
    assert main(["import", "--config", config, "--lines", str(first)]) == 0
    lines, fingerprints = _stored(settings)
    assert len(lines) == 3
    a2 = lines.set_index("player_lookup").loc["a2"]
    assert a2["bookmaker"] == "fanduel" and a2["over_price"] == -110 and pd.isna(a2["under_price"])
    assert a2["snapshot_ts"] == pd.Timestamp("2021-10-19T14:05:00Z")  # the offset, in UTC
    assert set(lines.set_index("player_lookup").loc[["a1", "a3"], "bookmaker"]) == {"draftkings"}
    assert set(fingerprints) == {OPENING, COMING}

    capsys.readouterr()
    assert main(["import", "--config", config, "--lines", str(first)]) == 0
    assert "imported 0 new line snapshots (3 read)" in capsys.readouterr().out
    again, again_prints = _stored(settings)
    assert again.equals(lines) and again_prints == fingerprints

    moved = [{**SNAPSHOTS[0], "points_line": 10.5, "snapshot_ts": "2021-10-19T20:00:00Z"}]
    assert main(["import", "--config", config, "--lines", str(_write(tmp_path, moved, "moved.csv"))]) == 0
    after, after_prints = _stored(settings)
    a1 = after[after["player_lookup"] == "a1"].sort_values("snapshot_ts")
    assert list(a1["points_line"]) == [9.5, 10.5]  # the morning's snapshot is kept
    assert after_prints[OPENING] != fingerprints[OPENING] and after_prints[COMING] == fingerprints[COMING]


def test_a_revised_snapshot_is_refused(
    settings: Settings, config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "--config", config, "--lines", str(_write(tmp_path, SNAPSHOTS, "a.csv"))]) == 0
    revised = _write(tmp_path, [{**SNAPSHOTS[0], "points_line": 8.5}], "revised.csv")
    capsys.readouterr()
    assert main(["import", "--config", config, "--lines", str(revised)]) == 2
    assert f"{revised}: row 2: a1 at draftkings" in capsys.readouterr().err
    assert len(_stored(settings)[0]) == 3


_TIP_OFF = {"commence_time": "2021-10-19T23:30:00Z", "market": "player_points"}
ODDS_FEED = [
    # One row per bookmaker and outcome, as the odds feeds' player-points market comes flattened.
    {**_TIP_OFF, "bookmaker": "draftkings", "last_update": "2021-10-19T21:00:00Z",
     "name": "Over", "description": "A1", "point": 12.5, "price": -120},
    {**_TIP_OFF, "bookmaker": "draftkings", "last_update": "2021-10-19T21:00:00Z",
     "name": "Under", "description": "A1", "point": 12.5, "price": 100},
    {**_TIP_OFF, "market": "player_rebounds", "bookmaker": "draftkings",
     "last_update": "2021-10-19T21:00:00Z", "name": "Over", "description": "A1", "point": 4.5, "price": -110},
    {**_TIP_OFF, "bookmaker": "betmgm", "last_update": "2021-10-19T21:02:00Z",
     "name": "Under", "description": "A4", "point": 8.5, "price": 1.87},
]  # fmt: skip


def test_the_odds_feeds_player_points_rows_pair_into_snapshots(
    settings: Settings, config: str, tmp_path: Path
) -> None:
    feed = _write(tmp_path, ODDS_FEED, "odds.csv")
    assert main(["import", "--config", config, "--lines", str(feed)]) == 0
    lines = _stored(settings)[0].set_index("player_lookup")
    assert list(lines.index) == ["a1", "a4"]  # the rebounds market is not read
    a1, a4 = lines.loc["a1"], lines.loc["a4"]
    assert (a1["game_date"], a1["points_line"], a1["over_price"], a1["under_price"]) == (
        OPENING,
        12.5,
        -120,
        100,
    )
    assert a1["snapshot_ts"] == pd.Timestamp("2021-10-19T21:00:00Z")
    assert a4["bookmaker"] == "betmgm" and pd.isna(a4["over_price"]) and a4["under_price"] == -115


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"player_name": "Nobody Known"}, "player nobodyknown is not in the box scores of 2021-10-19"),
        ({"points_line": 0}, "points_line is outside [0.5, 80]"),
        ({"points_line": 120}, "points_line is outside [0.5, 80]"),
        ({"over_price": 0}, "over_price is neither American"),
        ({"snapshot_ts": "2021-10-19T14:05:00"}, "snapshot_ts has no time zone"),
        ({"snapshot_ts": "2021-10-19"}, "snapshot_ts has no time zone"),
        ({"game_date": str(COMING), "player_name": "Nobody Known"}, "nobodyknown is not in the box scores"),
    ],
)
def test_a_bad_line_row_is_refused_with_file_and_row_and_nothing_is_written(
    settings: Settings,
    config: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, object],
    reason: str,
) -> None:
    good = _write(tmp_path, SNAPSHOTS, "good.csv")
    bad = _write(tmp_path, [*SNAPSHOTS[1:], {**SNAPSHOTS[0], **change}], "bad.csv")
    capsys.readouterr()
    assert main(["import", "--config", config, "--lines", str(good), str(bad)]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and f"{bad}: row 4: " in message and reason in message
    lines, fingerprints = _stored(settings)
    assert lines.empty and not fingerprints


def test_a_team_given_must_be_the_players_team_that_date(
    settings: Settings, config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = _write(tmp_path, [{**SNAPSHOTS[0], "team_abbr": "NYK"}], "team.csv")
    assert main(["import", "--config", config, "--lines", str(wrong)]) == 2
    assert (
        f"{wrong}: row 2: player a1 did not play for NYK on {date(2021, 10, 19)}" in capsys.readouterr().err
    )
    right = _write(tmp_path, [{**SNAPSHOTS[0], "team_abbr": "bos"}], "right.csv")
    assert main(["import", "--config", config, "--lines", str(right)]) == 0
    assert len(_stored(settings)[0]) == 1


def test_parquet_snapshots_need_zoned_timestamps(
    settings: Settings, config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.DataFrame(SNAPSHOTS[:1] + SNAPSHOTS[2:]).assign(
        snapshot_ts=lambda f: pd.to_datetime(f["snapshot_ts"], utc=True)
    )
    naive = tmp_path / "naive.parquet"
    frame.assign(snapshot_ts=frame["snapshot_ts"].dt.tz_localize(None)).to_parquet(naive)
    assert main(["import", "--config", config, "--lines", str(naive)]) == 2
    assert f"{naive}: row 1: snapshot_ts has no time zone" in capsys.readouterr().err
    zoned = tmp_path / "zoned.parquet"
    frame.to_parquet(zoned)
    assert main(["import", "--config", config, "--lines", str(zoned)]) == 0
    lines = _stored(settings)[0]
    assert list(lines["points_line"]) == [9.5, 7.0] and list(lines["over_price"]) == [-115, 120]

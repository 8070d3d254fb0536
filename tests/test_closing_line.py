"""The line a prediction uses is the one known at tip-off: the latest snapshot at or before the date's
tip (the closing line). A later snapshot filed before tip makes exactly its date stale; one filed after
tip reaches no prediction and changes no date's freshness."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.cli import main
from nba_ray.clock import TipClock
from nba_ray.config import Settings
from nba_ray.systems.base import ACTUAL_PROP
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.backfill_fixtures import League, backfill_dates, predictions

pytestmark = pytest.mark.usefixtures("local_ray")
DAY = date(2023, 1, 20)
TIP = TipClock().tip(DAY)  # 19:00 in New York: midnight UTC


def test_default_tip_is_seven_in_the_evening_in_the_leagues_zone() -> None:
    assert datetime(2023, 1, 21, 0, 0, tzinfo=UTC) == TIP
    assert TipClock().tip(date(2023, 4, 1)) == datetime(2023, 4, 1, 23, 0, tzinfo=UTC)  # daylight saving


def backfill(settings: Settings, **kwargs: object) -> BackfillReport:
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        return run_backfill(settings, warehouse, backfill_dates(), **kwargs)  # type: ignore[arg-type]


def import_lines(settings: Settings, tmp_path: Path, name: str, rows: list[tuple[str, str, float]]) -> None:
    """Snapshots of (player, time, line) at the top-priority book, imported from a file as a user would."""
    path = tmp_path / name
    pd.DataFrame(
        [
            {
                "game_date": str(DAY),
                "player_lookup": p,
                "bookmaker": "draftkings",
                "snapshot_ts": ts,
                "points_line": line,
            }
            for p, ts, line in rows
        ]
    ).to_csv(path, index=False)
    config = tmp_path / "config.yaml"
    config.write_text(f"warehouse:\n  path: {settings.warehouse.path}\n")
    assert main(["import", "--config", str(config), "--lines", str(path)]) == 0


def lines_used(settings: Settings, player: str) -> set[tuple[float, str]]:
    rows = predictions(settings)
    rows = rows[(rows["game_date"] == DAY) & (rows["player_lookup"] == player)]
    return set(zip(rows["line_value"], rows["line_source"], strict=True))


def test_predictions_use_the_last_snapshot_before_tip(league: League, tmp_path: Path) -> None:
    settings = league.copy_to(tmp_path / "w")
    assert backfill(settings).exit_code == 0
    player = sorted(predictions(settings).query("game_date == @DAY")["player_lookup"])[0]

    import_lines(
        settings,
        tmp_path,
        "evening.csv",
        [(player, "2023-01-20T18:30:00-05:00", 33.5), (player, "2023-01-20T20:30:00-05:00", 40.5)],
    )
    plan = backfill(settings, dry_run=True)
    assert plan.game_dates == [DAY]
    assert [s.describe() for s in plan.states if s.game_date == DAY] == ["stale: lines"]
    assert [o.game_date for o in backfill(settings).outcomes] == [DAY]
    assert lines_used(settings, player) == {(33.5, ACTUAL_PROP)}  # not the 20:30 line, after tip

    import_lines(settings, tmp_path, "late.csv", [(player, "2023-01-21T02:00:00Z", 45.5)])
    assert backfill(settings, dry_run=True).game_dates == []  # after tip: nothing to redo

    import_lines(settings, tmp_path, "closing.csv", [(player, "2023-01-20T23:45:00Z", 34.5)])
    plan = backfill(settings, dry_run=True)
    assert plan.game_dates == [DAY]
    assert [o.game_date for o in backfill(settings).outcomes] == [DAY]
    assert lines_used(settings, player) == {(34.5, ACTUAL_PROP)}

"""`nba-ray import`: box scores, schedules, lines and the feeds of availability and lineups, each file
validated before anything is written; what is derived from box scores (availability, starting lineups,
played games) is derived again from every stored game; the import says which dates' features it made
out of date."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.config import Settings
from nba_ray.data.availability import derive_availability, derive_lineups
from nba_ray.data.feeds import FeedError
from nba_ray.data.importer import read_box_scores
from nba_ray.data.league import season_bounds as league_season_bounds
from nba_ray.data.lines_feed import import_lines
from nba_ray.data.schedule import derive_schedule, read_schedule_files
from nba_ray.data.stored_feeds import (
    import_availability,
    import_lineups,
    import_schedule,
    known_players,
    read_feeds,
)
from nba_ray.warehouse import Warehouse, open_warehouse
from nba_ray.warehouse.schemas import PLAYER_GAME_SUMMARY, SOURCE_BOX_SCORE, conform


def store_box_scores(warehouse: Warehouse, table: pa.Table) -> int:
    """Store box scores, then re-derive `player_availability`, `starting_lineups` and the played games
    of `scheduled_games` from every box score the warehouse holds.

    All of it, not only the new games: a game changes who counts as a rotation player for the team's
    next games, and the derivation is quick next to reading the files.
    """
    rows = warehouse.replace_box_scores(table)
    derive_from_box_scores(warehouse)
    return rows


def derive_from_box_scores(warehouse: Warehouse) -> tuple[int, int, int]:
    """Re-derive `player_availability` and `starting_lineups` of every game date with box scores from
    those box scores; returns (game dates, availability rows, starters)."""
    every_game = warehouse.read_box_scores()
    dates = len(pc.unique(every_game["game_date"]))
    availability = warehouse.replace_availability(derive_availability(every_game), SOURCE_BOX_SCORE)
    starters = warehouse.replace_lineups(derive_lineups(every_game), SOURCE_BOX_SCORE)
    warehouse.replace_schedule(derive_schedule(every_game), SOURCE_BOX_SCORE)
    return dates, availability, starters


def import_box_scores(
    settings: Settings,
    paths: Sequence[Path],
    availability: Sequence[Path] = (),
    lineups: Sequence[Path] = (),
    new_players: Sequence[str] = (),
    schedule: Sequence[Path] = (),
    lines: Sequence[Path] = (),
) -> int:
    """Import box scores, availability and/or lineup feeds, schedules and/or lines; every file is
    validated before anything is written (lines after the box scores they are checked against).
    `new_players`: names a feed may list that no team has yet."""
    started = time.perf_counter()
    now = datetime.now(UTC)  # when the files were reported, unless they say
    table = read_box_scores(paths) if paths else None
    games = read_schedule_files(schedule, now) if schedule else None
    with open_warehouse(settings) as warehouse:
        known = known_players(warehouse, table, new_players) if availability or lineups else None
        availability_feed, lineups_feed = (
            read_feeds(availability, lineups, known, now) if known else (None, None)
        )
        for feed, files in ((availability_feed, availability), (lineups_feed, lineups)):
            if feed is not None:
                check_in_known_seasons(warehouse, feed, ", ".join(str(p) for p in files), games)
        if lines and table is None:
            read, new = import_lines(warehouse, lines)
            print(f"imported {new:,} new line snapshots ({read:,} read) from {len(lines)} file(s)")
        changed: list[date] = []
        if table is not None:
            changed += changed_box_score_dates(warehouse, table)
            rows = store_box_scores(warehouse, table)
            _report_box_scores(table, rows, len(paths), started)
        if games is not None:
            written = import_schedule(warehouse, games, ", ".join(str(p) for p in schedule))
            print(
                f"imported {games.num_rows:,} games ({written:,} new or changed) from {len(schedule)} file(s)"
            )
        if availability_feed is not None:
            label = ", ".join(str(p) for p in availability)
            written = import_availability(warehouse, availability_feed, label)
            changed += pc.unique(availability_feed["game_date"]).to_pylist()
            print(f"imported {written:,} availability rows from {len(availability)} file(s)")
        if lineups_feed is not None:
            written = import_lineups(warehouse, lineups_feed, ", ".join(str(p) for p in lineups))
            changed += pc.unique(lineups_feed["game_date"]).to_pylist()
            print(f"imported {written:,} starters from {len(lineups)} file(s)")
        if lines and table is not None:
            read, new = import_lines(warehouse, lines)
            print(f"imported {new:,} new line snapshots ({read:,} read) from {len(lines)} file(s)")
        built = [d for d in warehouse.feature_dates() if changed and d >= min(changed)]
        played = set(warehouse.played_dates(built[0], built[-1])) if built else set()
    outdated = [d for d in built if d in played]
    coming = [d for d in built if d not in played]
    if outdated:
        print(
            f"this import changed inputs of the features of {len(outdated):,} game date(s) "
            f"({outdated[0]} → {outdated[-1]}): rebuild them with "
            f"`nba-ray features --start {outdated[0]} --end {outdated[-1]}`, then `nba-ray catch-up`"
        )
    for slate in coming:  # built by `predict` from the feeds: it rebuilds them itself
        print(f"this import changed inputs of the coming slate of {slate}: `nba-ray predict --date {slate}`")
    return 0


def check_in_known_seasons(
    warehouse: Warehouse, feed: pa.Table, label: str, games: pa.Table | None = None
) -> None:
    """A feed is for games of a season the warehouse holds box scores of, or that a schedule names (the
    stored one, or `games`, imported in the same command): a date in no such season (1950, 2099, a
    typo'd year) is refused whole, naming the date and the seasons known."""
    played = [row["season"] for row in warehouse.season_bounds().to_pylist()]
    scheduled = pc.unique(warehouse.read_schedule(every_source=True)["season"]).to_pylist()
    named = pc.unique(games["season"]).to_pylist() if games is not None else []
    seasons = sorted(set(played) | set(scheduled) | set(named))
    spans = [league_season_bounds(season) for season in seasons]
    dates = sorted(pc.unique(feed["game_date"]).to_pylist())
    outside = [d for d in dates if not any(first <= d <= last for first, last in spans)]
    if outside:
        known = (
            f"the seasons of its box scores and schedule: {', '.join(seasons)}"
            if seasons
            else "it holds no box scores or schedule yet"
        )
        raise FeedError(f"{label}: {outside[0]} is in no season the warehouse knows ({known})")


def changed_box_score_dates(warehouse: Warehouse, table: pa.Table) -> list[date]:
    """The dates of the games whose stored box scores `table` changes (new games included). A game
    feeds the features of every later date, so each of these makes the features from it on stale."""
    incoming = conform(table, PLAYER_GAME_SUMMARY)
    dates = pc.unique(incoming["game_date"]).to_pylist()
    stored = warehouse.read_box_scores(min(dates), max(dates))
    keys = [("game_id", "ascending"), ("player_lookup", "ascending")]
    changed = []
    for game_id in pc.unique(incoming["game_id"]).to_pylist():
        new = incoming.filter(pc.equal(incoming["game_id"], game_id)).sort_by(keys)
        old = stored.filter(pc.equal(stored["game_id"], game_id)).sort_by(keys)
        if not new.equals(old):
            changed.append(new["game_date"][0].as_py())
    return changed


def _report_box_scores(table: pa.Table, rows: int, files: int, started: float) -> None:
    played = int(pc.sum(pc.greater(table["minutes_played"], 0)).as_py())
    games = len(pc.unique(table["game_id"]))
    print(
        f"imported {rows:,} rows ({played:,} played) of {games:,} games from {files} file(s) "
        f"in {time.perf_counter() - started:.1f}s"
    )

"""Storing validated feeds: the checks that need the warehouse (who the teams' players are, which
team-dates were played) and the writes. Everything is checked before anything is written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.data.feeds import FeedError, read_availability_feed, read_lineups_feed
from nba_ray.data.players import KnownPlayers, admitted_lookups
from nba_ray.warehouse import Warehouse
from nba_ray.warehouse.base import EARLIEST_DATE, LATEST_DATE
from nba_ray.warehouse.schemas import SOURCE_BOX_SCORE, SOURCE_FEED


def known_players(
    warehouse: Warehouse, incoming: pa.Table | None = None, new_players: Sequence[str] = ()
) -> KnownPlayers:
    """The players the warehouse knows (box scores, `incoming` box scores, stored feed rows), with the
    names an import admits as new."""
    stored = warehouse.read_box_scores()
    box = stored if incoming is None else pa.concat_tables([stored, incoming.cast(stored.schema)])
    feeds = [
        table.filter(pc.equal(table["source"], SOURCE_FEED))
        for table in (warehouse.read_availability(), warehouse.read_lineups())
    ]
    return KnownPlayers.of(box, feeds, admitted_lookups(new_players))


def read_feeds(
    availability: Sequence[Path], lineups: Sequence[Path], known: KnownPlayers
) -> tuple[pa.Table | None, pa.Table | None]:
    """Both feeds read and validated (None where no file is given)."""
    return (
        read_availability_feed(availability, known) if availability else None,
        read_lineups_feed(lineups, known) if lineups else None,
    )


def import_availability(warehouse: Warehouse, feed: pa.Table, label: str) -> int:
    """Store a validated injury-report feed; refused whole if any of its team-dates has box scores."""
    _check_not_played(feed, warehouse.read_availability, label, "availability")
    return warehouse.replace_availability(feed, SOURCE_FEED)


def import_lineups(warehouse: Warehouse, feed: pa.Table, label: str) -> int:
    """Store a validated lineups feed; refused whole if any of its team-dates has box scores."""
    _check_not_played(feed, warehouse.read_lineups, label, "lineup")
    return warehouse.replace_lineups(feed, SOURCE_FEED)


def _check_not_played(feed: pa.Table, read: Callable[[date, date], pa.Table], label: str, what: str) -> None:
    """None of the feed's team-dates was played: what the box scores say supersedes a feed."""
    dates = pc.unique(feed["game_date"]).to_pylist()
    stored = read(min(dates, default=EARLIEST_DATE), max(dates, default=LATEST_DATE)).to_pandas()
    played = stored.loc[stored["source"] == SOURCE_BOX_SCORE, ["game_date", "team_abbr"]].drop_duplicates()
    clash = feed.select(["game_date", "team_abbr"]).to_pandas().merge(played, on=["game_date", "team_abbr"])
    if not clash.empty:
        first = clash.iloc[0]
        raise FeedError(
            f"{label}: {first['team_abbr']} on {first['game_date']} already has box scores, whose "
            f"{what} supersedes a feed: give feeds for games not yet played"
        )

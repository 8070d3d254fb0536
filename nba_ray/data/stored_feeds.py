"""Storing validated feeds: the checks that need the warehouse (who the teams' players are, which
team-dates were played) and the writes. Everything is checked before anything is written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.data.feeds import FeedError, read_availability_feed, read_lineups_feed
from nba_ray.data.players import KnownPlayers, admitted_lookups
from nba_ray.data.schedule import ScheduleError
from nba_ray.warehouse import Warehouse
from nba_ray.warehouse.base import EARLIEST_DATE, LATEST_DATE
from nba_ray.warehouse.schemas import SCHEDULED_GAMES, SOURCE_BOX_SCORE, SOURCE_FEED


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
    availability: Sequence[Path], lineups: Sequence[Path], known: KnownPlayers, now: datetime
) -> tuple[pa.Table | None, pa.Table | None]:
    """Both feeds read and validated (None where no file is given), reported at `now` where a file
    does not say when."""
    return (
        read_availability_feed(availability, known, now) if availability else None,
        read_lineups_feed(lineups, known, now) if lineups else None,
    )


def import_availability(warehouse: Warehouse, feed: pa.Table, label: str) -> int:
    """Store a validated injury-report feed; refused whole if any of its team-dates has box scores."""
    _check_not_played(feed, warehouse.read_availability, label, "availability")
    news = _new_reports(feed, warehouse.read_availability, ("player_lookup", "status"))
    return warehouse.replace_availability(news, SOURCE_FEED)


def import_lineups(warehouse: Warehouse, feed: pa.Table, label: str) -> int:
    """Store a validated lineups feed; refused whole if any of its team-dates has box scores."""
    _check_not_played(feed, warehouse.read_lineups, label, "lineup")
    news = _new_reports(feed, warehouse.read_lineups, ("player_lookup",))
    return warehouse.replace_lineups(news, SOURCE_FEED)


def _new_reports(feed: pa.Table, read: Callable[[date, date], pa.Table], content: Sequence[str]) -> pa.Table:
    """The feed's reports (a team-date at a time) other than a repeat of the latest stored report of their
    team-date: a report that says the same again adds nothing, so re-importing a file changes nothing."""
    dates = pc.unique(feed["game_date"]).to_pylist()
    stored = read(min(dates), max(dates)).to_pandas()
    stored = stored[stored["source"] == SOURCE_FEED]
    said = {
        team_date: (group["reported_at"].max(), _said(group, content))
        for team_date, group in stored.groupby(["game_date", "team_abbr"], sort=False)
    }
    incoming = feed.to_pandas()
    repeat = pd.Series(False, index=incoming.index)
    for (day, team, at), group in incoming.groupby(["game_date", "team_abbr", "reported_at"], sort=False):
        before = said.get((day, team))
        if before is not None and before[0] <= at and before[1] == _said(group, content):
            repeat[group.index] = True
    return feed.filter(pa.array(~repeat.to_numpy()))


def _said(report: pd.DataFrame, content: Sequence[str]) -> frozenset[tuple[object, ...]]:
    return frozenset(report[list(content)].itertuples(index=False, name=None))


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


def import_schedule(warehouse: Warehouse, schedule: pa.Table, label: str) -> int:
    """Store validated schedule rows: refused whole if a team of one of its games played another game
    that date; a game whose stored row says the same (apart from when it was reported) is not
    written again, so re-importing a file changes nothing."""
    dates = pc.unique(schedule["game_date"]).to_pylist()
    stored = warehouse.read_schedule(min(dates), max(dates), every_source=True).to_pandas()
    _check_played_games(schedule.to_pandas(), stored[stored["source"] == SOURCE_BOX_SCORE], label)
    changed = _changed(schedule, stored[stored["source"] == SOURCE_FEED])
    return warehouse.replace_schedule(changed, SOURCE_FEED)


def _check_played_games(games: pd.DataFrame, played: pd.DataFrame, label: str) -> None:
    game = ["home_team_abbr", "away_team_abbr"]
    for side in game:
        mine = games.assign(team=games[side])
        for other in game:
            theirs = played.assign(team=played[other])[["game_date", "team", *game]]
            clash = mine.merge(theirs, on=["game_date", "team"], suffixes=("", "_played"))
            different = (clash["home_team_abbr"] != clash["home_team_abbr_played"]) | (
                clash["away_team_abbr"] != clash["away_team_abbr_played"]
            )
            if different.any():
                first = clash[different].iloc[0]
                raise ScheduleError(
                    f"{label}: {first['team']} on {first['game_date']} played "
                    f"{first['away_team_abbr_played']}@{first['home_team_abbr_played']} (box scores), "
                    f"not {first['away_team_abbr']}@{first['home_team_abbr']}"
                )


def _changed(incoming: pa.Table, stored: pd.DataFrame) -> pa.Table:
    """The incoming rows that differ from the stored row of their game in anything but `reported_at`."""
    compared = [name for name in SCHEDULED_GAMES.columns if name not in ("reported_at", "source")]
    new = incoming.to_pandas()
    if stored.empty:
        return incoming
    merged = new[compared].merge(stored[compared].drop_duplicates(), how="left", indicator=True)
    return incoming.filter(pa.array((merged["_merge"] == "left_only").to_numpy()))

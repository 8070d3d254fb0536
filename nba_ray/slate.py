"""A game day's coming games, read from the warehouse as a run at a given time would see them.

A coming game's feature rows use the information a backfill row of its date uses (every box score
before the date) plus the injury reports and lineups known at the run's time (`as_of`), so a morning
run and a replay of that morning build the same rows, and once the box scores are in the backfill builds
the same row again for every player of both (the feeds then give way to the box scores' own figures).
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.config import AvailabilitySettings
from nba_ray.data.expected import expected_players
from nba_ray.features.builder import build_features
from nba_ray.features.coming import coming_appearances
from nba_ray.warehouse import Warehouse
from nba_ray.warehouse.base import EARLIEST_DATE
from nba_ray.warehouse.schemas import GAME_POSTPONED, SOURCE_BOX_SCORE

__all__ = ["coming_features", "coming_games"]


def coming_games(warehouse: Warehouse, day: date) -> pa.Table:
    """The `scheduled_games` rows of `day` without box scores, not postponed."""
    games = warehouse.read_schedule(day, day)
    return games.filter(
        pc.and_(
            pc.not_equal(games["source"], SOURCE_BOX_SCORE), pc.not_equal(games["status"], GAME_POSTPONED)
        )
    )


def coming_features(
    warehouse: Warehouse, settings: AvailabilitySettings, games: pa.Table, day: date, as_of: datetime
) -> tuple[pa.Table, pa.Table]:
    """The feature rows of `games` (coming games of `day`) and their expected players, as of `as_of`."""
    box_scores = warehouse.read_box_scores(EARLIEST_DATE, day)
    availability = warehouse.read_availability(EARLIEST_DATE, day, as_of)
    lineups = warehouse.read_lineups(EARLIEST_DATE, day, as_of)
    team_games = [
        (day, team) for side in ("home_team_abbr", "away_team_abbr") for team in games[side].to_pylist()
    ]
    expected = expected_players(box_scores, team_games, availability, settings)
    coming = coming_appearances(box_scores, games, expected)
    history = box_scores.filter(pc.less(box_scores["game_date"], pa.scalar(day, pa.date32())))
    features = build_features(history, day, day, availability, lineups, coming)
    return features, expected

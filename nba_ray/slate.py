"""A game day's coming games, read from the warehouse as a run at a given time would see them, and
`nba-ray predict`: the slate predicted before tip-off and kept in the issued record.

A coming game's feature rows use the information a backfill row of its date uses (every box score
before the date) plus the injury reports and lineups known at the run's time (`as_of`), so a morning
run and a replay of that morning build the same rows, and once the box scores are in the backfill builds
the same row again for every player of both (the feeds then give way to the box scores' own figures).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.backfill.driver import run_backfill
from nba_ray.backfill.progress import Progress, summary
from nba_ray.clock import TipClock
from nba_ray.commands import CommandError, print_models
from nba_ray.config import AvailabilitySettings, Settings
from nba_ray.data.expected import expected_players
from nba_ray.features.builder import build_features
from nba_ray.features.coming import coming_appearances
from nba_ray.warehouse import Warehouse, open_warehouse
from nba_ray.warehouse.base import EARLIEST_DATE
from nba_ray.warehouse.issued import append_issued
from nba_ray.warehouse.schemas import GAME_POSTPONED, SOURCE_BOX_SCORE

__all__ = ["coming_features", "coming_games", "not_started", "predict"]


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


def not_started(games: pa.Table, tips: TipClock, as_of: datetime) -> pa.Table:
    """The games of `games` that tip off after `as_of` (at their `tip_time_utc`, else the default tip)."""
    default = [tips.tip(day) for day in games["game_date"].to_pylist()]
    tip = pc.coalesce(games["tip_time_utc"], pa.array(default, games.schema.field("tip_time_utc").type))
    return games.filter(pc.greater(tip, pa.scalar(as_of, tip.type)))


def predict(
    settings: Settings, day: date, as_of: datetime | None = None, *, show_progress: bool = True
) -> int:
    """Predict the games of `day` that have not tipped off at `as_of` (default now) from what is
    imported and known then: their feature rows are built and stored, the date is predicted through
    the backfill (its predictions written as a backfill writes them), and the predictions are
    appended, with `as_of`, to `issued_predictions`."""
    as_of = as_of or datetime.now(UTC)
    with open_warehouse(settings) as warehouse:
        games = coming_games(warehouse, day)
        if games.num_rows == 0:
            raise CommandError(
                f"no coming game on {day}: import its schedule (`nba-ray import --schedule FILE`)"
            )
        games = not_started(games, warehouse.tips, as_of)
        if games.num_rows == 0:
            raise CommandError(f"every game on {day} has tipped off by {as_of:%Y-%m-%d %H:%M} UTC")
        features, expected = coming_features(warehouse, settings.availability, games, day, as_of)
        warehouse.replace_features(features, day, day)
        warehouse.tips = warehouse.tips.at(as_of)  # no line filed after the run's time
        progress = Progress(enabled=show_progress)
        try:
            report = run_backfill(
                settings,
                warehouse,
                [day],
                resume=False,
                on_plan=progress.planned,
                on_date=progress.date_finished,
            )
        finally:
            progress.close()
        predictions = warehouse.read_predictions(day, day, mode=settings.systems.mode)
        ours = predictions.filter(pc.equal(predictions["run_id"], report.run_id))
        issued = append_issued(warehouse, ours, as_of)
    print_models(report.models)
    print(summary(report))
    left_out = int(pc.sum(pc.invert(expected["predicted"])).as_py() or 0)
    print(
        f"{day}: {games.num_rows} game(s) still to tip off at {as_of:%Y-%m-%d %H:%M} UTC, "
        f"{features.num_rows:,} players ({left_out:,} listed out or doubtful left out); "
        f"{issued:,} predictions issued as of then"
    )
    return report.exit_code

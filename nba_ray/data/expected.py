"""Who is expected to play a coming game: the player list of a scheduled team-game without box scores.

For team T on date D: every player who played (minutes > 0) for T in one of T's last `roster_games`
games before D and whose latest box score before D is for T (a traded player belongs to his latest
team), plus every player the injury report of T on D lists, each with the report's status where it
lists him (else none: nothing is known, and he counts as likely to play as an AVAILABLE player). Each
status has its probability of playing (`AvailabilitySettings.play_probability`), and the statuses of
`AvailabilitySettings.unpredicted` (OUT and DOUBTFUL) get no prediction.

Only box scores before D and the report given (the caller reads it as of its run's time) enter, so the
list a morning run computes is the one a replay of that morning computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.config import AvailabilitySettings
from nba_ray.warehouse.schemas import AVAILABILITY_AVAILABLE

__all__ = ["EXPECTED_PLAYERS_SCHEMA", "expected_players"]

EXPECTED_PLAYERS_SCHEMA = pa.schema(
    [
        pa.field("game_date", pa.date32()),
        pa.field("team_abbr", pa.string()),
        pa.field("player_lookup", pa.string()),
        pa.field("status", pa.string()),  # the report's, NULL where it does not list him
        pa.field("play_probability", pa.float64()),
        pa.field("predicted", pa.bool_()),
    ]
)


def expected_players(
    box_scores: pa.Table,
    team_games: Sequence[tuple[date, str]],
    reports: pa.Table,
    settings: AvailabilitySettings,
) -> pa.Table:
    """The expected players of each (date, team) in `team_games`, from the box scores before each date
    and the injury-report rows of `reports` (FEED rows of those team-dates; others are ignored)."""
    history = box_scores.select(["game_date", "team_abbr", "player_lookup", "minutes_played"]).to_pandas()
    history["game_date"] = pd.to_datetime(history["game_date"]).dt.date
    listed = reports.select(["game_date", "team_abbr", "player_lookup", "status", "source"]).to_pandas()
    listed = listed[listed["source"] == "FEED"]
    parts = [_team_game(history, listed, day, team, settings) for day, team in sorted(set(team_games))]
    if not parts:
        return EXPECTED_PLAYERS_SCHEMA.empty_table()
    frame = pd.concat(parts, ignore_index=True)
    return pa.Table.from_pandas(frame, schema=EXPECTED_PLAYERS_SCHEMA, preserve_index=False)


def _team_game(
    history: pd.DataFrame, listed: pd.DataFrame, day: date, team: str, settings: AvailabilitySettings
) -> pd.DataFrame:
    before = history[history["game_date"] < day]
    recent_dates = sorted(set(before.loc[before["team_abbr"] == team, "game_date"]))[-settings.roster_games :]
    recent = before[
        (before["team_abbr"] == team)
        & before["game_date"].isin(recent_dates)
        & (before["minutes_played"].fillna(0.0) > 0)
    ]
    latest = before.sort_values("game_date", kind="stable").drop_duplicates("player_lookup", keep="last")
    still_here = set(latest.loc[latest["team_abbr"] == team, "player_lookup"])
    roster = sorted(set(recent["player_lookup"]) & still_here)
    report = listed[(listed["game_date"] == day) & (listed["team_abbr"] == team)]
    status = dict(zip(report["player_lookup"], report["status"], strict=True))
    players = sorted(set(roster) | set(status))
    statuses = [status.get(player) for player in players]
    chance = settings.play_probability
    return pd.DataFrame(
        {
            "game_date": [day] * len(players),
            "team_abbr": [team] * len(players),
            "player_lookup": players,
            "status": statuses,
            "play_probability": np.array(
                [chance[s if s is not None else AVAILABILITY_AVAILABLE] for s in statuses], dtype=float
            ),
            "predicted": [s not in settings.unpredicted for s in statuses],
        }
    )

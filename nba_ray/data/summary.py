"""One-season summary figures of a box-score table: the yardstick for "looks like a real season".

The same figures are computed for real seasons and for the synthetic league (tests/test_synthetic.py
checks both against the same ranges), and `nba-ray status` shows them for what is in the warehouse.
"Played" means minutes_played > 0, as everywhere in the project (SYSTEMS.md §2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

SUMMARY_COLUMNS = (
    "season",
    "game_id",
    "game_date",
    "team_abbr",
    "player_id",
    "starter",
    "minutes_played",
    "points",
)


def season_summary(box_scores: pa.Table | pd.DataFrame) -> dict[str, float | int]:
    """Summary figures of ONE season's `player_game_summary` rows (an error if several seasons are given).

    Mixing seasons would blur exactly what the figures are for (per-season counts such as games and
    distinct players), so the caller splits by season.
    """
    frame = (
        box_scores.select(list(SUMMARY_COLUMNS)).to_pandas()
        if isinstance(box_scores, pa.Table)
        else box_scores
    )
    frame = frame.loc[:, list(SUMMARY_COLUMNS)]
    seasons = frame["season"].unique()
    if len(seasons) != 1:
        raise ValueError(
            f"season_summary: expected rows of one season, got {len(seasons)}: {sorted(seasons)}"
        )
    frame = frame.assign(game_date=pd.to_datetime(frame["game_date"]))
    played = frame[frame["minutes_played"] > 0]
    per_date = played.groupby("game_date")["player_id"].nunique()
    minutes = played["minutes_played"].to_numpy(dtype=float)
    starters = frame.groupby(["game_id", "team_abbr"])["starter"].sum()
    team_dates = frame[["team_abbr", "game_date"]].drop_duplicates().sort_values(["team_abbr", "game_date"])
    rest = team_dates.groupby("team_abbr")["game_date"].diff().dt.days
    return {
        "rows": len(frame),
        "played_rows": len(played),
        "dnp_share": float(1 - len(played) / len(frame)),
        "games": int(frame["game_id"].nunique()),
        "game_dates": int(frame["game_date"].nunique()),
        "players": int(frame["player_id"].nunique()),
        "players_played": int(played["player_id"].nunique()),
        "players_per_date_min": int(per_date.min()),
        "players_per_date_median": float(per_date.median()),
        "players_per_date_max": int(per_date.max()),
        "points_mean": float(played["points"].mean()),
        "points_max": int(played["points"].max()),
        "minutes_mean": float(minutes.mean()),
        "minutes_p10": float(np.quantile(minutes, 0.1)),
        "minutes_p50": float(np.quantile(minutes, 0.5)),
        "minutes_p90": float(np.quantile(minutes, 0.9)),
        "starters_per_team_game_min": int(starters.min()),
        "starters_per_team_game_max": int(starters.max()),
        "back_to_back_share": float((rest == 1).mean()),
    }

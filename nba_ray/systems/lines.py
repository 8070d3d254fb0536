"""The points line each player's prediction is compared with (SYSTEMS.md §4). Never a constant.

1. A real line (`ACTUAL_PROP`): among the player's prop-line snapshots (the warehouse returns those known at
   the game's tip-off), the highest-priority bookmaker that has one, and its latest snapshot. Bookmakers
   not in the priority list rank after it, alphabetically; names compare case-insensitively; snapshots with
   a missing `points_line` are ignored; equal latest timestamps resolve to the lowest line (deterministic).
2. Otherwise, with at least `min_history_games_for_estimate` games of history, an honest estimate
   (`ESTIMATED_AVG`): round(L5 × 2) / 2, half-up (17.25 → 17.5).
3. Otherwise no line (`NONE`): the systems then recommend `NO_LINE`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nba_ray.features.contract import require
from nba_ray.systems.base import ACTUAL_PROP, ESTIMATED_AVG, NO_LINE_SOURCE
from nba_ray.systems.rules import round_half_up
from nba_ray.systems.settings import LinesSettings

PROP_LINE_COLUMNS: tuple[str, ...] = ("player_lookup", "bookmaker", "snapshot_ts", "points_line")


def _players(features: pd.DataFrame) -> pd.Index:
    if features.index.name == "player_lookup":
        return features.index
    if "player_lookup" in features.columns:
        return pd.Index(features["player_lookup"], name="player_lookup")
    raise ValueError("features need a player_lookup index or column")


def bookmaker_rank(bookmakers: np.ndarray, priority: list[str]) -> np.ndarray:
    """Each bookmaker's rank (0 first): the priority list's order, then the others alphabetically."""
    book = np.char.lower(np.char.strip(bookmakers.astype(str)))
    order = [b.strip().lower() for b in priority]
    known = {name: i for i, name in enumerate(order)}
    others = {name: len(order) + i for i, name in enumerate(sorted(set(book) - set(known)))}
    return np.array([known.get(b, others.get(b)) for b in book], dtype=np.int64)


def actual_lines(players: pd.Index, prop_lines: pd.DataFrame, priority: list[str]) -> np.ndarray:
    """The chosen real line for each of `players` (NaN where none)."""
    missing = [c for c in PROP_LINE_COLUMNS if c not in prop_lines.columns]
    if missing:
        raise ValueError(f"prop_lines: missing column(s) {', '.join(missing)}")
    out = np.full(len(players), np.nan)
    line = prop_lines["points_line"].to_numpy(dtype=float, na_value=np.nan)
    player = players.get_indexer(prop_lines["player_lookup"])
    rows = np.flatnonzero((player >= 0) & np.isfinite(line))
    if len(rows) == 0:
        return out
    rank = bookmaker_rank(prop_lines["bookmaker"].to_numpy(dtype=str)[rows], priority)
    ts = pd.to_datetime(prop_lines["snapshot_ts"].iloc[rows], utc=True).to_numpy(dtype="datetime64[us]")
    ts = ts.astype(np.int64)
    # per player: best rank, then latest snapshot, then lowest line
    chosen = rows[np.lexsort((line[rows], -ts, rank, player[rows]))]
    first = np.r_[True, player[chosen][1:] != player[chosen][:-1]]
    out[player[chosen][first]] = line[chosen][first]
    return out


def resolve_lines(features: pd.DataFrame, prop_lines: pd.DataFrame, settings: LinesSettings) -> pd.DataFrame:
    """One row per player of `features` (index player_lookup): `line_value` (float or NaN), `line_source`."""
    players = _players(features)
    actual = actual_lines(players, prop_lines, settings.bookmaker_priority)
    l5 = features[require("points_avg_last_5")].to_numpy(dtype=float, na_value=np.nan)
    games = features["games_in_history"].to_numpy(dtype=float, na_value=0.0)
    estimate = round_half_up(l5 * 2.0, 0) / 2.0
    can_estimate = (games >= settings.min_history_games_for_estimate) & np.isfinite(estimate)
    has_actual = np.isfinite(actual)
    value = np.where(has_actual, actual, np.where(can_estimate, estimate, np.nan))
    source = np.where(has_actual, ACTUAL_PROP, np.where(can_estimate, ESTIMATED_AVG, NO_LINE_SOURCE)).astype(
        object
    )
    return pd.DataFrame(
        {"line_value": value, "line_source": source}, index=pd.Index(players, name="player_lookup")
    )

"""Calendar features: days_rest, back_to_back, games_in_last_7_days, fatigue_score (0–100, 100 = fresh).

They use the player's played games in any season: they are facts about the schedule, and the 10-day cap
makes an off-season gap harmless. Back-to-backs "in the 14 days before D" are consecutive-day pairs with
both games in [D−14, D−1].
"""

from __future__ import annotations

import numpy as np

from nba_ray.features.contract import FEATURE_DEFAULTS, QUALITY_DEFAULT, QUALITY_FULL
from nba_ray.features.inputs import Targets
from nba_ray.features.sequence import Columns, EventSequence, ratio

DAYS_REST_CAP = 10
FATIGUE_START = 100.0
FATIGUE_MIN, FATIGUE_MAX = 0.0, 100.0
FATIGUE_BACK_TO_BACK = -15.0
FATIGUE_RESTED_DAYS = 3
FATIGUE_RESTED_BONUS = 5.0
FATIGUE_WINDOW_DAYS = 7
FATIGUE_MANY_GAMES = 4
FATIGUE_MANY_GAMES_PENALTY = -10.0
FATIGUE_MANY_MINUTES = 240.0
FATIGUE_MANY_MINUTES_PENALTY = -10.0
FATIGUE_HIGH_MINUTES_PER_GAME = 35.0
FATIGUE_HIGH_MINUTES_PER_GAME_PENALTY = -8.0
FATIGUE_B2B_WINDOW_DAYS = 14
FATIGUE_ONE_B2B_PENALTY = -5.0
FATIGUE_MANY_B2B = 2
FATIGUE_MANY_B2B_PENALTY = -12.0
GAMES_WINDOW_DAYS = 7  # games_in_last_7_days counts played games in [D−7, D−1]


def days_rest_from(previous_exists: np.ndarray, days_since: np.ndarray) -> np.ndarray:
    """Days between the previous game and this one minus 1, capped at 10; 1 without a previous game."""
    return np.where(previous_exists, np.minimum(days_since - 1, DAYS_REST_CAP), FEATURE_DEFAULTS["days_rest"])


def last_event_day(seq: EventSequence, start: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether events [start, n) are non-empty, and the day of the last of them (0 when empty)."""
    has_previous = n > start
    if len(seq.day) == 0:
        return has_previous, np.zeros(len(n), dtype=np.int64)
    return has_previous, np.where(has_previous, seq.day[np.clip(n - 1, 0, len(seq.day) - 1)], 0)


def calendar_features(t: Targets, seq: EventSequence, values: Columns, quality: Columns) -> None:
    """days_rest, back_to_back, games_in_last_7_days and fatigue_score from the player's played games."""
    n, day = t.games_before, t.day
    has_previous, previous_day = last_event_day(seq, t.player_start, n)
    days_rest = days_rest_from(has_previous, day - previous_day)
    back_to_back = has_previous & (days_rest == 0)

    week_lo = seq.before(t.player, day - GAMES_WINDOW_DAYS)
    games_7 = n - week_lo
    fatigue_lo = seq.before(t.player, day - FATIGUE_WINDOW_DAYS)
    fatigue_games = n - fatigue_lo
    fatigue_minutes = seq.total("minutes", fatigue_lo, n)
    # Back-to-back pairs with both games in [D−14, D−1]: second nights after the window's first game.
    b2b_lo = np.minimum(seq.before(t.player, day - FATIGUE_B2B_WINDOW_DAYS) + 1, n)
    b2b_pairs = seq.total("second_night", b2b_lo, n)

    fatigue = np.full(len(n), FATIGUE_START)
    fatigue += np.where(
        back_to_back,
        FATIGUE_BACK_TO_BACK,
        np.where(days_rest >= FATIGUE_RESTED_DAYS, FATIGUE_RESTED_BONUS, 0.0),
    )
    fatigue += np.where(fatigue_games >= FATIGUE_MANY_GAMES, FATIGUE_MANY_GAMES_PENALTY, 0.0)
    fatigue += np.where(fatigue_minutes > FATIGUE_MANY_MINUTES, FATIGUE_MANY_MINUTES_PENALTY, 0.0)
    minutes_per_game = ratio(fatigue_minutes, fatigue_games, 0.0)
    fatigue += np.where(
        minutes_per_game > FATIGUE_HIGH_MINUTES_PER_GAME, FATIGUE_HIGH_MINUTES_PER_GAME_PENALTY, 0.0
    )
    fatigue += np.select(
        [b2b_pairs >= FATIGUE_MANY_B2B, b2b_pairs >= 1],
        [FATIGUE_MANY_B2B_PENALTY, FATIGUE_ONE_B2B_PENALTY],
        0.0,
    )
    fatigue = np.clip(fatigue, FATIGUE_MIN, FATIGUE_MAX)

    calendar_quality = np.where(has_previous, QUALITY_FULL, QUALITY_DEFAULT)
    values["days_rest"] = days_rest.astype(np.float64)
    values["back_to_back"] = back_to_back.astype(np.float64)
    values["games_in_last_7_days"] = games_7.astype(np.float64)
    values["fatigue_score"] = np.where(has_previous, fatigue, FEATURE_DEFAULTS["fatigue_score"])
    values["is_home"] = t.is_home.astype(np.float64)
    for name in ("days_rest", "back_to_back", "games_in_last_7_days", "fatigue_score"):
        quality[name] = calendar_quality
    quality["is_home"] = np.full(len(n), QUALITY_FULL)

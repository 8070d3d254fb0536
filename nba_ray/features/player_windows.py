"""Player windows: features 0–4, 8, 11, 12, 18–21, 24, the v2 player figures, expected points by zone.

"Played" = minutes_played > 0. Windows are "the last k played games since the window base". The base is
the first game of the current season when the player has ≥ 3 played games of the current season before
D, otherwise the first game of the player's previous season (start year one less). `games_in_history` =
played games since the base; season figures are over everything since the base.

Usage rate uses the minute-weighted form of the SYSTEMS formula over a window:
100 · Σ(FGA + 0.44·FTA + TOV) / Σ(minutes · team_plays / (team_minutes / 5)), a ratio of sums, so a
1-minute game cannot blow the average up the way a mean of per-game rates would. The stored
`usage_rate_last_10` is clipped to the contract range 0–100; `usage_spike_score` uses the raw rates.
Shooting ratios over the last 10 games are ratios of sums and take the contract default when the
denominator is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nba_ray.features.contract import FEATURE_DEFAULTS, QUALITY_DEFAULT, QUALITY_FULL, QUALITY_PARTIAL
from nba_ray.features.inputs import USAGE_SCALE, Targets
from nba_ray.features.sequence import Columns, EventSequence, ratio

MIN_CURRENT_SEASON_GAMES = 3  # below this the window base extends to the previous season
SHORT_WINDOW = 5
LONG_WINDOW = 10
USAGE_SHORT_WINDOW = 3
TREND_RECENT_GAMES = 3  # recent_trend: mean of games 1–3 vs games 4–5 (most recent first)

USAGE_SPIKE_WEIGHT = 0.3
USAGE_SPIKE_LIMIT = 3.0
TREND_STRONG, TREND_MILD = 5.0, 2.0  # point differences for ±2 / ±1
MINUTES_CHANGE_STRONG, MINUTES_CHANGE_MILD = 0.20, 0.10  # relative change for ±2 / ±1
# Player expected points by zone when the player has no window: the contract's points default split by
# its default scoring mix (share from threes, share from free throws, the rest from twos).
_DEFAULT_POINTS = FEATURE_DEFAULTS["points_avg_last_10"]
_DEFAULT_THREE_SHARE = FEATURE_DEFAULTS["pct_points_from_three_last_10"]
_DEFAULT_FT_SHARE = FEATURE_DEFAULTS["pct_points_from_ft_last_10"]
DEFAULT_EXP_POINTS = {
    "two": _DEFAULT_POINTS * (1.0 - _DEFAULT_THREE_SHARE - _DEFAULT_FT_SHARE),
    "three": _DEFAULT_POINTS * _DEFAULT_THREE_SHARE,
    "ft": _DEFAULT_POINTS * _DEFAULT_FT_SHARE,
}


@dataclass(frozen=True)
class PlayerWindows:
    """Window bounds in the played sequence: games [base, n) are the player's history for the row."""

    n: np.ndarray
    base: np.ndarray
    current_games: np.ndarray
    previous_games: np.ndarray  # previous-season games inside the history

    @property
    def history(self) -> np.ndarray:
        return self.n - self.base

    def last(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(lo, count) of the last k games of the history."""
        lo = np.maximum(self.base, self.n - k)
        return lo, self.n - lo

    def quality(self, k: int) -> np.ndarray:
        """100 with k current-season games, 75 with fewer or previous-season games, 40 with none."""
        count = self.last(k)[1]
        return np.where(
            self.current_games >= k, QUALITY_FULL, np.where(count > 0, QUALITY_PARTIAL, QUALITY_DEFAULT)
        )

    def data_source(self) -> np.ndarray:
        return np.select(
            [
                self.history == 0,
                (self.current_games > 0) & (self.previous_games > 0),
                self.current_games == 0,
            ],
            ["defaults", "mixed", "previous_season"],
            "current_season",
        )


def player_window_bounds(t: Targets, played: EventSequence) -> PlayerWindows:
    """The target rows' windows."""
    return windows_at(played, t.player, t.season, t.day)


def windows_at(
    played: EventSequence, player: np.ndarray, season: np.ndarray, day: np.ndarray
) -> PlayerWindows:
    """Windows of players on days: base = current season start with ≥ 3 current games, else the previous
    season's start (a player code < 0, one with no box score, has an empty history)."""
    known = player >= 0
    n = np.where(known, played.before(player, day), 0)
    current_start = np.where(known, played.season_start(player, season), 0)
    previous_start = np.where(known, played.season_start(player, season - 1), 0)
    current_games = n - current_start
    base = np.where(current_games >= MIN_CURRENT_SEASON_GAMES, current_start, previous_start)
    return PlayerWindows(n, base, current_games, current_start - base)


def player_window_features(w: PlayerWindows, seq: EventSequence, values: Columns, quality: Columns) -> None:
    """Features 0–4, 8, 11, 12, 18–21, 24 and the player's expected points by zone."""
    _scoring_and_minutes(w, seq, values, quality)
    _usage(w, seq, values, quality)
    _shooting_mix(w, seq, values, quality)
    _recent_player_figures(w, seq, values, quality)


def _scoring_and_minutes(w: PlayerWindows, seq: EventSequence, values: Columns, quality: Columns) -> None:
    """Points averages (L5, L10, season), points std L10, minutes L10, recent_trend, minutes_change."""
    n = w.n
    lo5, count5 = w.last(SHORT_WINDOW)
    lo10, count10 = w.last(LONG_WINDOW)
    q10 = w.quality(LONG_WINDOW)
    last10 = seq.window(lo10, n)
    points10, minutes10_total = last10.total("points"), last10.total("minutes")

    values["points_avg_last_5"] = ratio(seq.total("points", lo5, n), count5, default("points_avg_last_5"))
    quality["points_avg_last_5"] = w.quality(SHORT_WINDOW)
    values["points_avg_last_10"] = ratio(points10, count10, default("points_avg_last_10"))
    quality["points_avg_last_10"] = q10
    values["points_avg_season"] = ratio(
        seq.total("points", w.base, n), w.history, default("points_avg_season")
    )
    quality["points_avg_season"] = np.where(
        w.current_games >= MIN_CURRENT_SEASON_GAMES,
        QUALITY_FULL,
        np.where(w.history > 0, QUALITY_PARTIAL, QUALITY_DEFAULT),
    )
    values["points_std_last_10"] = _population_std(points10, last10.total("points_sq"), count10)
    quality["points_std_last_10"] = q10
    minutes10 = ratio(minutes10_total, count10, default("minutes_avg_last_10"))
    values["minutes_avg_last_10"] = minutes10
    quality["minutes_avg_last_10"] = q10

    values["recent_trend"], quality["recent_trend"] = _recent_trend(w, seq, count5)
    season_minutes = ratio(seq.total("minutes", w.base, n), w.history, np.nan)
    change = ratio(minutes10, season_minutes, 1.0) - 1.0
    values["minutes_change"] = np.where(count10 > 0, bucket(change, *_MINUTES_CHANGE), 0.0)
    quality["minutes_change"] = q10


def _recent_player_figures(w: PlayerWindows, seq: EventSequence, values: Columns, quality: Columns) -> None:
    """v2: minutes of the last played game, points over the last 3, points per minute since the base."""
    n = w.n
    lo1, count1 = w.last(1)
    lo3, count3 = w.last(USAGE_SHORT_WINDOW)
    values["minutes_last_game"] = ratio(seq.total("minutes", lo1, n), count1, default("minutes_last_game"))
    quality["minutes_last_game"] = w.quality(1)
    values["points_avg_last_3"] = ratio(seq.total("points", lo3, n), count3, default("points_avg_last_3"))
    quality["points_avg_last_3"] = w.quality(USAGE_SHORT_WINDOW)
    minutes = seq.total("minutes", w.base, n)
    values["points_per_minute_season"] = ratio(
        seq.total("points", w.base, n), minutes, default("points_per_minute_season")
    )
    quality["points_per_minute_season"] = np.where(
        minutes > 0,
        np.where(w.current_games >= MIN_CURRENT_SEASON_GAMES, QUALITY_FULL, QUALITY_PARTIAL),
        QUALITY_DEFAULT,
    )


def _usage(w: PlayerWindows, seq: EventSequence, values: Columns, quality: Columns) -> None:
    """usage_rate_last_10 (minute-weighted ratio of sums) and usage_spike_score (L3 vs L10)."""
    n = w.n
    lo10, _ = w.last(LONG_WINDOW)
    lo3, _ = w.last(USAGE_SHORT_WINDOW)
    q10 = w.quality(LONG_WINDOW)
    usage10 = USAGE_SCALE * ratio(
        seq.total("usage_plays", lo10, n), seq.total("usage_share", lo10, n), np.nan
    )
    usage3 = USAGE_SCALE * ratio(seq.total("usage_plays", lo3, n), seq.total("usage_share", lo3, n), np.nan)
    has_usage = np.isfinite(usage10) & np.isfinite(usage3)
    values["usage_rate_last_10"] = np.where(np.isfinite(usage10), usage10, default("usage_rate_last_10"))
    quality["usage_rate_last_10"] = np.where(np.isfinite(usage10), q10, QUALITY_DEFAULT)
    spike = np.clip((usage3 - usage10) * USAGE_SPIKE_WEIGHT, -USAGE_SPIKE_LIMIT, USAGE_SPIKE_LIMIT)
    values["usage_spike_score"] = np.where(has_usage, spike, default("usage_spike_score"))
    quality["usage_spike_score"] = np.where(has_usage, q10, QUALITY_DEFAULT)


_SHOOTING_RATIOS = {  # feature: (numerator, denominator) summed over the last 10 games
    "three_pt_rate_last_10": ("three_att", "fga"),
    "ft_rate_last_10": ("fta", "fga"),
    "pct_points_from_three_last_10": ("points_three", "points"),
    "pct_points_from_ft_last_10": ("ftm", "points"),
}
_EXP_POINTS_COLUMNS = {"two": "points_two", "three": "points_three", "ft": "ftm"}


def _shooting_mix(w: PlayerWindows, seq: EventSequence, values: Columns, quality: Columns) -> None:
    """Shot/point mix ratios over the last 10 games and expected points by zone (zone context)."""
    n = w.n
    lo10, count10 = w.last(LONG_WINDOW)
    q10 = w.quality(LONG_WINDOW)
    last10 = seq.window(lo10, n)
    for name, (numerator, denominator) in _SHOOTING_RATIOS.items():
        total = last10.total(denominator)
        values[name] = ratio(last10.total(numerator), total, default(name))
        quality[name] = np.where(total > 0, q10, QUALITY_DEFAULT)
    for zone, column in _EXP_POINTS_COLUMNS.items():
        values[f"player_exp_points_{zone}"] = ratio(last10.total(column), count10, DEFAULT_EXP_POINTS[zone])


def default(name: str) -> float:
    return FEATURE_DEFAULTS[name]


def _population_std(total: np.ndarray, total_sq: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Population std from sums; (count·Σx² − (Σx)²) is exact for integer points, so 0 stays exactly 0."""
    variance = ratio(count * total_sq - total**2, count.astype(np.float64) ** 2, np.nan)
    return np.where(count > 0, np.sqrt(np.maximum(variance, 0.0)), default("points_std_last_10"))


_TREND = (TREND_STRONG, TREND_MILD)
_MINUTES_CHANGE = (MINUTES_CHANGE_STRONG, MINUTES_CHANGE_MILD)


def bucket(x: np.ndarray, strong: float, mild: float) -> np.ndarray:
    """≥ strong → 2, ≥ mild → 1, ≤ −strong → −2, ≤ −mild → −1, else 0."""
    return np.select([x >= strong, x >= mild, x <= -strong, x <= -mild], [2.0, 1.0, -2.0, -1.0], 0.0)


def _recent_trend(w: PlayerWindows, seq: EventSequence, count5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the 3 latest games − mean of games 4–5, bucketed; defaulted without 5 games."""
    n = w.n
    full = count5 == SHORT_WINDOW
    mid = np.maximum(n - TREND_RECENT_GAMES, 0)
    lo = np.maximum(n - SHORT_WINDOW, 0)
    recent = seq.total("points", mid, n) / TREND_RECENT_GAMES
    older = seq.total("points", lo, mid) / (SHORT_WINDOW - TREND_RECENT_GAMES)
    trend = np.where(full, bucket(recent - older, *_TREND), default("recent_trend"))
    quality = np.where(full, w.quality(SHORT_WINDOW), QUALITY_DEFAULT)
    return trend, quality

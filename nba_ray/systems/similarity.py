"""`similarity_balanced_v1` (SYSTEMS.md §3.3): what the player scored in his own past games like this one.

Each past game (history batch) gets a 0–100 similarity score from four buckets, compared with the coming
game: opponent tier (elite / average / weak: opponent_def_rating_last_15 ≤ league p33 → elite, ≥ p67 → weak;
a past game uses its own row's rating and terciles), rest (days_rest 0 / 1 / 2 / 3+), venue, and form
(L5 − season ≥ +3 hot, ≤ −3 cold, else normal). Opponent tier and rest are ordinal: neighbours score the
"adjacent" points. A bucket that is unknown on either side (the past game had no feature row) counts as no
match: 0 for tier / rest / venue, the "else" 5 for form.

Choices where SYSTEMS.md is silent:
- history is restricted here to played games (minutes > 0, points known) strictly before the date, within
  `history_window_days`, the `history_max_games` most recent — the same window the warehouse applies;
- among games scoring ≥ `min_score`, the best `max_matches` are kept, ties broken by the more recent game;
- the weighted mean uses the similarity scores as weights; the std of matched points is the population std
  of the kept games' points (unweighted); avg_similarity_score is the plain mean of the kept scores.

Vectorised with numpy over the whole history frame: players are integer positions, groups are runs of a
lexsorted order, and per-player sums are `np.bincount` (which adds in array order, so a player's result does
not depend on which other players share the batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from nba_ray.systems.base import (
    INSUFFICIENT_SIMILAR_GAMES,
    PlayerBatch,
    PredictionSystem,
    SystemResult,
    day_number,
    make_skips,
)
from nba_ray.systems.rules import publish, tiered, venue_adjustment
from nba_ray.systems.settings import SimilarityConfidence, SimilaritySettings

# Bucket codes. Tier and rest are ordinal (adjacent = neighbours); NaN = unknown.
ELITE, AVERAGE, WEAK = 0.0, 1.0, 2.0
COLD, NORMAL, HOT = -1.0, 0.0, 1.0


def opponent_tier(def_rating: np.ndarray, p33: np.ndarray, p67: np.ndarray) -> np.ndarray:
    """Lower defensive rating = better defense: ≤ p33 elite, ≥ p67 weak, else average; NaN if unknown."""
    tier = np.where(def_rating <= p33, ELITE, np.where(def_rating >= p67, WEAK, AVERAGE))
    known = np.isfinite(def_rating) & np.isfinite(p33) & np.isfinite(p67)
    return np.where(known, tier, np.nan)


def rest_bucket(days_rest: np.ndarray, last_bucket: int) -> np.ndarray:
    """days_rest 0 (back-to-back), 1, 2, …, capped at `last_bucket` ("3+"); NaN if unknown."""
    return np.floor(np.clip(days_rest, 0.0, float(last_bucket)))


def form_bucket(points_avg_last_5: np.ndarray, points_avg_season: np.ndarray, threshold: float) -> np.ndarray:
    """L5 − season ≥ threshold hot, ≤ −threshold cold, else normal; NaN if unknown."""
    diff = np.round(points_avg_last_5 - points_avg_season, 6)
    form = np.where(diff >= threshold, HOT, np.where(diff <= -threshold, COLD, NORMAL))
    return np.where(np.isfinite(diff), form, np.nan)


def venue_bucket(is_home: np.ndarray) -> np.ndarray:
    values = np.asarray(is_home, dtype=float)
    return np.where(np.isfinite(values), (values >= 0.5).astype(float), np.nan)


def bucket_points(
    current: np.ndarray, past: np.ndarray, same: float, adjacent: float, other: float
) -> np.ndarray:
    """`same` when equal, `adjacent` when one bucket apart, `other` otherwise or when either is unknown."""
    distance = np.abs(current - past)
    return np.where(distance == 0, same, np.where(distance == 1, adjacent, other))


def similarity_confidence(
    count: np.ndarray, mean_score: np.ndarray, points_std: np.ndarray, rule: SimilarityConfidence
) -> np.ndarray:
    """Confidence on 0–100 from the number, mean similarity and spread of the matched games."""
    raw = rule.start + tiered(count, rule.matches) + tiered(mean_score, rule.mean_similarity)
    return np.clip(raw + tiered(points_std, rule.points_std), rule.low, rule.high)


def rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, … within each run of equal values of a grouped (sorted) array."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, groups[1:] != groups[:-1]]
    return np.arange(n) - np.maximum.accumulate(np.where(starts, np.arange(n), 0))


@dataclass(frozen=True)
class ScoredGames:
    """The usable past games of a batch's players (one entry per game), with their similarity scores."""

    player: np.ndarray  # position of the player in the batch
    day: np.ndarray  # days since 1970-01-01
    points: np.ndarray
    score: np.ndarray


class SimilarityBalanced(PredictionSystem[SimilaritySettings]):
    """Similarity-weighted mean of the best-matching past games' points, plus context adjustments."""

    system_id = "similarity_balanced_v1"
    settings_key = "similarity"

    def _recent_games(self, batch: PlayerBatch) -> np.ndarray:
        """Row numbers of the history to use, grouped by player, most recent first."""
        s = self.settings
        player, day = batch.history_positions, batch.history_days
        minutes = batch.history["minutes_played"].to_numpy(dtype=float, na_value=np.nan)
        points = batch.history["points"].to_numpy(dtype=float, na_value=np.nan)
        today = day_number(batch.game_date)
        usable = (player >= 0) & (minutes > 0) & np.isfinite(points)
        usable &= (day < today) & (day >= today - s.history_window_days)
        rows = np.flatnonzero(usable)
        rows = rows[np.lexsort((-day[rows], player[rows]))]
        return rows[rank_within(player[rows]) < s.history_max_games]

    def scored_games(self, batch: PlayerBatch) -> ScoredGames:
        """Every usable past game of the batch's players with its similarity score."""
        s, pts = self.settings, self.settings.scores
        rows = self._recent_games(batch)
        player = batch.history_positions[rows]
        history = batch.history.iloc[rows]

        def col(name: str) -> np.ndarray:
            return history[name].to_numpy(dtype=float, na_value=np.nan)

        def current(values: np.ndarray) -> np.ndarray:
            return values[player]

        cur_tier = opponent_tier(
            batch.feature("opponent_def_rating_last_15"),
            batch.context("league_def_rating_p33"),
            batch.context("league_def_rating_p67"),
        )
        cur_rest = rest_bucket(batch.feature("days_rest"), s.rest_last_bucket_days)
        cur_venue = venue_bucket(batch.feature("is_home"))
        cur_form = form_bucket(
            batch.feature("points_avg_last_5"), batch.feature("points_avg_season"), s.form_threshold
        )
        past_tier = opponent_tier(
            col("opponent_def_rating_last_15"), col("league_def_rating_p33"), col("league_def_rating_p67")
        )
        past_rest = rest_bucket(col("days_rest"), s.rest_last_bucket_days)
        past_form = form_bucket(col("points_avg_last_5"), col("points_avg_season"), s.form_threshold)
        score = (
            bucket_points(current(cur_tier), past_tier, pts.opponent_same, pts.opponent_adjacent, 0.0)
            + bucket_points(current(cur_rest), past_rest, pts.rest_same, pts.rest_adjacent, 0.0)
            + bucket_points(current(cur_venue), venue_bucket(col("is_home")), pts.venue_same, 0.0, 0.0)
            + bucket_points(current(cur_form), past_form, pts.form_same, pts.form_other, pts.form_other)
        )
        return ScoredGames(player, batch.history_days[rows], col("points"), score)

    def _predict(self, batch: PlayerBatch, components: Mapping[str, SystemResult]) -> SystemResult:
        s = self.settings
        games = self.scored_games(batch)
        kept = np.flatnonzero(np.round(games.score, 6) >= s.min_score)
        # best first: player, score desc, most recent, then fewer points (only identical rows tie after that)
        kept = kept[
            np.lexsort((games.points[kept], -games.day[kept], -games.score[kept], games.player[kept]))
        ]
        kept = kept[rank_within(games.player[kept]) < s.max_matches]
        player, score, points = games.player[kept], games.score[kept], games.points[kept]
        n = len(batch)
        count = np.bincount(player, minlength=n).astype(float)
        enough = count >= s.min_matches
        skips = make_skips(batch.players[~enough], INSUFFICIENT_SIMILAR_GAMES)
        if not enough.any():
            return SystemResult.skipped(skips)
        safe = np.where(enough, count, 1.0)
        score_sum = np.bincount(player, weights=score, minlength=n)
        mean_points = np.bincount(player, weights=points, minlength=n) / safe
        points_std = np.sqrt(
            np.bincount(player, weights=(points - mean_points[player]) ** 2, minlength=n) / safe
        )
        weighted_mean = np.bincount(player, weights=score * points, minlength=n) / np.where(
            enough, score_sum, 1.0
        )
        mean_score = score_sum / safe

        sub = batch.select(enough)
        raw = (
            weighted_mean[enough]
            + (sub.feature("fatigue_score") - s.fatigue_neutral) * s.fatigue_weight
            + s.shot_zone_weight * sub.feature("shot_zone_mismatch_score")
            + s.pace_weight * sub.feature("pace_score")
            + s.usage_spike_weight * sub.feature("usage_spike_score")
            + venue_adjustment(sub.feature("is_home"), s.venue)
        )
        confidence = similarity_confidence(
            count[enough], mean_score[enough], points_std[enough], s.confidence
        )
        components = {
            "similar_games_count": count[enough].astype(np.int64),
            "avg_similarity_score": np.round(mean_score[enough], 2),
        }
        return publish(sub, raw, confidence, 100.0, s.recommendation, components).with_skips(skips)

"""Rules shared by several systems: rounding, tiers, fatigue, venue, baseline confidence, recommendation.

Kept in one place so that no two systems carry their own copy of a rule (the first implementation had
the fatigue sign wrong in two systems at once).

Publication. Systems publish predicted points rounded to 1 dp and confidence rounded to 2 dp (0–1), and
decide OVER/UNDER/PASS on exactly those published numbers, so a stored row's recommendation can always be
re-derived from its own predicted_points, line_value and confidence_score. Rounding is half-up (ties go
away from zero, points are never negative), applied after snapping to 1e-6 so that binary floating-point
noise (0.45 stored as 0.44999…) never flips a tie or a threshold.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from nba_ray.systems.base import NO_LINE, OVER, PASS, POINTS_MAX, POINTS_MIN, UNDER, PlayerBatch, SystemResult
from nba_ray.systems.settings import (
    BaselineConfidence,
    FatigueAdjustment,
    RecommendationRule,
    Tiers,
    VenueAdjustment,
)

_SNAP_DECIMALS = 6


def round_half_up(values: np.ndarray | float, decimals: int) -> np.ndarray:
    """Round half-up to `decimals` (for non-negative values; negative ties round towards +inf)."""
    scale = 10.0**decimals
    scaled = np.round(np.asarray(values, dtype=float) * scale, _SNAP_DECIMALS)
    return np.floor(scaled + 0.5) / scale


def publish_points(raw: np.ndarray) -> np.ndarray:
    """Clamp to 0–60 and round to 1 dp: the number that is stored and compared with the line."""
    return round_half_up(np.clip(np.asarray(raw, dtype=float), POINTS_MIN, POINTS_MAX), 1)


def publish_confidence(native: np.ndarray, scale: float) -> np.ndarray:
    """Confidence on a system's native scale (1 or 100) → stored 0–1, rounded to 2 dp."""
    return round_half_up(np.clip(np.asarray(native, dtype=float) / scale, 0.0, 1.0), 2)


def tiered(values: np.ndarray, tiers: Tiers) -> np.ndarray:
    """Additive tiered rule: the first step whose condition holds gives its `add`; none → `otherwise`.
    NaN values match no step."""
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, tiers.otherwise, dtype=float)
    decided = np.zeros(values.shape, dtype=bool)
    for step in tiers.steps:
        if tiers.compare == "above":
            hit = values > step.at
        elif tiers.compare == "at_least":
            hit = values >= step.at
        else:
            hit = values < step.at
        hit &= ~decided
        out[hit] = step.add
        decided |= hit
    return out


def fatigue_adjustment(fatigue_score: np.ndarray, rule: FatigueAdjustment) -> np.ndarray:
    """Points for fatigue; 100 = FRESH, so only LOW scores cost points."""
    score = np.asarray(fatigue_score, dtype=float)
    return np.where(score < rule.tired_below, rule.tired, np.where(score < rule.weary_below, rule.weary, 0.0))


def venue_adjustment(is_home: np.ndarray, rule: VenueAdjustment) -> np.ndarray:
    """Points for home (is_home ≥ 0.5) / away."""
    return np.where(np.asarray(is_home, dtype=float) >= 0.5, rule.home, rule.away)


def baseline_confidence(batch: PlayerBatch, rule: BaselineConfidence) -> np.ndarray:
    """Confidence of §3.1/§3.2 on 0–1: start + std-L10 tiers + recent-games tiers, × quality factor
    (quality/100 floored at `quality_floor`, capped at 1; a missing quality counts as the floor), clamped."""
    raw = rule.start + tiered(batch.feature("points_std_last_10"), rule.points_std_last_10)
    raw = raw + tiered(batch.feature("games_in_last_7_days"), rule.games_in_last_7_days)
    factor = np.clip(np.nan_to_num(batch.quality / 100.0, nan=0.0), rule.quality_floor, 1.0)
    return np.clip(raw * factor, rule.low, rule.high)


def edge(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """prediction − line, snapped to 1e-6 (NaN when there is no line)."""
    return np.round(np.asarray(points, dtype=float) - np.asarray(line, dtype=float), _SNAP_DECIMALS)


def passes(
    points: np.ndarray, line: np.ndarray, confidence: np.ndarray, rule: RecommendationRule
) -> np.ndarray:
    """Where the rule says PASS (confidence or edge too small); `confidence` on the rule's scale."""
    conf = np.round(np.asarray(confidence, dtype=float), _SNAP_DECIMALS)
    size = np.abs(edge(points, line))
    low_conf = conf <= rule.min_confidence if rule.pass_at_min_confidence else conf < rule.min_confidence
    small = size <= rule.min_edge if rule.pass_at_min_edge else size < rule.min_edge
    return low_conf | small


def side(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """OVER when the prediction is above the line, else UNDER (a push is UNDER here; every rule PASSes it)."""
    return np.where(edge(points, line) > 0, OVER, UNDER).astype(object)


def recommend(
    points: np.ndarray, line: np.ndarray, confidence: np.ndarray, rule: RecommendationRule
) -> np.ndarray:
    """NO_LINE without a line; PASS when the rule says so; else OVER / UNDER by side of the line."""
    has_line = ~np.isnan(np.asarray(line, dtype=float))
    out = np.where(passes(points, line, confidence, rule), PASS, side(points, line)).astype(object)
    out[~has_line] = NO_LINE
    return out


def publish(
    batch: PlayerBatch,
    raw_points: np.ndarray,
    native_confidence: np.ndarray,
    scale: float,
    rule: RecommendationRule,
    components: Mapping[str, np.ndarray] | None = None,
) -> SystemResult:
    """The common ending of a system: publish points and confidence, then call them against the line.
    `native_confidence` is on the system's own scale (`scale` = 1 or 100), as is `rule.min_confidence`."""
    points = publish_points(raw_points)
    confidence = publish_confidence(native_confidence, scale)
    recommendation = recommend(points, batch.line_values, confidence * scale, rule)
    return SystemResult.build(batch.players, points, confidence, recommendation, components)


def blend_baseline(rows: pd.DataFrame) -> np.ndarray:
    """0.5·L5 + 0.3·L10 + 0.2·season — the baseline a model must beat (SYSTEMS.md §6)."""
    return (
        0.5 * rows["points_avg_last_5"].to_numpy(dtype=float)
        + 0.3 * rows["points_avg_last_10"].to_numpy(dtype=float)
        + 0.2 * rows["points_avg_season"].to_numpy(dtype=float)
    )

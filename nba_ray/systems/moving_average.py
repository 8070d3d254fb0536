"""`moving_average_baseline_v1` (SYSTEMS.md §3.1): a weighted blend of recent scoring plus context nudges."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nba_ray.systems.base import PlayerBatch, PredictionSystem, SystemResult
from nba_ray.systems.rules import baseline_confidence, fatigue_adjustment, publish, venue_adjustment
from nba_ray.systems.settings import MovingAverageSettings, VacatedAdjustment


def vacated_adjustment(batch: PlayerBatch, rule: VacatedAdjustment) -> np.ndarray:
    """Points taken over from teammates out tonight beyond the player's recent games (or given back)."""
    change = batch.feature("points_vacated_vs_recent")
    points = rule.weight * batch.feature("share_of_active_points") * change
    return np.where(np.abs(change) >= rule.threshold, np.clip(points, -rule.limit, rule.limit), 0.0)


class MovingAverageBaseline(PredictionSystem[MovingAverageSettings]):
    """0.5·L5 + 0.3·L10 + 0.2·season, + fatigue (low score = tired), + shot-zone, back-to-back, pace, venue
    and usage-spike adjustments, + the share of points vacated by teammates out tonight (v2).
    Confidence on 0–1 (`baseline_confidence`)."""

    system_id = "moving_average_baseline_v1"
    settings_key = "moving_average"

    def _predict(self, batch: PlayerBatch, components: Mapping[str, SystemResult]) -> SystemResult:
        s = self.settings
        raw = (
            s.weight_last_5 * batch.feature("points_avg_last_5")
            + s.weight_last_10 * batch.feature("points_avg_last_10")
            + s.weight_season * batch.feature("points_avg_season")
            + fatigue_adjustment(batch.feature("fatigue_score"), s.fatigue)
            + s.shot_zone_weight * batch.feature("shot_zone_mismatch_score")
            + s.back_to_back * (batch.feature("back_to_back") >= 0.5)
            + s.pace_weight * batch.feature("pace_score")
            + venue_adjustment(batch.feature("is_home"), s.venue)
            + s.usage_spike_weight * batch.feature("usage_spike_score")
            + vacated_adjustment(batch, s.vacated)
        )
        return publish(batch, raw, baseline_confidence(batch, s.confidence), 1.0, s.recommendation)

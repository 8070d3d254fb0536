"""`zone_matchup_v1` (SYSTEMS.md §3.2): season average adjusted by the opponent's defense in each zone.

For each zone z ∈ {two, three, ft}: adj_z = player's expected points from z × (opp_eff_z / league_eff_z − 1),
with opp_eff_z / league_eff_z = 1 + opp_delta_z / league_z (the stored deltas are opponent-allowed minus
league), clamped to ±`zone_clamp`. A WEAKER defense (positive delta) in a zone the player uses gives MORE
points — the first implementation had this sign backwards. A zone whose league figure is missing or zero,
or whose delta or expected points are missing, contributes 0 (no evidence either way).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nba_ray.features.contract import ZONES
from nba_ray.systems.base import PlayerBatch, PredictionSystem, SystemResult
from nba_ray.systems.rules import baseline_confidence, fatigue_adjustment, publish, venue_adjustment
from nba_ray.systems.settings import ZoneMatchupSettings

# Context column names per zone (SYSTEMS.md §2.2): (opponent delta, league figure, player's expected points).
ZONE_COLUMNS: dict[str, tuple[str, str, str]] = {
    "two": ("opp_two_pct_allowed_delta", "league_two_pct", "player_exp_points_two"),
    "three": ("opp_three_pct_allowed_delta", "league_three_pct", "player_exp_points_three"),
    "ft": ("opp_ft_rate_allowed_delta", "league_ft_rate", "player_exp_points_ft"),
}


def zone_adjustments(batch: PlayerBatch, clamp: float) -> np.ndarray:
    """Sum over zones of the clamped per-zone adjustment, one value per player."""
    total = np.zeros(len(batch))
    for zone in ZONES:
        delta_col, league_col, expected_col = ZONE_COLUMNS[zone]
        delta, league, expected = (
            batch.context(delta_col),
            batch.context(league_col),
            batch.context(expected_col),
        )
        usable = np.isfinite(delta) & np.isfinite(expected) & np.isfinite(league) & (league > 0)
        ratio_minus_one = np.divide(delta, league, out=np.zeros_like(delta), where=usable)
        total += np.clip(np.where(usable, expected * ratio_minus_one, 0.0), -clamp, clamp)
    return total


class ZoneMatchup(PredictionSystem[ZoneMatchupSettings]):
    """Season average + zone adjustments + pace + venue + fatigue; confidence and calls as §3.1."""

    system_id = "zone_matchup_v1"
    settings_key = "zone_matchup"

    def _predict(self, batch: PlayerBatch, components: Mapping[str, SystemResult]) -> SystemResult:
        s = self.settings
        raw = (
            batch.feature("points_avg_season")
            + zone_adjustments(batch, s.zone_clamp)
            + s.pace_weight * batch.feature("pace_score")
            + venue_adjustment(batch.feature("is_home"), s.venue)
            + fatigue_adjustment(batch.feature("fatigue_score"), s.fatigue)
        )
        return publish(batch, raw, baseline_confidence(batch, s.confidence), 1.0, s.recommendation)

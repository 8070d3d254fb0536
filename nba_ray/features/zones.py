"""Zones (SYSTEMS.md §2.2): shot_zone_mismatch_score (feature 6) and the zone-context columns.

Box scores give three scoring zones: two-pointers, three-pointers, free throws. The opponent's allowed
2P% / 3P% / FTA-per-FGA over its last 15 games minus the league's to date (0 when the opponent has no
game yet); the player's expected points by zone are means over the last 10 played games (set with the
player windows). shot_zone_mismatch_score = Σ_z exp_points_z · (opp_eff_z / league_eff_z − 1), clamp
−10…10 (+ = the opponent is weak where the player scores).
"""

from __future__ import annotations

import numpy as np

from nba_ray.features.sequence import Columns, ratio
from nba_ray.features.team_context import ZONE_RATIOS, League, Opponent

ZONE_MISMATCH_LIMIT = 10.0


def zone_features(league: League, opponent: Opponent, values: Columns, quality: Columns) -> None:
    """shot_zone_mismatch_score from the player's expected points by zone and the opponent's defense."""
    mismatch = sum(
        values[f"player_exp_points_{zone}"] * (ratio(opponent.zone_eff[zone], league.eff[zone], 1.0) - 1.0)
        for zone in ZONE_RATIOS
    )
    values["shot_zone_mismatch_score"] = np.clip(mismatch, -ZONE_MISMATCH_LIMIT, ZONE_MISMATCH_LIMIT)
    # The player's expected points come from the last-10 window, whose quality points_avg_last_10 carries.
    quality["shot_zone_mismatch_score"] = np.minimum(quality["points_avg_last_10"], opponent.window_quality)


def zone_context(league: League, opponent: Opponent, values: Columns) -> None:
    """SYSTEMS §2.2 columns (the player's expected points were set with the player windows)."""
    for zone, delta_name in (
        ("two", "opp_two_pct_allowed_delta"),
        ("three", "opp_three_pct_allowed_delta"),
        ("ft", "opp_ft_rate_allowed_delta"),
    ):
        values[delta_name] = opponent.zone_eff[zone] - league.eff[zone]
    values["league_two_pct"] = league.eff["two"]
    values["league_three_pct"] = league.eff["three"]
    values["league_ft_rate"] = league.eff["ft"]
    values["league_def_rating_p33"] = league.def_rating_p33
    values["league_def_rating_p67"] = league.def_rating_p67

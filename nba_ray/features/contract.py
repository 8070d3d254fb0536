"""The feature contract: the one list of features shared by the builder, the systems and the model.

Everything that reads or writes a feature goes through this module. A name that is not in the contract
is an error, never a silent default (the first implementation's XGBoost model saw real values for only
9 of its 25 inputs because it asked for names the store did not have).
"""

from __future__ import annotations

from dataclasses import dataclass

FEATURE_VERSION = "v1_box_25"


@dataclass(frozen=True)
class Feature:
    """One model input: its name, the value used when it cannot be computed, and its valid range."""

    name: str
    default: float
    low: float
    high: float


# Order matters: it is the model's input order (SYSTEMS.md §2). `inf` bounds mean "unbounded".
_INF = float("inf")
FEATURES: tuple[Feature, ...] = (
    Feature("points_avg_last_5", 10.0, 0.0, _INF),
    Feature("points_avg_last_10", 10.0, 0.0, _INF),
    Feature("points_avg_season", 10.0, 0.0, _INF),
    Feature("points_std_last_10", 5.0, 0.0, _INF),
    Feature("minutes_avg_last_10", 20.0, 0.0, 60.0),
    Feature("fatigue_score", 50.0, 0.0, 100.0),
    Feature("shot_zone_mismatch_score", 0.0, -10.0, 10.0),
    Feature("pace_score", 0.0, -3.0, 3.0),
    Feature("usage_spike_score", 0.0, -3.0, 3.0),
    Feature("rest_advantage", 0.0, -2.0, 2.0),
    Feature("games_in_last_7_days", 0.0, 0.0, 7.0),
    Feature("recent_trend", 0.0, -2.0, 2.0),
    Feature("minutes_change", 0.0, -2.0, 2.0),
    Feature("opponent_def_rating_last_15", 112.0, 0.0, _INF),
    Feature("opponent_pace_last_15", 100.0, 0.0, _INF),
    Feature("is_home", 0.0, 0.0, 1.0),
    Feature("days_rest", 1.0, 0.0, 10.0),
    Feature("back_to_back", 0.0, 0.0, 1.0),
    Feature("three_pt_rate_last_10", 0.35, 0.0, 1.0),
    Feature("ft_rate_last_10", 0.25, 0.0, _INF),
    Feature("pct_points_from_three_last_10", 0.30, 0.0, 1.0),
    Feature("pct_points_from_ft_last_10", 0.15, 0.0, 1.0),
    Feature("team_pace_last_10", 100.0, 0.0, _INF),
    Feature("team_off_rating_last_10", 112.0, 0.0, _INF),
    Feature("usage_rate_last_10", 20.0, 0.0, 100.0),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
FEATURE_DEFAULTS: dict[str, float] = {f.name: f.default for f in FEATURES}

# League-level fallbacks for team figures before any game of the first season has been played
# (opening night); later dates use the league mean to date instead. Quality marks them as defaulted.
DEFAULT_LEAGUE_PACE = FEATURE_DEFAULTS["team_pace_last_10"]
DEFAULT_LEAGUE_RATING = FEATURE_DEFAULTS["team_off_rating_last_10"]

# Zone context (SYSTEMS.md §2.2): stored beside the features, not part of the model vector.
ZONES: tuple[str, ...] = ("two", "three", "ft")
ZONE_CONTEXT_COLUMNS: tuple[str, ...] = (
    "opp_two_pct_allowed_delta",
    "opp_three_pct_allowed_delta",
    "opp_ft_rate_allowed_delta",
    "league_two_pct",
    "league_three_pct",
    "league_ft_rate",
    "player_exp_points_two",
    "player_exp_points_three",
    "player_exp_points_ft",
    # Terciles of team defensive ratings to date: the similarity system's opponent tiers.
    "league_def_rating_p33",
    "league_def_rating_p67",
)

# Quality (SYSTEMS.md §2.1).
QUALITY_FULL = 100.0
QUALITY_PARTIAL = 75.0
QUALITY_DEFAULT = 40.0
DATA_SOURCES: tuple[str, ...] = ("current_season", "mixed", "previous_season", "defaults")


class UnknownFeatureError(KeyError):
    """Raised when code asks for a feature that is not in the contract."""


def require(name: str) -> str:
    """Return `name` if it is a contract feature; raise otherwise (never fall back to a default)."""
    if name not in FEATURE_INDEX:
        raise UnknownFeatureError(
            f"feature {name!r} is not in the {FEATURE_VERSION} contract; known: {', '.join(FEATURE_NAMES)}"
        )
    return name

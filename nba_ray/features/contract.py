"""The feature contract: the one list of features shared by the builder, the systems and the model.

Everything that reads or writes a feature goes through this module. A name that is not in the contract
is an error, never a silent default (the first implementation's XGBoost model saw real values for only
9 of its 25 inputs because it asked for names the store did not have).

Versions. `v1_box_25` is the 25 box-score features of SYSTEMS.md §2. `v2_avail_40` keeps them, in the
same order and with the same values, and adds who is available tonight and three player figures.
`v3_lineups_43` (the current one, what the builder writes) adds who starts tonight. A model records the
version it was trained on; every version's features are a prefix of the current one, so a v1 model reads
its 25 columns from v3 rows and predicts exactly what it predicted before.

Modes. Availability is known in the morning (the injury report); starting lineups about 30 minutes
before tip-off. A `standard` model is trained on `v2_avail_40` and never sees lineups; a `pre_tip` model
is trained on `v3_lineups_43` (`MODE_CONTRACTS`). Rows keep both, so one feature store serves both modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args


@dataclass(frozen=True)
class Feature:
    """One model input: its name, the value used when it cannot be computed, and its valid range."""

    name: str
    default: float
    low: float
    high: float


@dataclass(frozen=True)
class Contract:
    """One version of the feature list: a model trained on it reads exactly these columns, in order."""

    version: str
    features: tuple[Feature, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)


# Order matters: it is the model's input order (SYSTEMS.md §2). `inf` bounds mean "unbounded".
_INF = float("inf")
_BOX_FEATURES: tuple[Feature, ...] = (
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

# v2: who plays tonight (features/availability.py). "Teammates" are the player's ACTIVE teammates tonight,
# each counted with his own recent form (means over his last 10 played games: points, usage plays =
# FGA + 0.44·FTA + TOV, minutes); "vacated" sums the same over teammates who are OUT. Shares are the
# player's own recent figure over the active players' total (his included). "_vs_recent" is tonight's
# value minus its mean over the player's own last 10 played games. Defaults are used only when neither
# tonight nor the player's recent games have availability (typical team figures, no change).
_AVAILABILITY_FEATURES: tuple[Feature, ...] = (
    Feature("teammates_points_last_10", 95.0, 0.0, _INF),
    Feature("teammates_usage_last_10", 85.0, 0.0, _INF),
    Feature("teammates_minutes_last_10", 210.0, 0.0, _INF),
    Feature("share_of_active_points", 0.1, 0.0, 1.0),
    Feature("share_of_active_usage", 0.1, 0.0, 1.0),
    Feature("points_vacated_last_10", 5.0, 0.0, _INF),
    Feature("teammates_points_vs_recent", 0.0, -_INF, _INF),
    Feature("teammates_usage_vs_recent", 0.0, -_INF, _INF),
    Feature("teammates_minutes_vs_recent", 0.0, -_INF, _INF),
    Feature("share_of_active_points_vs_recent", 0.0, -1.0, 1.0),
    Feature("share_of_active_usage_vs_recent", 0.0, -1.0, 1.0),
    Feature("points_vacated_vs_recent", 0.0, -_INF, _INF),
)
# v2: player figures (features/player_windows.py).
_PLAYER_FEATURES: tuple[Feature, ...] = (
    Feature("minutes_last_game", 20.0, 0.0, 70.0),
    Feature("points_avg_last_3", 10.0, 0.0, _INF),
    Feature("points_per_minute_season", 0.45, 0.0, _INF),
)

# v3: who starts tonight (features/lineups.py), from the announced lineup of the player's team. With no
# lineup for the team-date, no news: the player starts as often as he has lately.
_LINEUP_FEATURES: tuple[Feature, ...] = (
    Feature("starter_tonight", 0.5, 0.0, 1.0),
    Feature("starts_last_10", 0.5, 0.0, 1.0),
    Feature("starter_vs_recent", 0.0, -1.0, 1.0),
)

V1_BOX_25 = Contract("v1_box_25", _BOX_FEATURES)
V2_AVAIL_40 = Contract("v2_avail_40", _BOX_FEATURES + _AVAILABILITY_FEATURES + _PLAYER_FEATURES)
V3_LINEUPS_43 = Contract("v3_lineups_43", V2_AVAIL_40.features + _LINEUP_FEATURES)
CONTRACTS: dict[str, Contract] = {c.version: c for c in (V1_BOX_25, V2_AVAIL_40, V3_LINEUPS_43)}
CURRENT = V3_LINEUPS_43

# What a model of each mode is trained on (see the module docstring).
Mode = Literal["standard", "pre_tip"]
STANDARD: Mode = "standard"
PRE_TIP: Mode = "pre_tip"
MODES: tuple[Mode, ...] = get_args(Mode)
MODE_CONTRACTS: dict[str, Contract] = {STANDARD: V2_AVAIL_40, PRE_TIP: V3_LINEUPS_43}
# The features whose quality makes `feature_quality_score`: the standard ones, so a row's score (and the
# standard systems' confidence) never depends on whether a lineup was announced; the pre-tip model
# counts its lineup features on top (`systems/xgboost_system.py`).
QUALITY_FEATURE_NAMES: tuple[str, ...] = V2_AVAIL_40.names
LINEUP_FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in _LINEUP_FEATURES)

FEATURE_VERSION = CURRENT.version
FEATURES: tuple[Feature, ...] = CURRENT.features
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
# Where a row's availability (its lineup) came from: player_availability's (starting_lineups') source,
# or NONE when nothing was known.
SOURCE_NONE = "NONE"


class ModelContractError(ValueError):
    """A model that cannot be used with this build's feature contract (or is missing/corrupt).

    Defined with the contract, below both the models that raise it on load and the systems that refuse a
    model of the other mode, so a prediction system never imports the model package."""


class UnknownFeatureError(KeyError):
    """Raised when code asks for a feature that is not in the contract."""


def require(name: str) -> str:
    """Return `name` if it is a contract feature; raise otherwise (never fall back to a default)."""
    if name not in FEATURE_INDEX:
        raise UnknownFeatureError(
            f"feature {name!r} is not in the {FEATURE_VERSION} contract; known: {', '.join(FEATURE_NAMES)}"
        )
    return name

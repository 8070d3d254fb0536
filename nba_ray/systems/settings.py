"""Every threshold and weight of the prediction systems and lines (SYSTEMS.md §3–§4), typed and validated.

This module is the one source of truth for those numbers: the systems read them from here and contain
no literal thresholds. The project's configuration embeds `SystemsSettings` as its `systems` section, so
every value below can be overridden from YAML or the environment; the defaults are the spec's values.

Confidence scales follow SYSTEMS.md: `moving_average_baseline_v1` and `zone_matchup_v1` score confidence on
0–1, the other three on 0–100 (stored /100). Each system's settings are on that system's own scale, so a
number copied from SYSTEMS.md means the same thing here.

Tiered rules ("std L10 > 6 → −0.15, > 4 → −0.08") are `Tiers`: the first step whose condition holds adds
its `add`; when none holds, `otherwise` is added. List steps from the most extreme threshold inwards.
"""

from __future__ import annotations

from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nba_ray.clock import DEFAULT_TIP, LEAGUE_TIMEZONE
from nba_ray.features.contract import STANDARD, Mode
from nba_ray.systems.base import ENSEMBLE_COMPONENT_IDS, SYSTEM_IDS, check_known


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(_Frozen):
    """One step of a tiered rule: when the value compares to `at`, add `add`."""

    at: float
    add: float


class Tiers(_Frozen):
    """A tiered additive rule. `compare` says how a value is compared with each step's `at`:
    `above` (value > at), `at_least` (value ≥ at), `below` (value < at). First matching step wins."""

    compare: Literal["above", "at_least", "below"]
    steps: tuple[Step, ...]
    otherwise: float = 0.0


class FatigueAdjustment(_Frozen):
    """Points added for fatigue. `fatigue_score` is 0–100 with **100 = fresh** (the first implementation
    read it backwards): below `tired_below` → `tired`, else below `weary_below` → `weary`, else 0."""

    tired_below: float = 30.0
    tired: float = -2.5
    weary_below: float = 50.0
    weary: float = -1.0

    @model_validator(mode="after")
    def _ordered(self) -> FatigueAdjustment:
        if self.tired_below > self.weary_below:
            raise ValueError("fatigue: tired_below must be <= weary_below")
        return self


class VenueAdjustment(_Frozen):
    """Points added at home / away."""

    home: float
    away: float


class RecommendationRule(_Frozen):
    """OVER / UNDER / PASS against the line (NO_LINE when there is none).

    PASS when confidence is under `min_confidence` (or equal to it, if `pass_at_min_confidence`), or when
    |prediction − line| is under `min_edge` (or equal to it, if `pass_at_min_edge`); otherwise OVER when the
    prediction is above the line, else UNDER. `min_confidence` is on the owning system's confidence scale.
    """

    min_confidence: float = Field(ge=0.0)
    pass_at_min_confidence: bool
    min_edge: float = Field(gt=0.0)
    pass_at_min_edge: bool


def _baseline_std_tiers() -> Tiers:
    return Tiers(compare="above", steps=(Step(at=6.0, add=-0.15), Step(at=4.0, add=-0.08)))


def _baseline_recent_games_tiers() -> Tiers:
    return Tiers(compare="at_least", steps=(Step(at=3.0, add=0.10), Step(at=2.0, add=0.05)), otherwise=-0.10)


class BaselineConfidence(_Frozen):
    """Confidence of 3.1 and 3.2 (0–1): start, + std-L10 tiers, + games-in-last-7-days tiers,
    × max(quality/100, quality_floor), clamped to [low, high]."""

    start: float = 0.5
    points_std_last_10: Tiers = Field(default_factory=_baseline_std_tiers)
    games_in_last_7_days: Tiers = Field(default_factory=_baseline_recent_games_tiers)
    quality_floor: float = Field(default=0.6, ge=0.0, le=1.0)
    low: float = Field(default=0.2, ge=0.0, le=1.0)
    high: float = Field(default=0.8, ge=0.0, le=1.0)


def _baseline_rule() -> RecommendationRule:
    return RecommendationRule(
        min_confidence=0.45, pass_at_min_confidence=True, min_edge=2.0, pass_at_min_edge=True
    )


def _unit_scale(rule: RecommendationRule, system: str) -> RecommendationRule:
    """§3.1/§3.2 confidences are on 0–1: a threshold above 1 (e.g. 45 copied from a 0–100 system) would
    silently PASS everything."""
    if rule.min_confidence > 1.0:
        raise ValueError(
            f"{system}: recommendation.min_confidence is on the 0–1 scale, got {rule.min_confidence}"
        )
    return rule


class VacatedAdjustment(_Frozen):
    """Points a player takes over when teammates are out tonight (or back): when the points vacated by
    teammates who are out differ from his recent games' by at least `threshold` (either way), add
    `weight` × his share of the active players' points × that difference, clamped to ±`limit`.
    Chosen on real 2021-22 (not graded seasons): weight 0.5, threshold 4 cut the blend's MAE by 1.5 %."""

    threshold: float = Field(default=4.0, ge=0.0)
    weight: float = 0.5
    limit: float = Field(default=4.0, ge=0.0)


class MovingAverageSettings(_Frozen):
    """`moving_average_baseline_v1` (SYSTEMS.md §3.1)."""

    weight_last_5: float = 0.50
    weight_last_10: float = 0.30
    weight_season: float = 0.20
    fatigue: FatigueAdjustment = Field(default_factory=FatigueAdjustment)
    shot_zone_weight: float = 0.3
    back_to_back: float = -1.5
    pace_weight: float = 0.3
    venue: VenueAdjustment = Field(default_factory=lambda: VenueAdjustment(home=0.5, away=-0.5))
    usage_spike_weight: float = 0.4
    vacated: VacatedAdjustment = Field(default_factory=VacatedAdjustment)
    confidence: BaselineConfidence = Field(default_factory=BaselineConfidence)
    recommendation: RecommendationRule = Field(default_factory=_baseline_rule)

    @field_validator("recommendation")
    @classmethod
    def _scale(cls, rule: RecommendationRule) -> RecommendationRule:
        return _unit_scale(rule, "moving_average")


class ZoneMatchupSettings(_Frozen):
    """`zone_matchup_v1` (SYSTEMS.md §3.2). Confidence and recommendation as §3.1."""

    zone_clamp: float = Field(default=3.0, gt=0.0)
    pace_weight: float = 0.4
    venue: VenueAdjustment = Field(default_factory=lambda: VenueAdjustment(home=0.8, away=-0.8))
    fatigue: FatigueAdjustment = Field(default_factory=lambda: FatigueAdjustment(tired=-1.5, weary=-0.8))
    confidence: BaselineConfidence = Field(default_factory=BaselineConfidence)
    recommendation: RecommendationRule = Field(default_factory=_baseline_rule)

    @field_validator("recommendation")
    @classmethod
    def _scale(cls, rule: RecommendationRule) -> RecommendationRule:
        return _unit_scale(rule, "zone_matchup")


class SimilarityScores(_Frozen):
    """Points of a past game's similarity score (0–100) per matching bucket."""

    opponent_same: float = 40.0
    opponent_adjacent: float = 20.0
    rest_same: float = 30.0
    rest_adjacent: float = 15.0
    venue_same: float = 15.0
    form_same: float = 15.0
    form_other: float = 5.0


class SimilarityConfidence(_Frozen):
    """Confidence of 3.3 (0–100): start + matches tiers + mean-similarity tiers + matched-points-std tiers."""

    start: float = 50.0
    matches: Tiers = Field(
        default_factory=lambda: Tiers(
            compare="at_least",
            steps=(Step(at=15, add=20.0), Step(at=10, add=15.0), Step(at=7, add=10.0)),
            otherwise=-15.0,
        )
    )
    mean_similarity: Tiers = Field(
        default_factory=lambda: Tiers(
            compare="at_least", steps=(Step(at=85, add=20.0), Step(at=75, add=15.0), Step(at=70, add=10.0))
        )
    )
    points_std: Tiers = Field(
        default_factory=lambda: Tiers(
            compare="below",
            steps=(Step(at=4, add=15.0), Step(at=6, add=8.0), Step(at=8, add=3.0)),
            otherwise=-5.0,
        )
    )
    low: float = 0.0
    high: float = 100.0


class SimilaritySettings(_Frozen):
    """`similarity_balanced_v1` (SYSTEMS.md §3.3).

    `history_window_days` / `history_max_games` restate the history window (the warehouse already returns
    at most 30 played games in the 90 days before the date): the system applies them itself so that its
    output depends only on its settings, not on how many extra rows a loader happened to return.
    Rest buckets are days_rest 0 (back-to-back), 1, 2 and ≥ `rest_last_bucket_days` (3+).
    """

    history_window_days: int = Field(default=90, gt=0)
    history_max_games: int = Field(default=30, gt=0)
    form_threshold: float = Field(default=3.0, gt=0.0)
    rest_last_bucket_days: int = Field(default=3, ge=1)
    scores: SimilarityScores = Field(default_factory=SimilarityScores)
    min_score: float = 70.0
    max_matches: int = Field(default=20, gt=0)
    min_matches: int = Field(default=5, gt=0)
    fatigue_neutral: float = 70.0
    fatigue_weight: float = 0.015
    shot_zone_weight: float = 0.4
    pace_weight: float = 0.8
    usage_spike_weight: float = 0.8
    venue: VenueAdjustment = Field(default_factory=lambda: VenueAdjustment(home=0.8, away=-0.5))
    confidence: SimilarityConfidence = Field(default_factory=SimilarityConfidence)
    recommendation: RecommendationRule = Field(
        default_factory=lambda: RecommendationRule(
            min_confidence=65.0, pass_at_min_confidence=False, min_edge=2.0, pass_at_min_edge=False
        )
    )

    @model_validator(mode="after")
    def _matches_ordered(self) -> SimilaritySettings:
        if self.min_matches > self.max_matches:
            raise ValueError("similarity: min_matches must be <= max_matches")
        return self


class XGBoostConfidence(_Frozen):
    """Confidence of 3.4 (0–100): start + quality tiers + std-L10 tiers, clamped."""

    start: float = 70.0
    quality: Tiers = Field(
        default_factory=lambda: Tiers(
            compare="at_least",
            steps=(Step(at=90, add=10.0), Step(at=80, add=7.0), Step(at=70, add=5.0), Step(at=60, add=2.0)),
        )
    )
    points_std_last_10: Tiers = Field(
        default_factory=lambda: Tiers(
            compare="below",
            steps=(Step(at=4, add=10.0), Step(at=6, add=7.0), Step(at=8, add=5.0)),
            otherwise=2.0,
        )
    )
    low: float = 0.0
    high: float = 100.0


class XGBoostSettings(_Frozen):
    """`xgboost_v1` at prediction time (SYSTEMS.md §3.4). Training parameters are `XGBoostTrainParams`."""

    confidence: XGBoostConfidence = Field(default_factory=XGBoostConfidence)
    recommendation: RecommendationRule = Field(
        default_factory=lambda: RecommendationRule(
            min_confidence=60.0, pass_at_min_confidence=False, min_edge=1.5, pass_at_min_edge=False
        )
    )


class EnsembleSettings(_Frozen):
    """`ensemble_v1` (SYSTEMS.md §3.5). `all_present_bonus` applies when every one of `components`
    contributed; spread is the population std of the contributing predictions."""

    components: tuple[str, ...] = ENSEMBLE_COMPONENT_IDS
    min_components: int = Field(default=2, ge=1)
    spread: Tiers = Field(
        default_factory=lambda: Tiers(
            compare="below",
            steps=(Step(at=2, add=10.0), Step(at=3, add=5.0), Step(at=6, add=-5.0)),
            otherwise=-10.0,
        )
    )
    all_present_bonus: float = 5.0
    low: float = 20.0
    high: float = 95.0
    recommendation: RecommendationRule = Field(
        default_factory=lambda: RecommendationRule(
            min_confidence=65.0, pass_at_min_confidence=False, min_edge=1.5, pass_at_min_edge=False
        )
    )

    @field_validator("components")
    @classmethod
    def _known_components(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in ENSEMBLE_COMPONENT_IDS]
        if unknown:
            raise ValueError(
                f"ensemble: unknown component(s) {unknown}; known: {list(ENSEMBLE_COMPONENT_IDS)}"
            )
        if len(set(value)) != len(value):
            raise ValueError("ensemble: duplicate components")
        return value


class LinesSettings(_Frozen):
    """Lines (SYSTEMS.md §4). Bookmakers are compared case-insensitively; ones not listed rank after the
    list, alphabetically."""

    bookmaker_priority: list[str] = Field(default_factory=lambda: ["draftkings", "fanduel", "betmgm"])
    min_history_games_for_estimate: int = Field(default=3, ge=0)
    # A prediction uses the latest snapshot at or before its game's tip-off (the closing line). Until a
    # game has a scheduled tip time, every game of a date tips at `default_tip` in the league's zone.
    default_tip: time = DEFAULT_TIP
    league_timezone: str = LEAGUE_TIMEZONE

    @field_validator("league_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"league_timezone {value!r} is not an IANA time zone") from None
        return value


class XGBoostTrainParams(_Frozen):
    """Training of the `xgboost_v1` booster (see `nba_ray.models.training`). Defaults chosen walk-forward on
    real data (train 2019-20…2020-21, validate 2021-22), never on a season they are graded on.

    Each objective in `objectives` is trained on the early part of the range and scored on the held-out
    last `validation_fraction` of dates; the one with the lowest validation MAE whose |bias| ≤ `max_abs_bias`
    wins (lowest |bias| if none qualifies). The final booster is refit on every row with that objective and
    its early-stopped number of rounds. Deterministic for a given `nthread` (fixed `seed`, `hist`).
    """

    objectives: tuple[str, ...] = ("reg:squarederror", "reg:pseudohubererror")
    huber_slope: float = Field(default=6.0, gt=0.0)
    learning_rate: float = Field(default=0.05, gt=0.0, le=1.0)
    max_depth: int = Field(default=4, ge=1)
    min_child_weight: float = Field(default=50.0, ge=0.0)
    subsample: float = Field(default=0.8, gt=0.0, le=1.0)
    colsample_bytree: float = Field(default=0.8, gt=0.0, le=1.0)
    reg_lambda: float = Field(default=5.0, ge=0.0)
    max_rounds: int = Field(default=800, ge=1)
    early_stopping_rounds: int = Field(default=50, ge=1)
    validation_fraction: float = Field(default=0.15, gt=0.0, lt=1.0)
    max_abs_bias: float = Field(default=0.3, ge=0.0)
    seed: int = 20240601
    nthread: int = Field(default=2, ge=1)

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"reg:squarederror", "reg:pseudohubererror", "reg:absoluteerror"}
        bad = [v for v in value if v not in allowed]
        if not value or bad:
            raise ValueError(
                f"xgboost objectives must be a non-empty subset of {sorted(allowed)}; got {list(value)}"
            )
        return value


class SystemsSettings(_Frozen):
    """The `systems` section of the project's configuration.

    `mode`: what the systems may know. `standard`: availability (the injury report, known in the
    morning). `pre_tip`: the announced starting lineups too, about 30 minutes before tip-off;
    `xgboost_v1` then predicts with a model trained on the lineup features (`features/contract.py`),
    and the predictions are kept apart from the standard ones (`prediction_mode`)."""

    mode: Mode = STANDARD
    enabled: list[str] = Field(default_factory=lambda: list(SYSTEM_IDS))
    min_history_games: int = Field(default=3, ge=0)
    moving_average: MovingAverageSettings = Field(default_factory=MovingAverageSettings)
    zone_matchup: ZoneMatchupSettings = Field(default_factory=ZoneMatchupSettings)
    similarity: SimilaritySettings = Field(default_factory=SimilaritySettings)
    xgboost: XGBoostSettings = Field(default_factory=XGBoostSettings)
    ensemble: EnsembleSettings = Field(default_factory=EnsembleSettings)
    lines: LinesSettings = Field(default_factory=LinesSettings)

    @field_validator("enabled")
    @classmethod
    def _known_systems(cls, value: list[str]) -> list[str]:
        check_known(value)
        if len(set(value)) != len(value):
            raise ValueError(f"duplicate system id(s) in {value}")
        if not value:
            raise ValueError("at least one system must be enabled")
        return value

    @model_validator(mode="after")
    def _needs_are_enabled(self) -> SystemsSettings:
        from nba_ray.systems.graph import unmet_needs  # the graph imports the systems, which import this

        unmet = unmet_needs(self)
        if unmet:
            system, missing = next(iter(unmet.items()))
            raise ValueError(
                f"{system} needs {', '.join(missing)}: enable {'them' if len(missing) > 1 else 'it'}, "
                f"or leave {'them' if len(missing) > 1 else 'it'} out of {system}'s components"
            )
        return self

    @property
    def enabled_in_order(self) -> tuple[str, ...]:
        """Enabled ids in dependency order (the order they run in)."""
        return tuple(s for s in SYSTEM_IDS if s in self.enabled)

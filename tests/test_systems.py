"""The five systems on hand-built batches (expected values computed by hand in the comments), the shared
rules, the feature contract, the runner's output, and property tests over random valid batches."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nba_ray.features.contract import FEATURE_NAMES, FEATURES, UnknownFeatureError
from nba_ray.models.training import train_model
from nba_ray.systems import (
    SYSTEM_IDS,
    Ensemble,
    MovingAverageBaseline,
    PlayerBatch,
    PredictionSystem,
    Predictor,
    SimilarityBalanced,
    SystemResult,
    SystemsSettings,
    XGBoostSystem,
    ZoneMatchup,
)
from nba_ray.systems.base import make_skips
from nba_ray.systems.graph import SYSTEMS, run_set
from nba_ray.systems.rules import publish_points, recommend, round_half_up
from nba_ray.systems.settings import (
    EnsembleSettings,
    MovingAverageSettings,
    SimilaritySettings,
    XGBoostSettings,
    ZoneMatchupSettings,
)
from nba_ray.warehouse.schemas import PLAYER_PROP_PREDICTIONS
from tests.systems_fixtures import (
    CREATED_AT,
    GAME_DATE,
    TINY_PARAMS,
    feature_row,
    features_table,
    history_game,
    history_table,
    make_batch,
    prop_line,
    prop_lines_table,
    synthetic_training_rows,
    tiny_artifact,
)

MIN_HISTORY = 3


def one(result: SystemResult, player: str = "p") -> pd.Series:
    return result.predictions.loc[player]


def skip_reasons(result: SystemResult) -> dict[str, str]:
    return dict(zip(result.skips["player_lookup"], result.skips["reason"], strict=True))


def moving_average() -> MovingAverageBaseline:
    return MovingAverageBaseline(MovingAverageSettings(), min_history_games=MIN_HISTORY)


def zone_matchup() -> ZoneMatchup:
    return ZoneMatchup(ZoneMatchupSettings(), min_history_games=MIN_HISTORY)


def similarity() -> SimilarityBalanced:
    return SimilarityBalanced(SimilaritySettings(), min_history_games=MIN_HISTORY)


def ensemble() -> Ensemble:
    return Ensemble(EnsembleSettings(), min_history_games=MIN_HISTORY)


# --- moving_average_baseline_v1 ----------------------------------------------------------------------
def test_moving_average_tired_back_to_back_home() -> None:
    batch = make_batch(
        [
            feature_row(
                "p",
                points_avg_last_5=20.0,
                points_avg_last_10=18.0,
                points_avg_season=16.0,
                fatigue_score=25.0,
                shot_zone_mismatch_score=2.0,
                back_to_back=1.0,
                days_rest=0.0,
                pace_score=1.0,
                is_home=1.0,
                usage_spike_score=1.0,
                points_std_last_10=5.0,
                games_in_last_7_days=3.0,
                feature_quality_score=90.0,
            )
        ],
        lines={"p": 14.0},
    )
    row = one(moving_average().predict(batch, {}))
    # base = 0.5·20 + 0.3·18 + 0.2·16 = 10 + 5.4 + 3.2 = 18.6
    # fatigue 25 < 30 → −2.5; +0.3·2 = +0.6; back-to-back −1.5; +0.3·1 = +0.3; home +0.5; +0.4·1 = +0.4
    # 18.6 − 2.5 + 0.6 − 1.5 + 0.3 + 0.5 + 0.4 = 16.4
    assert row["predicted_points"] == pytest.approx(16.4)
    # confidence: 0.5; std 5 > 4 → −0.08; 3 games in 7 days → +0.10 → 0.52; × 90/100 = 0.468 → 0.47
    assert row["confidence"] == pytest.approx(0.47)
    # |16.4 − 14.0| = 2.4 > 2.0 and 0.47 > 0.45 → OVER
    assert row["recommendation"] == "OVER"


def test_moving_average_takes_over_points_vacated_by_teammates_out_tonight() -> None:
    common = {
        "points_avg_last_5": 20.0,
        "points_avg_last_10": 18.0,
        "points_avg_season": 16.0,
        "is_home": 0.0,
    }
    batch = make_batch(
        [
            feature_row("star_out", share_of_active_points=0.2, points_vacated_vs_recent=15.0, **common),
            feature_row("small", share_of_active_points=0.2, points_vacated_vs_recent=3.9, **common),
            feature_row("all_back", share_of_active_points=0.3, points_vacated_vs_recent=-20.0, **common),
        ]
    )
    result = moving_average().predict(batch, {})
    # 18.6 − 0.5 (away) = 18.1; + 0.5 · 0.2 · 15 = +1.5
    assert one(result, "star_out")["predicted_points"] == pytest.approx(19.6)
    # |3.9| < 4.0 (threshold): no adjustment
    assert one(result, "small")["predicted_points"] == pytest.approx(18.1)
    # 0.5 · 0.3 · −20 = −3.0 (teammates back: points given back)
    assert one(result, "all_back")["predicted_points"] == pytest.approx(15.1)


def test_moving_average_weary_away_and_fresh() -> None:
    common = {"points_avg_last_5": 20.0, "points_avg_last_10": 18.0, "points_avg_season": 16.0}
    batch = make_batch(
        [
            feature_row("weary", fatigue_score=45.0, is_home=0.0, **common),
            feature_row("fresh", fatigue_score=100.0, is_home=0.0, **common),
            feature_row("tired", fatigue_score=5.0, is_home=0.0, **common),
        ]
    )
    result = moving_average().predict(batch, {})
    # 18.6 − 1.0 (fatigue 45 < 50) − 0.5 (away) = 17.1
    assert one(result, "weary")["predicted_points"] == pytest.approx(17.1)
    # 100 = FRESH: no fatigue penalty → 18.6 − 0.5 = 18.1 (the first implementation read it backwards)
    assert one(result, "fresh")["predicted_points"] == pytest.approx(18.1)
    # 18.6 − 2.5 − 0.5 = 15.6
    assert one(result, "tired")["predicted_points"] == pytest.approx(15.6)
    # no line → NO_LINE
    assert set(result.predictions["recommendation"]) == {"NO_LINE"}


def test_moving_average_confidence_floor_and_clamps() -> None:
    batch = make_batch(
        [
            # 0.5 − 0.15 (std 7 > 6) − 0.10 (1 game in 7 days) = 0.25; × max(0.4, 0.6) = 0.15 → clamp 0.2
            feature_row("low", points_std_last_10=7.0, games_in_last_7_days=1.0, feature_quality_score=40.0),
            # 0.5 + 0.10 = 0.60, quality 100 → 0.60
            feature_row("mid", points_std_last_10=3.0, games_in_last_7_days=4.0),
            # 0.5 − 0.08 (std 4.5) + 0.05 (2 games) = 0.47
            feature_row("two", points_std_last_10=4.5, games_in_last_7_days=2.0),
        ]
    )
    result = moving_average().predict(batch, {})
    assert one(result, "low")["confidence"] == pytest.approx(0.20)
    assert one(result, "mid")["confidence"] == pytest.approx(0.60)
    assert one(result, "two")["confidence"] == pytest.approx(0.47)


def test_moving_average_confidence_exactly_at_threshold_passes() -> None:
    # 0.5 − 0.15 (std 7) + 0.10 (3 games) = 0.45 exactly (0.44999… in binary): "≤ 0.45 → PASS" must hold
    batch = make_batch(
        [
            feature_row(
                "p", points_avg_last_5=30, points_avg_last_10=30, points_avg_season=30, points_std_last_10=7
            )
        ],
        lines={"p": 10.0},
    )
    row = one(moving_average().predict(batch, {}))
    assert row["confidence"] == pytest.approx(0.45)
    assert row["recommendation"] == "PASS"


def test_prediction_is_clamped_to_60() -> None:
    batch = make_batch([feature_row("p", points_avg_last_5=90, points_avg_last_10=90, points_avg_season=90)])
    assert one(moving_average().predict(batch, {}))["predicted_points"] == 60.0


def test_insufficient_history_is_skipped_by_every_system() -> None:
    rows = [feature_row("new", games_in_history=2), feature_row("old", games_in_history=3)]
    history = [history_game("new", d, 10.0) for d in (1, 2)]
    history += [history_game("old", d, 10.0) for d in (1, 2, 3)]
    batch = make_batch(rows, history)
    xgb = XGBoostSystem(XGBoostSettings(), tiny_artifact(), min_history_games=MIN_HISTORY)
    for system in (moving_average(), zone_matchup(), similarity(), xgb):
        result = system.predict(batch, {})
        assert "new" not in result.predictions.index
        assert skip_reasons(result)["new"] == "insufficient_history"


# --- zone_matchup_v1 ------------------------------------------------------------------------------------
def zone_row(player: str, **overrides: float) -> dict:
    base = {
        "points_avg_season": 20.0,
        "player_exp_points_two": 10.0,
        "player_exp_points_three": 6.0,
        "player_exp_points_ft": 4.0,
        "league_two_pct": 0.50,
        "league_three_pct": 0.36,
        "league_ft_rate": 0.25,
        "pace_score": 1.0,
        "is_home": 1.0,
        "fatigue_score": 80.0,
    }
    base.update(overrides)
    return feature_row(player, **base)


def test_zone_matchup_strong_defense_in_main_zone_lowers_prediction() -> None:
    batch = make_batch(
        [
            zone_row("neutral"),
            # two: 10 × (−0.05 / 0.50) = −1.0 (opponent allows 5 points of 2P% LESS: a strong defense)
            # three: 6 × (+0.036 / 0.36) = +0.6 (a weaker 3-point defense)
            zone_row("strong_two", opp_two_pct_allowed_delta=-0.05, opp_three_pct_allowed_delta=0.036),
            # two: 10 × (+0.05 / 0.50) = +1.0: a weaker defense in the main zone → more points
            zone_row("weak_two", opp_two_pct_allowed_delta=0.05),
            # two: 10 × (0.5 / 0.5) = 10 → clamp 3; ft: 4 × (−0.25 / 0.25) = −4 → clamp −3
            zone_row("clamped", opp_two_pct_allowed_delta=0.5, opp_ft_rate_allowed_delta=-0.25),
        ],
        lines={"strong_two": 18.0},
    )
    result = zone_matchup().predict(batch, {})
    # neutral: season 20 + pace 0.4·1 + home 0.8 = 21.2
    assert one(result, "neutral")["predicted_points"] == pytest.approx(21.2)
    # 21.2 − 1.0 + 0.6 = 20.8
    assert one(result, "strong_two")["predicted_points"] == pytest.approx(20.8)
    assert one(result, "weak_two")["predicted_points"] == pytest.approx(22.2)
    assert one(result, "clamped")["predicted_points"] == pytest.approx(21.2)
    assert one(result, "strong_two")["predicted_points"] < one(result, "neutral")["predicted_points"]
    # confidence as §3.1: 0.5 + 0.10 (3 games in 7 days), std 3 → 0.60; |20.8 − 18| = 2.8 > 2 → OVER
    assert one(result, "strong_two")["confidence"] == pytest.approx(0.60)
    assert one(result, "strong_two")["recommendation"] == "OVER"


def test_zone_matchup_tired_player_lowered() -> None:
    batch = make_batch(
        [
            zone_row("fresh", fatigue_score=90.0, is_home=0.0),
            zone_row("weary", fatigue_score=40.0, is_home=0.0),
            zone_row("tired", fatigue_score=20.0, is_home=0.0),
        ]
    )
    result = zone_matchup().predict(batch, {})
    # away: 20 + 0.4 − 0.8 = 19.6; weary (40 < 50) −0.8 → 18.8; tired (20 < 30) −1.5 → 18.1
    assert one(result, "fresh")["predicted_points"] == pytest.approx(19.6)
    assert one(result, "weary")["predicted_points"] == pytest.approx(18.8)
    assert one(result, "tired")["predicted_points"] == pytest.approx(18.1)


def test_zone_matchup_missing_league_figure_contributes_nothing() -> None:
    batch = make_batch([zone_row("p", opp_two_pct_allowed_delta=0.05, league_two_pct=0.0)])
    assert one(zone_matchup().predict(batch, {}))["predicted_points"] == pytest.approx(21.2)


# --- similarity_balanced_v1 -----------------------------------------------------------------------------
def similarity_row(**overrides: float) -> dict:
    # coming game: opponent 108 ≤ p33 110 → elite; days_rest 1; home; form L5 − season = 20 − 18 = 2 → normal
    base = {
        "opponent_def_rating_last_15": 108.0,
        "days_rest": 1.0,
        "is_home": 1.0,
        "points_avg_last_5": 20.0,
        "points_avg_season": 18.0,
        "fatigue_score": 70.0,
    }
    base.update(overrides)
    return feature_row("p", **base)


def similarity_history(n_matching: int = 5) -> list[dict]:
    matching = [
        # elite, same rest, home, normal form → 40 + 30 + 15 + 15 = 100
        history_game("p", 2, 20.0, opponent_def_rating_last_15=105.0),
        # average tier (adjacent) → 20 + 30 + 15 + 15 = 80
        history_game("p", 4, 16.0, opponent_def_rating_last_15=112.0),
        # elite, rest 2 (adjacent) → 40 + 15 + 15 + 15 = 85
        history_game("p", 6, 24.0, opponent_def_rating_last_15=105.0, days_rest=2.0),
        # elite, away → 40 + 30 + 0 + 15 = 85
        history_game("p", 8, 18.0, opponent_def_rating_last_15=105.0, is_home=False),
        # elite, hot form (25 − 18 = 7) → 40 + 30 + 15 + 5 = 90
        history_game("p", 10, 22.0, opponent_def_rating_last_15=105.0, points_avg_last_5=25.0),
    ][:n_matching]
    not_matching = [
        # weak tier (116 ≥ 114) → 0 + 30 + 15 + 15 = 60 < 70
        history_game("p", 12, 30.0, opponent_def_rating_last_15=116.0),
        # no feature row for that game: tier 0, rest 0, venue 15, form "else" 5 → 20
        history_game(
            "p",
            14,
            40.0,
            days_rest=np.nan,
            opponent_def_rating_last_15=np.nan,
            points_avg_last_5=np.nan,
            points_avg_season=np.nan,
            league_def_rating_p33=np.nan,
            league_def_rating_p67=np.nan,
        ),
        # elite, same everything but on the game date itself: never used (walk-forward)
        history_game("p", 0, 50.0, opponent_def_rating_last_15=105.0),
        # elite, same everything but DNP-like (0 minutes): not a played game
        history_game("p", 16, 0.0, opponent_def_rating_last_15=105.0, minutes_played=0.0),
        # elite, same everything but 91 days ago: outside the 90-day window
        history_game("p", 91, 50.0, opponent_def_rating_last_15=105.0),
    ]
    return matching + not_matching


def test_similarity_scores_each_bucket() -> None:
    batch = make_batch([similarity_row()], similarity_history())
    games = similarity().scored_games(batch)
    # most recent first: 2, 4, … 14 days before; the game on the date, the 0-minute game and the game
    # 91 days before are not usable
    assert list(games.score[np.argsort(-games.day)]) == [100.0, 80.0, 85.0, 85.0, 90.0, 60.0, 20.0]


def test_similarity_five_matches_predicts_weighted_mean() -> None:
    batch = make_batch([similarity_row()], similarity_history(5), lines={"p": 18.0})
    row = one(similarity().predict(batch, {}))
    # weighted mean = (100·20 + 80·16 + 85·24 + 85·18 + 90·22) / (100 + 80 + 85 + 85 + 90)
    #               = (2000 + 1280 + 2040 + 1530 + 1980) / 440 = 8830 / 440 = 20.0682 (unweighted: 20.0)
    # + (70 − 70)·0.015 + 0 + 0 + 0 + home 0.8 = 20.868 → 20.9
    assert row["predicted_points"] == pytest.approx(20.9)
    assert row["similar_games_count"] == 5
    assert row["avg_similarity_score"] == pytest.approx(88.0)  # 440 / 5
    # confidence: 50 − 15 (5 matches < 7) + 20 (mean 88 ≥ 85) + 15 (std of 20,16,24,18,22 = √8 < 4) = 70
    assert row["confidence"] == pytest.approx(0.70)
    # 20.9 − 18.0 = 2.9 ≥ 2.0 and 70 ≥ 65 → OVER
    assert row["recommendation"] == "OVER"


def test_similarity_four_matches_is_skipped() -> None:
    batch = make_batch([similarity_row()], similarity_history(4), lines={"p": 18.0})
    result = similarity().predict(batch, {})
    assert result.predictions.empty
    assert skip_reasons(result) == {"p": "insufficient_similar_games"}


def test_similarity_context_adjustments() -> None:
    batch = make_batch(
        [similarity_row(fatigue_score=90, pace_score=1, usage_spike_score=-1, shot_zone_mismatch_score=2.5)],
        similarity_history(5),
    )
    # 20.0682 + (90 − 70)·0.015 = +0.3, + 0.8·1 − 0.8·1 + 0.4·2.5 = +1.0, home +0.8 → 22.168 → 22.2
    assert one(similarity().predict(batch, {}))["predicted_points"] == pytest.approx(22.2)


def test_similarity_keeps_best_twenty() -> None:
    # 25 identical perfect matches: only the best 20 (ties → most recent) are kept
    history = [history_game("p", d, float(d), opponent_def_rating_last_15=105.0) for d in range(1, 26)]
    row = one(similarity().predict(make_batch([similarity_row(is_home=0.0)], history), {}))
    # venue differs (away now, home then) → each scores 85; the 20 most recent: points 1..20, mean 10.5
    # away −0.5 → 10.0
    assert row["similar_games_count"] == 20
    assert row["avg_similarity_score"] == pytest.approx(85.0)
    assert row["predicted_points"] == pytest.approx(10.0)


# --- xgboost_v1 ----------------------------------------------------------------------------------------
def test_xgboost_predictions_follow_the_trained_relationship() -> None:
    system = XGBoostSystem(XGBoostSettings(), tiny_artifact(), min_history_games=MIN_HISTORY)
    batch = make_batch(
        [
            feature_row("low", points_avg_last_5=8.0, points_avg_last_10=8.0, points_avg_season=8.0),
            feature_row("high", points_avg_last_5=28.0, points_avg_last_10=28.0, points_avg_season=28.0),
            feature_row("away_b2b", points_avg_last_5=28.0, points_avg_last_10=28.0, points_avg_season=28.0,
                        is_home=0.0, back_to_back=1.0, days_rest=0.0),
        ]
    )  # fmt: skip
    result = system.predict(batch, {})
    low, high, away = (one(result, p)["predicted_points"] for p in ("low", "high", "away_b2b"))
    # truth: 0.7·L5 + 0.3·season + 3·home − 4·b2b → 8 + 3 = 11, 28 + 3 = 31, 28 − 4 = 24
    assert low < high
    assert away < high
    assert abs(high - 31.0) < 3.0 and abs(low - 11.0) < 3.0
    assert system.model_version == tiny_artifact().version_id


def test_xgboost_confidence_tiers() -> None:
    system = XGBoostSystem(XGBoostSettings(), tiny_artifact(), min_history_games=MIN_HISTORY)
    batch = make_batch(
        [
            feature_row("best", feature_quality_score=95.0, points_std_last_10=3.0),  # 70 + 10 + 10 = 90
            feature_row("mid", feature_quality_score=75.0, points_std_last_10=6.0),  # 70 + 5 + 5 (6 < 8) = 80
            feature_row("worst", feature_quality_score=40.0, points_std_last_10=9.0),  # 70 + 0 + 2 = 72
        ]
    )
    result = system.predict(batch, {})
    assert one(result, "best")["confidence"] == pytest.approx(0.90)
    assert one(result, "mid")["confidence"] == pytest.approx(0.80)
    assert one(result, "worst")["confidence"] == pytest.approx(0.72)


# --- ensemble_v1 ---------------------------------------------------------------------------------------
def component(player_values: Mapping[str, tuple[float, float, str]]) -> SystemResult:
    players = pd.Index(list(player_values), name="player_lookup")
    points, conf, rec = zip(*player_values.values(), strict=True)
    return SystemResult.build(players, np.array(points), np.array(conf), np.array(rec, dtype=object))


def test_ensemble_weighted_mean_majority_and_all_present_bonus() -> None:
    components = {
        "moving_average_baseline_v1": component({"p": (20.0, 0.50, "OVER")}),
        "zone_matchup_v1": component({"p": (22.0, 0.60, "OVER")}),
        "similarity_balanced_v1": component({"p": (18.0, 0.70, "PASS")}),
        "xgboost_v1": component({"p": (21.0, 0.80, "OVER")}),
    }
    row = one(ensemble().predict(make_batch([feature_row("p")], lines={"p": 18.5}), components))
    # (20·50 + 22·60 + 18·70 + 21·80) / (50 + 60 + 70 + 80) = 5260 / 260 = 20.2308 → 20.2
    assert row["predicted_points"] == pytest.approx(20.2)
    # mean confidence 65; spread: mean 20.25, squared deviations .0625 + 3.0625 + 5.0625 + .5625 = 8.75,
    # / 4 = 2.1875 (variance), std 1.479 < 2 → +10; all four present +5 → 80
    assert row["confidence"] == pytest.approx(0.80)
    assert row["prediction_variance"] == pytest.approx(2.1875, abs=1e-3)
    assert row["contributing_systems"] == (
        "moving_average_baseline_v1,zone_matchup_v1,similarity_balanced_v1,xgboost_v1"
    )
    # 80 ≥ 65, |20.2 − 18.5| = 1.7 ≥ 1.5 → the strict majority (3 of 4 OVER) → OVER
    assert row["recommendation"] == "OVER"


def test_ensemble_spread_bonuses_and_clamp() -> None:
    def run(a: float, b: float, conf: float) -> pd.Series:
        components = {
            "moving_average_baseline_v1": component({"p": (a, conf, "PASS")}),
            "xgboost_v1": component({"p": (b, conf, "PASS")}),
        }
        return one(ensemble().predict(make_batch([feature_row("p")]), components))

    # two components: std = |a − b| / 2; no all-present bonus
    # std 2.0 is not < 2 but < 3 → +5 → 65
    assert run(20.0, 24.0, 0.60)["confidence"] == pytest.approx(0.65)
    assert run(20.0, 23.0, 0.60)["confidence"] == pytest.approx(0.70)  # std 1.5 < 2 → +10
    assert run(20.0, 30.0, 0.60)["confidence"] == pytest.approx(0.55)  # std 5 < 6 → −5
    assert run(10.0, 30.0, 0.60)["confidence"] == pytest.approx(0.50)  # std 10 → −10
    assert run(10.0, 30.0, 0.10)["confidence"] == pytest.approx(0.20)  # 10 − 10 = 0 → clamp 20
    assert run(20.0, 20.0, 1.00)["confidence"] == pytest.approx(0.95)  # 100 + 10 = 110 → clamp 95


def test_ensemble_needs_two_components() -> None:
    components = {
        "moving_average_baseline_v1": component({"a": (20.0, 0.5, "PASS"), "b": (20.0, 0.5, "PASS")}),
        "zone_matchup_v1": component({"a": (22.0, 0.5, "PASS")}),
    }
    result = ensemble().predict(make_batch([feature_row("a"), feature_row("b")]), components)
    assert list(result.predictions.index) == ["a"]
    assert skip_reasons(result) == {"b": "insufficient_components"}
    assert ensemble().predict(make_batch([feature_row("a")]), {}).predictions.empty


def test_ensemble_recommendation_rules() -> None:
    def call(recs: tuple[str, str, str], points: float, conf: float, line: float | None) -> str:
        components = {
            sid: component({"p": (points, conf, rec)}) for sid, rec in zip(SYSTEM_IDS[:3], recs, strict=True)
        }
        lines = None if line is None else {"p": line}
        batch = make_batch([feature_row("p")], lines=lines)
        return one(ensemble().predict(batch, components))["recommendation"]

    # three equal predictions 20.0 at confidence c: mean c, spread 0 → +10, not all four → c + 10
    assert call(("UNDER", "UNDER", "OVER"), 20.0, 0.60, 18.0) == "UNDER"  # strict majority wins
    assert call(("PASS", "PASS", "OVER"), 20.0, 0.60, 18.0) == "PASS"  # a PASS majority passes
    assert call(("OVER", "UNDER", "PASS"), 20.0, 0.60, 18.0) == "OVER"  # no majority → side of line
    assert call(("OVER", "UNDER", "PASS"), 20.0, 0.60, 21.5) == "UNDER"  # edge exactly −1.5: not < 1.5
    assert call(("OVER", "OVER", "OVER"), 20.0, 0.60, 18.6) == "PASS"  # edge 1.4 < 1.5
    assert call(("OVER", "OVER", "OVER"), 20.0, 0.54, 18.0) == "PASS"  # 54 + 10 = 64 < 65
    assert call(("OVER", "OVER", "OVER"), 20.0, 0.55, 18.0) == "OVER"  # 55 + 10 = 65: not < 65
    assert call(("NO_LINE",) * 3, 20.0, 0.90, None) == "NO_LINE"


# --- shared rules ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings_rule", "scale", "points", "line", "confidence", "expected"),
    [
        # §3.1: |pred − line| ≤ 2.0 or confidence ≤ 0.45 → PASS
        (MovingAverageSettings().recommendation, 1, 22.0, 20.0, 0.60, "PASS"),  # exactly 2.0
        (MovingAverageSettings().recommendation, 1, 22.1, 20.0, 0.60, "OVER"),
        (MovingAverageSettings().recommendation, 1, 17.9, 20.0, 0.60, "UNDER"),
        (MovingAverageSettings().recommendation, 1, 25.0, 20.0, 0.45, "PASS"),  # exactly 0.45
        (MovingAverageSettings().recommendation, 1, 25.0, 20.0, 0.46, "OVER"),
        (MovingAverageSettings().recommendation, 1, 20.0, 20.0, 0.80, "PASS"),  # push
        (MovingAverageSettings().recommendation, 1, 20.0, np.nan, 0.80, "NO_LINE"),
        # §3.3: confidence < 65 → PASS; ≥ +2.0 OVER; ≤ −2.0 UNDER
        (SimilaritySettings().recommendation, 100, 22.0, 20.0, 65, "OVER"),  # both exactly at threshold
        (SimilaritySettings().recommendation, 100, 18.0, 20.0, 65, "UNDER"),
        (SimilaritySettings().recommendation, 100, 21.9, 20.0, 90, "PASS"),
        (SimilaritySettings().recommendation, 100, 22.0, 20.0, 64, "PASS"),
        # §3.4: confidence < 60 → PASS; ±1.5
        (XGBoostSettings().recommendation, 100, 21.5, 20.0, 60, "OVER"),
        (XGBoostSettings().recommendation, 100, 18.5, 20.0, 60, "UNDER"),
        (XGBoostSettings().recommendation, 100, 21.4, 20.0, 90, "PASS"),
        (XGBoostSettings().recommendation, 100, 20.0, 20.0, 90, "PASS"),  # push
        (XGBoostSettings().recommendation, 100, 30.0, np.nan, 90, "NO_LINE"),
    ],
)
def test_recommendation_edges(settings_rule, scale, points, line, confidence, expected) -> None:
    out = recommend(np.array([points]), np.array([line]), np.array([confidence], dtype=float), settings_rule)
    assert out[0] == expected


def test_publication_rounding_is_half_up() -> None:
    assert list(round_half_up(np.array([17.25, 0.435, 2.05, 0.0]), 1)) == [17.3, 0.4, 2.1, 0.0]
    assert list(round_half_up(np.array([0.435, 0.445]), 2)) == [0.44, 0.45]
    assert list(publish_points(np.array([-3.0, 61.0, 12.34]))) == [0.0, 60.0, 12.3]


# --- the feature contract ----------------------------------------------------------------------------
def test_unknown_feature_names_raise() -> None:
    batch = make_batch([feature_row("p")])
    with pytest.raises(UnknownFeatureError):
        batch.feature("points_avg_last_7")
    with pytest.raises(UnknownFeatureError):
        batch.context("opp_paint_pct_allowed_delta")
    with pytest.raises(UnknownFeatureError):
        batch.feature("league_two_pct")  # a context column is not a model feature

    class Careless(PredictionSystem[None]):
        system_id = "careless"

        def _predict(self, batch: PlayerBatch, components: Mapping[str, SystemResult]) -> SystemResult:
            return SystemResult.build(batch.players, batch.feature("player_efficiency_rating"), [], [])

    with pytest.raises(UnknownFeatureError):
        Careless(None, min_history_games=0).predict(batch, {})


def test_batch_rejects_missing_columns() -> None:
    batch = make_batch([feature_row("p")])
    with pytest.raises(ValueError, match="missing column"):
        PlayerBatch(GAME_DATE, batch.features.drop(columns=["fatigue_score"]), batch.history, batch.lines)


# --- settings ------------------------------------------------------------------------------------------
def test_settings_reject_unknown_ids_and_keys() -> None:
    with pytest.raises(ValidationError, match="unknown system"):
        SystemsSettings(enabled=["moving_average_baseline_v1", "magic_v9"])
    with pytest.raises(ValidationError):
        SystemsSettings.model_validate({"moving_average": {"weight_last_7": 0.2}})
    with pytest.raises(ValidationError):
        SystemsSettings(ensemble=EnsembleSettings(components=("ensemble_v1",)))
    overridden = SystemsSettings.model_validate({"similarity": {"min_matches": 3}})
    assert overridden.similarity.min_matches == 3
    assert SystemsSettings().enabled == list(SYSTEM_IDS)


# --- the runner ----------------------------------------------------------------------------------------
def runner_inputs() -> tuple[pa.Table, pa.Table, pa.Table]:
    rows = [
        feature_row("alpha", points_avg_last_5=22.0, points_avg_season=18.0),
        feature_row("bravo", points_avg_last_5=12.0, games_in_history=2),
        feature_row(
            "charlie", points_avg_last_5=17.26, opponent_def_rating_last_15=116.0, availability_source="NONE"
        ),
    ]
    history = [history_game(p, d, 10.0 + d % 9) for p in ("alpha", "charlie") for d in range(1, 30, 2)]
    history += [history_game("bravo", d, 8.0) for d in (1, 3)]
    props = [prop_line("alpha", "fanduel", 10, 19.5), prop_line("alpha", "draftkings", 8, 20.5)]
    return features_table(rows), history_table(history), prop_lines_table(props)


def test_predictor_output_conforms_to_schema() -> None:
    features, history, props = runner_inputs()
    predictor = Predictor(SystemsSettings(), [tiny_artifact()])
    out = predictor.predict(GAME_DATE, features, history, props, None, "run-1", CREATED_AT)
    table = out.predictions
    assert table.schema == PLAYER_PROP_PREDICTIONS.schema
    frame = table.to_pandas()
    assert not frame.duplicated(["player_lookup", "system_id"]).any()
    assert set(frame["player_lookup"]) == {"alpha", "charlie"}
    assert set(frame["system_id"]) == set(SYSTEM_IDS)
    alpha = frame.loc[frame["player_lookup"] == "alpha"].set_index("system_id")
    assert alpha.loc["xgboost_v1", "prediction_id"] == "2022-01-15_alpha_xgboost_v1"
    assert (alpha["line_value"] == 20.5).all() and (alpha["line_source"] == "ACTUAL_PROP").all()
    assert alpha["line_margin"].to_numpy() == pytest.approx((alpha["predicted_points"] - 20.5).to_numpy())
    assert alpha.loc["xgboost_v1", "model_version"] == tiny_artifact().version_id
    # Each prediction says what was known about who plays: from box scores, or nothing (still predicted).
    sources = frame.groupby("player_lookup")["availability_source"].agg(set)
    assert sources["alpha"] == {"BOX_SCORE"} and sources["charlie"] == {"NONE"}
    assert alpha.drop(index="xgboost_v1")["model_version"].isna().all()
    assert alpha.loc["similarity_balanced_v1", "similar_games_count"] > 0
    assert alpha.loc["ensemble_v1", "contributing_systems"].count(",") == 3
    charlie = frame.loc[frame["player_lookup"] == "charlie"]
    assert (charlie["line_value"] == 17.5).all() and (charlie["line_source"] == "ESTIMATED_AVG").all()
    skips = out.skips.to_pandas()
    assert set(skips["player_lookup"]) == {"bravo"} and set(skips["reason"]) == {"insufficient_history"}
    assert len(skips) == len(SYSTEM_IDS)
    assert (frame["run_id"] == "run-1").all()


def test_predictor_with_several_models_predicts_with_the_one_named() -> None:
    """A multi-season backfill preloads one model per season; each date names the one it uses."""
    features, history, props = runner_inputs()
    rows = synthetic_training_rows(n_dates=30, players_per_date=20, seed=9)
    other = train_model(
        rows,
        train_start=min(rows["game_date"]),
        train_end=max(rows["game_date"]),
        params=TINY_PARAMS,
        created_at=CREATED_AT,
    )
    predictor = Predictor(SystemsSettings(), [tiny_artifact(), other])
    for model in (tiny_artifact(), other):
        out = predictor.predict(GAME_DATE, features, history, props, None, "r", CREATED_AT, model.version_id)
        frame = out.predictions.to_pandas().set_index(["system_id", "player_lookup"])
        alone = Predictor(SystemsSettings(), [model])
        solo = alone.predict(GAME_DATE, features, history, props, None, "r", CREATED_AT)
        assert out.predictions.equals(solo.predictions)
        assert set(frame.loc["xgboost_v1", "model_version"]) == {model.version_id}
    with pytest.raises(ValueError, match="no model xgboost_v1@nowhere"):
        predictor.predict(GAME_DATE, features, history, props, None, "r", CREATED_AT, "xgboost_v1@nowhere")
    with pytest.raises(ValueError, match="no model None"):
        predictor.predict(GAME_DATE, features, history, props, None, "r", CREATED_AT)


def test_predictor_ensemble_uses_enabled_components_only() -> None:
    features, history, props = runner_inputs()
    components = ("moving_average_baseline_v1", "zone_matchup_v1")
    settings = SystemsSettings(
        enabled=[*components, "ensemble_v1"], ensemble=EnsembleSettings(components=components)
    )
    out = Predictor(settings).predict(GAME_DATE, features, history, props, ["alpha"], "r", CREATED_AT)
    frame = out.predictions.to_pandas().set_index("system_id")
    assert list(frame.index) == ["moving_average_baseline_v1", "zone_matchup_v1", "ensemble_v1"]
    assert frame.loc["ensemble_v1", "contributing_systems"] == "moving_average_baseline_v1,zone_matchup_v1"


def test_predictor_requires_model_for_xgboost_and_known_players() -> None:
    with pytest.raises(ValueError, match="no model"):
        Predictor(SystemsSettings())
    features, history, props = runner_inputs()
    predictor = Predictor(SystemsSettings(enabled=["moving_average_baseline_v1"]))
    with pytest.raises(ValueError, match="without a feature row"):
        predictor.predict(GAME_DATE, features, history, props, ["alpha", "zulu"], "r", CREATED_AT)
    empty = predictor.predict(GAME_DATE, features, history, props, [], "r", CREATED_AT)
    assert empty.predictions.num_rows == 0 and empty.predictions.schema == PLAYER_PROP_PREDICTIONS.schema


# --- property tests ------------------------------------------------------------------------------------
def _bounded(feature_low: float, feature_high: float) -> st.SearchStrategy[float]:
    low = -60.0 if math.isinf(feature_low) else feature_low
    high = 60.0 if math.isinf(feature_high) else feature_high
    return st.floats(min_value=low, max_value=high, allow_nan=False)


FEATURE_STRATEGY = st.fixed_dictionaries({f.name: _bounded(f.low, f.high) for f in FEATURES})


@st.composite
def random_date_inputs(draw: st.DrawFn) -> tuple[list[str], pa.Table, pa.Table, pa.Table]:
    n = draw(st.integers(min_value=1, max_value=8))
    players = [f"player{i}" for i in range(n)]
    rows, history, props = [], [], []
    for p in players:
        values = draw(FEATURE_STRATEGY)
        values["is_home"] = float(round(values["is_home"]))
        values["back_to_back"] = float(values["days_rest"] < 1)
        rows.append(
            feature_row(
                p,
                **values,
                games_in_history=draw(st.integers(min_value=0, max_value=40)),
                feature_quality_score=draw(st.sampled_from([40.0, 62.5, 75.0, 91.0, 100.0])),
                opp_two_pct_allowed_delta=draw(st.floats(-0.1, 0.1)),
                player_exp_points_two=draw(st.floats(0, 30)),
            )
        )
        for d in draw(st.lists(st.integers(1, 95), max_size=30, unique=True)):
            history.append(
                history_game(
                    p,
                    d,
                    float(draw(st.integers(0, 50))),
                    is_home=draw(st.booleans()),
                    days_rest=float(draw(st.integers(0, 6))),
                    opponent_def_rating_last_15=draw(st.sampled_from([105.0, 112.0, 118.0, np.nan])),
                    points_avg_last_5=draw(st.sampled_from([10.0, 15.0, 22.0])),
                )
            )
        for book in draw(st.lists(st.sampled_from(["draftkings", "fanduel", "pointsbet"]), max_size=2)):
            line = draw(st.sampled_from([9.5, 15.5, 24.5]))
            props.append(prop_line(p, book, draw(st.integers(0, 20)), line))
    return players, features_table(rows), history_table(history), prop_lines_table(props)


def _sorted(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas().sort_values(["player_lookup", "system_id"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(SystemsSettings(), [tiny_artifact()])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs=random_date_inputs(), seed=st.integers(0, 2**16))
def test_predictions_in_range_and_chunk_invariant(predictor: Predictor, inputs, seed: int) -> None:
    players, features, history, props = inputs
    whole = predictor.predict(GAME_DATE, features, history, props, None, "r", CREATED_AT)
    frame = whole.predictions.to_pandas()
    assert frame["predicted_points"].between(0.0, 60.0).all()
    assert frame["confidence_score"].between(0.0, 1.0).all()
    ens = frame.loc[frame["system_id"] == "ensemble_v1", "confidence_score"]
    assert ens.between(0.20, 0.95).all()
    assert not frame.duplicated(["player_lookup", "system_id"]).any()
    assert whole.predictions.schema == PLAYER_PROP_PREDICTIONS.schema
    assert set(frame["recommendation"]) <= {"OVER", "UNDER", "PASS", "NO_LINE"}
    assert (frame.loc[frame["line_source"] == "NONE", "recommendation"] == "NO_LINE").all()

    rng = random.Random(seed)
    shuffled = players[:]
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(players)), min(rng.randint(0, 2), len(players) - 1)))
    chunks = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(players)], strict=True)]
    parts = [predictor.predict(GAME_DATE, features, history, props, c, "r", CREATED_AT) for c in chunks]
    chunked = pa.concat_tables([p.predictions for p in parts])
    pd.testing.assert_frame_equal(_sorted(chunked), _sorted(whole.predictions))
    pd.testing.assert_frame_equal(
        _sorted(pa.concat_tables([p.skips for p in parts])), _sorted(whole.skips), check_like=False
    )
    again = Predictor(SystemsSettings(), [tiny_artifact()])
    pd.testing.assert_frame_equal(
        _sorted(again.predict(GAME_DATE, features, history, props, None, "r", CREATED_AT).predictions),
        _sorted(whole.predictions),
    )


def test_skips_helper_shape() -> None:
    skips = make_skips(["a", "b"], "insufficient_history")
    assert list(skips.columns) == ["player_lookup", "reason"] and len(skips) == 2


def test_feature_matrix_is_in_contract_order() -> None:
    batch = make_batch([feature_row("p", points_avg_last_5=1.5, usage_rate_last_10=33.0)])
    matrix = batch.feature_matrix()
    assert matrix.shape == (1, len(FEATURE_NAMES))
    assert matrix[0, 0] == 1.5 and matrix[0, FEATURE_NAMES.index("usage_rate_last_10")] == 33.0


def test_similarity_never_uses_games_on_or_after_the_date() -> None:
    history = similarity_history(5)
    history.append(history_game("p", -3, 60.0, opponent_def_rating_last_15=105.0))  # a game 3 days later
    row = one(similarity().predict(make_batch([similarity_row()], history), {}))
    assert row["similar_games_count"] == 5 and row["predicted_points"] == pytest.approx(20.9)


def test_systems_graph_runs_what_a_system_needs_and_redoes_its_dependents() -> None:
    """Running a component redoes the ensemble; the ensemble alone brings its components; order and
    duplicates of the request do not matter; an ensemble without its components is refused."""
    settings = SystemsSettings()
    assert run_set(settings, ["ensemble_v1"]) == SYSTEM_IDS
    assert run_set(settings, ["xgboost_v1"]) == SYSTEM_IDS  # its ensemble is redone, from fresh components
    assert run_set(settings, ["xgboost_v1", "zone_matchup_v1"]) == run_set(
        settings, ["zone_matchup_v1", "xgboost_v1"]
    )
    no_ensemble = SystemsSettings(enabled=["moving_average_baseline_v1", "xgboost_v1"])
    assert run_set(no_ensemble, ["xgboost_v1"]) == ("xgboost_v1",)
    with pytest.raises(ValueError, match="unknown system"):
        run_set(settings, ["magic_v9"])
    with pytest.raises(ValidationError, match="ensemble_v1 needs similarity_balanced_v1, xgboost_v1"):
        SystemsSettings(enabled=["moving_average_baseline_v1", "zone_matchup_v1", "ensemble_v1"])
    assert [cls.system_id for cls in SYSTEMS] == list(SYSTEM_IDS)

"""Model states on hand-built sequences of trailing figures: every transition, recovery only after
`recovery_days` better dates, dates without enough calls changing nothing; and a blocked system's calls
turned into PASS, with the reason, from the states graded before the predicted date only."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pytest

from nba_ray.config import ModelStateSettings, load_settings
from nba_ray.grading.state import BLOCKED, DEGRADING, HEALTHY, WATCH, Figures, ModelStates, run
from nba_ray.systems.base import OVER, PASS, UNDER
from nba_ray.warehouse.schemas import MARKET_DAILY, PLAYER_PROP_PREDICTIONS

SETTINGS = ModelStateSettings()  # watch < 52.4 % or gap > 0.25; degrading < 50 %, 0.5; blocked < 47 %, 1.0


def states(*days: tuple[float, float] | None) -> list[str]:
    """The state after each date of (hit rate, MAE gap) on 100 calls; None is a date with 5 calls."""
    figures = [Figures(5, 0.3, 2.0) if d is None else Figures(100, d[0], d[1]) for d in days]
    return [state for state, _ in run(figures, SETTINGS)]


GOOD, WATCHED, DEGRADED, BAD = (0.56, 0.0), (0.51, 0.0), (0.48, 0.0), (0.45, 0.0)


def test_each_worsening_transition_is_immediate() -> None:
    assert states(GOOD, WATCHED, DEGRADED, BAD) == [HEALTHY, WATCH, DEGRADING, BLOCKED]
    assert states(GOOD, BAD) == [HEALTHY, BLOCKED]  # straight to blocked, no step in between


def test_the_mae_gap_alone_moves_the_state() -> None:
    assert states((0.60, 0.3), (0.60, 0.6), (0.60, 1.2)) == [WATCH, DEGRADING, BLOCKED]


def test_recovery_needs_recovery_days_better_dates_and_goes_to_the_worst_of_them() -> None:
    assert states(BAD, GOOD, GOOD, GOOD) == [BLOCKED, BLOCKED, BLOCKED, HEALTHY]
    assert states(BAD, GOOD, WATCHED, GOOD) == [BLOCKED, BLOCKED, BLOCKED, WATCH]
    assert states(BAD, GOOD, BAD, GOOD, GOOD) == [BLOCKED] * 5  # a bad date restarts the count
    assert states(DEGRADED, WATCHED, WATCHED, WATCHED, GOOD, GOOD, GOOD) == [
        DEGRADING, DEGRADING, DEGRADING, WATCH, WATCH, WATCH, HEALTHY,
    ]  # fmt: skip


def test_dates_without_enough_calls_change_nothing() -> None:
    assert states(None, None) == [HEALTHY, HEALTHY]  # 5 calls at 30 %: no evidence
    assert states(BAD, None, GOOD, None, GOOD, GOOD) == [BLOCKED] * 5 + [HEALTHY]
    reasons = [reason for _, reason in run([Figures(100, 0.45, 0.0), Figures(5, 0.2, 0.0)], SETTINGS)]
    assert "hit rate below 47.0%" in reasons[0] and "fewer than 40" in reasons[1]


def test_thresholds_are_settings_and_must_get_stricter() -> None:
    with pytest.raises(ValueError, match="stricter"):
        ModelStateSettings(degrading={"hit_rate_below": 0.55, "mae_gap_above": 0.5})  # type: ignore[arg-type]
    assert load_settings(environ={"NBA_RAY_MODEL_STATES__MIN_CALLS": "10"}).model_states.min_calls == 10


DAY = date(2023, 1, 20)


def test_a_blocked_system_passes_with_the_reason_from_dates_graded_before() -> None:
    daily = pa.Table.from_pylist(
        [
            {"game_date": DAY - timedelta(days=2), "system_id": "xgboost_v1", "model_state": BLOCKED,
             "state_reason": "hit rate 45.0%", "prediction_mode": "standard"},
            {"game_date": DAY, "system_id": "xgboost_v1", "model_state": HEALTHY,  # on the day: too late
             "state_reason": "fine", "prediction_mode": "standard"},
            {"game_date": DAY - timedelta(days=1), "system_id": "ensemble_v1", "model_state": WATCH,
             "state_reason": "hit rate 51.0%", "prediction_mode": "standard"},
        ],
        schema=MARKET_DAILY.schema,
    )  # fmt: skip
    predictions = pa.Table.from_pylist(
        [
            {"system_id": "xgboost_v1", "player_lookup": "a", "recommendation": OVER},
            {"system_id": "xgboost_v1", "player_lookup": "b", "recommendation": PASS},
            {"system_id": "ensemble_v1", "player_lookup": "a", "recommendation": UNDER},
            {"system_id": "zone_matchup_v1", "player_lookup": "a", "recommendation": OVER},
        ],
        schema=PLAYER_PROP_PREDICTIONS.schema,
    )
    out = ModelStates(daily).apply(DAY, predictions).to_pylist()
    assert [(r["recommendation"], r["model_state"]) for r in out] == [
        (PASS, BLOCKED), (PASS, BLOCKED), (UNDER, WATCH), (OVER, None),
    ]  # fmt: skip
    assert out[0]["state_reason"] == "PASS: blocked after 2023-01-18: hit rate 45.0%"
    assert [r["state_reason"] for r in out[2:]] == [None, None]
    later = ModelStates(daily).apply(DAY + timedelta(days=1), predictions).to_pylist()
    assert later[0]["recommendation"] == OVER and later[0]["model_state"] == HEALTHY

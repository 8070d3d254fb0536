"""Who plays tonight is worth about as much on the synthetic league as on the real seasons, so the
embedded default and the tests exercise it: the MAE-to-blend gain of the standard contract (v2, with
availability) over the box-score contract (v1), and of the pre-tip contract (v3, with lineups) over v2,
each walk-forward (trained on the earlier seasons, tested on the last), with production's training
parameters. The synthetic availability gain must be within 0.02 of the real one."""

from __future__ import annotations

import functools
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from nba_ray.data.importer import read_box_scores
from nba_ray.data.synthetic import generate_league
from nba_ray.features.builder import build_features
from nba_ray.features.contract import V1_BOX_25, V2_AVAIL_40, V3_LINEUPS_43, Contract
from nba_ray.models.training import train_model
from nba_ray.systems.rules import blend_baseline
from tests.conftest import real_season, requires_real_data

# The real test season is the development protocol's validation season, never the graded one.
REAL_SEASONS = ("2019-20", "2020-21", "2021-22")
SYNTHETIC_SEASONS = ("2020-21", "2021-22", "2022-23")
CONTRACTS = (V1_BOX_25, V2_AVAIL_40, V3_LINEUPS_43)

pytestmark = pytest.mark.slow  # three whole seasons, a model per contract with production's training


def ratios(box: pa.Table) -> dict[str, float]:
    """MAE / blend MAE on the last season of `box` of a model per contract trained on the others."""
    features = build_features(box, date(1990, 1, 1), date(2100, 1, 1)).to_pandas()
    played = box.select(["game_id", "player_lookup", "points", "minutes_played"]).to_pandas()
    rows = features.merge(played, on=["game_id", "player_lookup"])
    rows = rows[rows.minutes_played > 0].assign(actual_points=lambda r: r.points.astype(float))
    last = rows.season.max()
    test = rows[rows.season == last]
    train = rows[rows.game_date < test.game_date.min()]
    actual = test.actual_points.to_numpy()
    blend = float(np.mean(np.abs(blend_baseline(test) - actual)))

    def ratio(contract: Contract) -> float:
        model = train_model(
            train, train_start=train.game_date.min(), train_end=train.game_date.max(), contract=contract
        )
        predicted = model.predict(test.loc[:, list(contract.names)].to_numpy(np.float32))
        return float(np.mean(np.abs(predicted - actual))) / blend

    return {contract.version: ratio(contract) for contract in CONTRACTS}


@functools.cache
def synthetic_ratios() -> dict[str, float]:
    return ratios(generate_league(SYNTHETIC_SEASONS, seed=7).box_scores)


def gains(by_contract: dict[str, float]) -> tuple[float, float]:
    """(availability gain v1 → v2, lineup gain v2 → v3) in MAE-to-blend ratio."""
    v1, v2, v3 = (by_contract[c.version] for c in CONTRACTS)
    return v1 - v2, v2 - v3


def test_the_synthetic_league_rewards_availability_and_lineups() -> None:
    availability, lineups = gains(synthetic_ratios())
    print(f"synthetic gains: availability {availability:.4f}, lineups {lineups:.4f}")
    assert availability >= 0.005 and lineups > 0.0


@requires_real_data
@pytest.mark.realdata
def test_the_synthetic_availability_gain_is_within_002_of_the_real_one() -> None:
    real = ratios(read_box_scores([real_season(s) for s in REAL_SEASONS]))
    real_availability, real_lineups = gains(real)
    synthetic_availability, _ = gains(synthetic_ratios())
    print(
        f"real gains: availability {real_availability:.4f}, lineups {real_lineups:.4f}; "
        f"synthetic availability {synthetic_availability:.4f}"
    )
    assert real_availability > 0.0 and real_lineups > 0.0
    assert abs(synthetic_availability - real_availability) <= 0.02
    assert pd.Series(real).is_monotonic_decreasing  # each contract beats the one before it

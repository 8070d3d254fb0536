"""Small hand-built batches for the systems tests (features, history, lines, Arrow tables, a tiny model)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.features.contract import FEATURE_DEFAULTS, FEATURE_NAMES, FEATURE_VERSION
from nba_ray.models.artifact import ModelArtifact
from nba_ray.models.training import train_model
from nba_ray.systems.base import HISTORY_COLUMNS, NO_LINE_SOURCE, PlayerBatch
from nba_ray.systems.settings import XGBoostTrainParams
from nba_ray.warehouse.schemas import ML_FEATURE_STORE, PROP_LINES, conform

GAME_DATE = date(2022, 1, 15)
CREATED_AT = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)

# Neutral zone context: no opponent edge in any zone; terciles 110 / 114.
NEUTRAL_CONTEXT: dict[str, float] = {
    "opp_two_pct_allowed_delta": 0.0,
    "opp_three_pct_allowed_delta": 0.0,
    "opp_ft_rate_allowed_delta": 0.0,
    "league_two_pct": 0.50,
    "league_three_pct": 0.36,
    "league_ft_rate": 0.25,
    "player_exp_points_two": 8.0,
    "player_exp_points_three": 4.0,
    "player_exp_points_ft": 2.0,
    "league_def_rating_p33": 110.0,
    "league_def_rating_p67": 114.0,
}

# A "plain" player: every adjustment of every system is zero or neutral unless overridden.
NEUTRAL_FEATURES: dict[str, float] = {
    **FEATURE_DEFAULTS,
    "fatigue_score": 80.0,
    "is_home": 1.0,
    "days_rest": 1.0,
    "back_to_back": 0.0,
    "games_in_last_7_days": 3.0,
    "points_std_last_10": 3.0,
    "opponent_def_rating_last_15": 112.0,
}


def feature_row(player: str, game_date: date = GAME_DATE, **overrides: Any) -> dict[str, Any]:
    """One ml_feature_store row; unknown override names are an error (they would be silently unused)."""
    row: dict[str, Any] = {
        "game_date": game_date,
        "player_lookup": player,
        "feature_version": FEATURE_VERSION,
        "season": "2021-22",
        "game_id": f"{game_date:%Y%m%d}0BOS",
        "player_id": f"id_{player}",
        "team_abbr": "BOS",
        "opponent_team_abbr": "NYK",
        **NEUTRAL_FEATURES,
        **NEUTRAL_CONTEXT,
        "feature_quality_score": 100.0,
        "games_in_history": 20,
        "data_source": "current_season",
        "availability_source": "BOX_SCORE",
        "lineup_source": "BOX_SCORE",
    }
    unknown = set(overrides) - set(row)
    if unknown:
        raise KeyError(f"unknown feature-row column(s) {sorted(unknown)}")
    row.update(overrides)
    return row


def features_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=ML_FEATURE_STORE.columns)
    return frame.set_index("player_lookup")


def history_game(player: str, days_before: int, points: float, **overrides: Any) -> dict[str, Any]:
    """A past played game `days_before` the game date, with a neutral context row (average tier, rest 1,
    home, normal form) unless overridden."""
    row: dict[str, Any] = {
        "player_lookup": player,
        "game_date": GAME_DATE - timedelta(days=days_before),
        "points": points,
        "minutes_played": 30.0,
        "is_home": True,
        "days_rest": 1.0,
        "opponent_def_rating_last_15": 112.0,
        "points_avg_last_5": 18.0,
        "points_avg_season": 18.0,
        "league_def_rating_p33": 110.0,
        "league_def_rating_p67": 114.0,
    }
    unknown = set(overrides) - set(row)
    if unknown:
        raise KeyError(f"unknown history column(s) {sorted(unknown)}")
    row.update(overrides)
    return row


def history_frame(rows: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(HISTORY_COLUMNS))


def lines_frame(players: Iterable[str], values: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Lines for `players`: the given values as ACTUAL_PROP, the rest without a line."""
    values = values or {}
    index = pd.Index(list(players), name="player_lookup")
    value = [values.get(p, np.nan) for p in index]
    source = ["ACTUAL_PROP" if p in values else NO_LINE_SOURCE for p in index]
    return pd.DataFrame({"line_value": value, "line_source": source}, index=index)


def make_batch(
    rows: Iterable[Mapping[str, Any]],
    history: Iterable[Mapping[str, Any]] = (),
    lines: Mapping[str, float] | None = None,
) -> PlayerBatch:
    features = features_frame(rows)
    return PlayerBatch(GAME_DATE, features, history_frame(history), lines_frame(features.index, lines))


# --- Arrow tables, as the warehouse hands them to the runner --------------------------------------------
def features_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    return conform(pa.Table.from_pylist(list(rows)), ML_FEATURE_STORE)


def history_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    schema = pa.schema(
        [
            ("player_lookup", pa.string()),
            ("game_date", pa.date32()),
            ("points", pa.float64()),
            ("minutes_played", pa.float64()),
            ("is_home", pa.bool_()),
        ]
        + [(c, pa.float64()) for c in HISTORY_COLUMNS[5:]]
    )
    return pa.Table.from_pylist(list(rows), schema=schema)


def prop_line(player: str, bookmaker: str, hour: int, points_line: float | None) -> dict[str, Any]:
    return {
        "game_date": GAME_DATE,
        "player_lookup": player,
        "bookmaker": bookmaker,
        "snapshot_ts": datetime(2022, 1, 15, hour, tzinfo=UTC),
        "points_line": points_line,
        "over_price": -110,
        "under_price": -110,
    }


def prop_lines_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=PROP_LINES.schema)


# --- a tiny model trained on synthetic rows with a known relationship ------------------------------------
def synthetic_training_rows(n_dates: int = 60, players_per_date: int = 40, seed: int = 7) -> pd.DataFrame:
    """actual = 0.7·L5 + 0.3·season + 3·is_home − 4·back_to_back + noise (the noise is in the data)."""
    rng = np.random.default_rng(seed)
    n = n_dates * players_per_date
    frame = pd.DataFrame({name: np.full(n, FEATURE_DEFAULTS[name]) for name in FEATURE_NAMES})
    l5 = rng.uniform(2.0, 35.0, n)
    season = np.clip(l5 + rng.normal(0.0, 3.0, n), 0.0, None)
    frame["points_avg_last_5"] = l5
    frame["points_avg_last_10"] = (l5 + season) / 2
    frame["points_avg_season"] = season
    frame["is_home"] = rng.integers(0, 2, n).astype(float)
    frame["back_to_back"] = rng.integers(0, 2, n).astype(float)
    frame["fatigue_score"] = rng.uniform(0.0, 100.0, n)
    truth = 0.7 * l5 + 0.3 * season + 3.0 * frame["is_home"] - 4.0 * frame["back_to_back"]
    frame["actual_points"] = np.clip(truth + rng.normal(0.0, 2.0, n), 0.0, None)
    start = date(2021, 10, 20)
    frame["game_date"] = [start + timedelta(days=i // players_per_date) for i in range(n)]
    return frame


TINY_PARAMS = XGBoostTrainParams(max_rounds=120, early_stopping_rounds=20, learning_rate=0.2, nthread=1)


@functools.cache
def tiny_artifact() -> ModelArtifact:
    rows = synthetic_training_rows()
    return train_model(
        rows,
        train_start=min(rows["game_date"]),
        train_end=max(rows["game_date"]),
        params=TINY_PARAMS,
        created_at=CREATED_AT,
    )

"""Quality (SYSTEMS.md §2.1) and the output table: per-feature quality → `feature_quality_score`, contract
clipping, and the rows conformed to `ML_FEATURE_STORE`.

Per feature: a player window of k games scores 100 when the player has ≥ k current-season games before D,
75 when computed from fewer or with previous-season games, 40 when defaulted (`points_avg_season`: 100
when the base is the current season; `recent_trend`: needs all 5 games, else it is defaulted).
Team/opponent windows: 100 with the full 10/15 current-season games, 75 with 1…k−1, 40 when defaulted to
the league figure. `is_home` and the calendar figures: 100 (40 without a previous game). A feature
derived from other features takes the lowest quality among its inputs. League figures count as
computed. `feature_quality_score` = the mean over the standard contract's features
(`QUALITY_FEATURE_NAMES`: a lineup, announced or not, never moves it). Finally every feature is clipped
to its contract range.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from nba_ray.features.contract import (
    FEATURE_NAMES,
    FEATURE_VERSION,
    FEATURES,
    QUALITY_FEATURE_NAMES,
    ZONE_CONTEXT_COLUMNS,
)
from nba_ray.features.inputs import BoxScores, Targets
from nba_ray.features.player_windows import PlayerWindows
from nba_ray.features.sequence import Columns
from nba_ray.warehouse.schemas import ML_FEATURE_STORE, conform


def feature_quality_score(quality: Columns) -> np.ndarray:
    """SYSTEMS §2.1: the mean over the standard contract's features of their 100 / 75 / 40 quality."""
    return np.mean(np.vstack([quality[name] for name in QUALITY_FEATURE_NAMES]), axis=0)


def clip_to_contract(values: Columns) -> None:
    for feature in FEATURES:
        values[feature.name] = np.clip(values[feature.name], feature.low, feature.high)


def assemble(
    box: BoxScores,
    t: Targets,
    windows: PlayerWindows,
    values: Columns,
    quality: Columns,
    sources: dict[str, np.ndarray],
) -> pa.Table:
    """Target keys + features + zone context + quality, cast to `ML_FEATURE_STORE`, sorted by key."""
    numeric = (*FEATURE_NAMES, *ZONE_CONTEXT_COLUMNS)
    missing = [name for name in (*numeric,) if name not in values] + [
        name for name in FEATURE_NAMES if name not in quality
    ]
    if missing:
        raise RuntimeError(f"feature builder did not compute: {', '.join(missing)}")
    not_finite = [name for name in numeric if not np.all(np.isfinite(values[name]))]
    if not_finite:
        raise RuntimeError(f"feature builder left NaN/inf in: {', '.join(not_finite)}")

    keys = box.table.select(
        ["game_date", "player_lookup", "season", "game_id", "player_id", "team_abbr", "opponent_team_abbr"]
    ).take(pa.array(t.rows))
    columns: dict[str, pa.Array | pa.ChunkedArray] = {name: keys.column(name) for name in keys.column_names}
    columns["feature_version"] = pa.array([FEATURE_VERSION] * len(t.rows), pa.string())
    for name in numeric:
        columns[name] = pa.array(values[name], pa.float64())
    columns["feature_quality_score"] = pa.array(feature_quality_score(quality), pa.float64())
    columns["games_in_history"] = pa.array(windows.history, pa.int64())
    columns["data_source"] = pa.array(windows.data_source().tolist(), pa.string())
    for name, source in sources.items():  # availability_source, lineup_source
        columns[name] = pa.array(source.tolist(), pa.string())
    table = conform(pa.table(columns), ML_FEATURE_STORE)
    return table.sort_by([("game_date", "ascending"), ("player_lookup", "ascending")])

"""What `grade` reads and writes for the market: the closing lines of the graded dates (their prices) and
`market_daily`, recomputed whole for the graded mode, states included (a regraded date changes every
later date's trailing windows and states)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.config import Settings
from nba_ray.grading.grade import grade
from nba_ray.grading.market import closing_lines, daily, to_market_daily
from nba_ray.grading.state import with_states
from nba_ray.warehouse import Warehouse
from nba_ray.warehouse.base import EARLIEST_DATE, LATEST_DATE


def closing_for(warehouse: Warehouse, settings: Settings, dates: Sequence[date]) -> pd.DataFrame:
    """The snapshot each prediction of `dates` used (`market.closing_lines`), prices included."""
    snapshots = warehouse.read_prop_lines(sorted(set(dates)))
    return closing_lines(snapshots, warehouse.tips, settings.systems.lines.bookmaker_priority)


def grade_and_store(
    warehouse: Warehouse,
    settings: Settings,
    predictions: pa.Table,
    box_scores: pa.Table,
    span: tuple[date, date],
) -> tuple[pa.Table, pd.DataFrame]:
    """Grade the predictions of the configured mode in `span` (prices from their closing lines), replace
    the span's accuracy rows of the mode, then recompute `market_daily`; returns both."""
    mode, now = settings.systems.mode, datetime.now(UTC)
    features = warehouse.read_features(*span)
    closing = closing_for(warehouse, settings, pc.unique(predictions["game_date"]).to_pylist())
    rows = grade(predictions, box_scores, features, now, closing)
    warehouse.replace_accuracy(rows, *span, mode=mode)
    return rows, refresh_market_daily(warehouse, settings, mode, now)


def refresh_market_daily(warehouse: Warehouse, settings: Settings, mode: str, now: datetime) -> pd.DataFrame:
    """Recompute and store every `market_daily` row of `mode` from its graded rows; returns them."""
    accuracy = warehouse.read_accuracy(EARLIEST_DATE, LATEST_DATE, mode=mode).to_pandas()
    table = with_states(daily(accuracy, now), settings.model_states)
    warehouse.replace_market_daily(to_market_daily(table), mode=mode)
    return table

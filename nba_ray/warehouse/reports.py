"""Which reported rows a run reads: of each group's feed reports (a team-date's injury report or lineup),
the latest one known at the run's time.

A feed never overwrites an earlier report: each is kept as a snapshot at its `reported_at`, so a day can
be read as it stood at any moment (a morning run, a pre-tip run, a replay of both). Rows derived from the
box scores are facts, not reports, and are always read. A feed row without a time (written before
reports were timed) counts as the earliest report of its group, known at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.warehouse.schemas import SOURCE_FEED

__all__ = ["latest_reports"]


def latest_reports(rows: pa.Table, group: Sequence[str], as_of: datetime | None = None) -> pa.Table:
    """`rows` without the feed reports superseded by a later one of their group, nor those reported after
    `as_of` (None: every report is known)."""
    if rows.num_rows == 0:
        return rows
    frame = rows.select([*group, "source", "reported_at"]).to_pandas()
    feed = (frame["source"] == SOURCE_FEED).to_numpy()
    stamp = frame["reported_at"]
    known = ~feed | stamp.isna().to_numpy()
    if as_of is not None:
        known |= (stamp <= pd.Timestamp(as_of)).fillna(False).to_numpy()
    else:
        known[:] = True
    # NaT sorts as the earliest report: its integer value is the smallest there is.
    order = stamp.astype("datetime64[us, UTC]").to_numpy(dtype="datetime64[us]").astype(np.int64)
    candidates = frame.assign(_order=order, _candidate=feed & known)
    latest = (
        candidates[candidates["_candidate"]].groupby(list(group), dropna=False, sort=False)["_order"].max()
    )
    best = candidates.join(latest.rename("_latest"), on=list(group))["_latest"].to_numpy()
    keep = ~feed | (feed & known & (order == best))
    return rows.filter(pa.array(keep))

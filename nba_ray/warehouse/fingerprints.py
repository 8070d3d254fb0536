"""Per-date fingerprints of a table's rows: what makes a stored prediction stale when its inputs change.

A fingerprint is the sha256 of the rows' values (pandas' stable per-row hashes, in the table schema's
column order and the table key's row order), so it depends only on what the rows hold — not on how a
query or a build ordered or chunked them — and changes when any value of the date's rows does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

import pandas as pd
import pyarrow as pa

FEATURES = "features"
LINES = "lines"
INPUTS: tuple[str, ...] = (FEATURES, LINES)
# The fingerprint of a date without rows for an input (no lines, say): a value, so "none" is comparable.
NO_ROWS = "none"


def per_date(rows: pa.Table, key: Sequence[str]) -> dict[date, tuple[str, int]]:
    """game_date → (fingerprint, row count) of `rows` (already conformed to their table's schema)."""
    if rows.num_rows == 0:
        return {}
    frame = rows.to_pandas().sort_values(list(key), kind="stable")
    out: dict[date, tuple[str, int]] = {}
    for game_date, group in frame.groupby("game_date", sort=True):
        hashes = pd.util.hash_pandas_object(group, index=False).to_numpy()
        out[pd.Timestamp(game_date).date()] = (hashlib.sha256(hashes.tobytes()).hexdigest(), len(group))
    return out

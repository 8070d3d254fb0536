"""Fingerprints of a date's inputs: what a backfill's predictions for that date were computed from.

Each time a date's feature rows or lines are written, the writer also stores one sha256 per (input,
date) in `input_fingerprints`, computed from the rows it just wrote; a backfill compares them with
what its checkpoints recorded, so finding stale dates costs one small read, never a re-read of the
inputs. The digest covers every column's exact value (a float differing in its last bit changes it)
in key order, so a rebuild from unchanged data gives the same fingerprint and any change gives
another.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.warehouse.schemas import INPUT_FINGERPRINTS, TableSpec


def input_name(spec: TableSpec, version: str | None = None) -> str:
    """The name an input's fingerprints are stored under: its table, and its version if it has one."""
    return f"{spec.name}:{version}" if version else spec.name


def date_fingerprints(rows: pa.Table, spec: TableSpec, name: str) -> pa.Table:
    """One `input_fingerprints` row per game date in `rows` (rows already conformed to `spec`)."""
    if rows.num_rows == 0:
        return INPUT_FINGERPRINTS.schema.empty_table()
    order = ["game_date", *(column for column in spec.key if column != "game_date")]
    frame = rows.to_pandas().sort_values(order, kind="stable", ignore_index=True)
    row_hashes = pd.util.hash_pandas_object(frame[spec.columns], index=False).to_numpy()
    dates = frame["game_date"].to_numpy()
    starts = np.flatnonzero(np.r_[True, dates[1:] != dates[:-1]])
    ends = np.r_[starts[1:], len(frame)]
    now = datetime.now(UTC)
    return pa.Table.from_pylist(
        [
            {
                "input": name,
                "game_date": dates[start],
                "fingerprint": hashlib.sha256(row_hashes[start:end].tobytes()).hexdigest()[:32],
                "row_count": int(end - start),
                "updated_at": now,
            }
            for start, end in zip(starts, ends, strict=True)
        ],
        schema=INPUT_FINGERPRINTS.schema,
    )


def by_date(fingerprints: pa.Table) -> dict[date, dict[str, str]]:
    """{date: {input: fingerprint}} from rows of `input_fingerprints`."""
    found: dict[date, dict[str, str]] = {}
    for row in fingerprints.select(["game_date", "input", "fingerprint"]).to_pylist():
        found.setdefault(row["game_date"], {})[row["input"]] = row["fingerprint"]
    return found

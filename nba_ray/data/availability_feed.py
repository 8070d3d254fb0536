"""Injury-report feeds: `nba-ray import --availability PATH...` (CSV or Parquet) → `player_availability`.

A feed says, for games not yet played, who is ACTIVE and who is OUT. Columns: game_date, team_abbr,
status (ACTIVE / OUT, any case), player_lookup or player_name (folded to a lookup like box scores), and
optionally reported_at (a timestamp; naive ones are UTC). Validation is the box-score importer's: a file
with any invalid row is rejected whole, with one line naming the file, the row and the reason, and
nothing is written (all or nothing across every file given). Rows are numbered as in the importer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.data.importer import BoxScoreError, SourceFile, read_source, reject
from nba_ray.data.league import TEAMS
from nba_ray.data.lookup import player_lookup
from nba_ray.warehouse.schemas import AVAILABILITY_STATUSES, PLAYER_AVAILABILITY, SOURCE_FEED, conform

_REQUIRED = ("game_date", "team_abbr", "status")
_EARLIEST, _LATEST = pd.Timestamp("1946-11-01"), pd.Timestamp("2100-01-01")


class AvailabilityFeedError(BoxScoreError):
    """An invalid availability feed: the message names the file, the row and the reason."""


def read_availability_feed(paths: Sequence[Path | str]) -> pa.Table:
    """Read and validate every feed file; one table in the `player_availability` schema (source FEED)."""
    if not paths:
        raise AvailabilityFeedError("no availability files given")
    try:
        frames = [_validate(read_source(Path(path))) for path in paths]
    except AvailabilityFeedError:
        raise
    except BoxScoreError as err:
        raise AvailabilityFeedError(str(err)) from None
    combined = pd.concat(frames, ignore_index=True)
    duplicated = combined.duplicated(list(PLAYER_AVAILABILITY.key), keep="first")
    if duplicated.any():
        row = combined[duplicated].iloc[0]
        raise AvailabilityFeedError(
            f"{row['_file']}: row {row['_row']}: a second row for {row['player_lookup']} "
            f"of {row['team_abbr']} on {row['game_date']}"
        )
    combined["source"] = SOURCE_FEED
    stored = combined.drop(columns=["_file", "_row"])
    table = pa.Table.from_pandas(stored, preserve_index=False)
    return conform(table, PLAYER_AVAILABILITY)


def _validate(source: SourceFile) -> pd.DataFrame:
    raw = source.frame
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if "player_lookup" not in raw.columns and "player_name" not in raw.columns:
        missing.append("player_lookup or player_name")
    if missing:
        raise AvailabilityFeedError(f"{source.path}: missing column(s) {', '.join(missing)}")
    if raw.empty:
        raise AvailabilityFeedError(f"{source.path}: no rows")
    out = pd.DataFrame(index=raw.index)

    dates = pd.to_datetime(raw["game_date"].astype("string"), errors="coerce", format="mixed")
    reject(source, dates.isna(), "game_date is not a date")
    reject(source, (dates < _EARLIEST) | (dates >= _LATEST), "game_date is outside the NBA's history")
    out["game_date"] = dates.dt.date

    team = raw["team_abbr"].astype("string").str.strip().str.upper()
    unknown_team = ~team.isin(TEAMS).fillna(False)
    if unknown_team.any():
        reject(
            source,
            unknown_team,
            f"team_abbr {raw['team_abbr'][unknown_team].iloc[0]!r} is not an NBA team code",
        )
    out["team_abbr"] = team

    status = raw["status"].astype("string").str.strip().str.upper()
    unknown = ~status.isin(AVAILABILITY_STATUSES).fillna(False)
    reject(source, unknown, f"status is not one of {', '.join(AVAILABILITY_STATUSES)}")
    out["status"] = status

    if "player_lookup" in raw.columns:
        lookup = raw["player_lookup"].astype("string").str.strip()
    else:
        lookup = raw["player_name"].astype("string").map(lambda name: player_lookup(name) if name else "")
    reject(source, lookup.isna() | (lookup == ""), "player is empty")
    out["player_lookup"] = lookup

    if "reported_at" in raw.columns:
        text = raw["reported_at"].astype("string").str.strip()
        empty = text.isna() | (text == "")
        stamps = pd.to_datetime(text.where(~empty, None), errors="coerce", utc=True, format="mixed")
        reject(source, stamps.isna() & ~empty, "reported_at is not a timestamp")
        out["reported_at"] = stamps
    else:
        out["reported_at"] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    out["_file"] = str(source.path)
    out["_row"] = np.arange(len(out)) + source.first_row_number
    return out

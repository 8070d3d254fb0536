"""Feeds for games not yet played: `nba-ray import --availability PATH...` (injury reports →
`player_availability`) and `--lineups PATH...` (announced starters → `starting_lineups`), CSV or Parquet.

Columns of both: game_date, team_abbr, player_lookup or player_name (folded to a lookup like box
scores), and optionally reported_at (a timestamp; naive ones are UTC). An availability feed adds status
(ACTIVE / OUT, any case); a lineups feed lists exactly five starters for each team-date it names.
Every player must be one the warehouse knows for the team listed (`data/players.py`): a misspelt name,
or a player under another team, is refused with the team's closest names. Validation is the box-score
importer's: a file with any invalid row is rejected whole, with one line
naming the file, the row and the reason, and nothing is written (all or nothing across every file
given). Rows are numbered as in the importer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.data.importer import BoxScoreError, SourceFile, read_source, reject
from nba_ray.data.league import TEAMS
from nba_ray.data.lookup import player_lookup
from nba_ray.data.players import KnownPlayers
from nba_ray.warehouse.schemas import (
    AVAILABILITY_STATUSES,
    PLAYER_AVAILABILITY,
    SOURCE_FEED,
    STARTERS_PER_TEAM,
    STARTING_LINEUPS,
    TableSpec,
    conform,
)

_EARLIEST, _LATEST = pd.Timestamp("1946-11-01"), pd.Timestamp("2100-01-01")


class FeedError(BoxScoreError):
    """An invalid feed: the message names the file, the row and the reason."""


def read_availability_feed(paths: Sequence[Path | str], known: KnownPlayers) -> pa.Table:
    """Read and validate injury-report files; one table in the `player_availability` schema (FEED)."""
    return _read_feed(paths, "availability", PLAYER_AVAILABILITY, _with_status, known)


def read_lineups_feed(paths: Sequence[Path | str], known: KnownPlayers) -> pa.Table:
    """Read and validate lineup files; one table in the `starting_lineups` schema (FEED)."""
    combined = _read_feed(paths, "lineups", STARTING_LINEUPS, lambda source, frame: frame, known)
    counts = combined.to_pandas().groupby(["game_date", "team_abbr"]).size()
    wrong = counts[counts != STARTERS_PER_TEAM]
    if not wrong.empty:
        (game_date, team), count = wrong.index[0], int(wrong.iloc[0])
        raise FeedError(
            f"{', '.join(str(p) for p in paths)}: {team} on {game_date} has {count} starter(s), "
            f"not {STARTERS_PER_TEAM}"
        )
    return combined


def _read_feed(
    paths: Sequence[Path | str],
    what: str,
    spec: TableSpec,
    extra: Callable[[SourceFile, pd.DataFrame], pd.DataFrame],
    known: KnownPlayers,
) -> pa.Table:
    if not paths:
        raise FeedError(f"no {what} files given")
    try:
        frames = [extra(source, _validate(source)) for source in (read_source(Path(p)) for p in paths)]
    except FeedError:
        raise
    except BoxScoreError as err:
        raise FeedError(str(err)) from None
    combined = pd.concat(frames, ignore_index=True)
    duplicated = combined.duplicated(list(spec.key), keep="first")
    if duplicated.any():
        row = combined[duplicated].iloc[0]
        raise FeedError(
            f"{row['_file']}: row {row['_row']}: a second row for {row['player_lookup']} "
            f"of {row['team_abbr']} on {row['game_date']}"
        )
    unknown = known.check(combined)
    if unknown is not None:
        row = combined.iloc[unknown.row]
        raise FeedError(f"{row['_file']}: row {row['_row']}: {unknown.reason}")
    combined["source"] = SOURCE_FEED
    stored = combined.drop(columns=["_file", "_row"])
    return conform(pa.Table.from_pandas(stored, preserve_index=False), spec)


def _validate(source: SourceFile) -> pd.DataFrame:
    """The columns every feed has: game_date, team_abbr, player_lookup, reported_at."""
    raw = source.frame
    missing = [c for c in ("game_date", "team_abbr") if c not in raw.columns]
    if "player_lookup" not in raw.columns and "player_name" not in raw.columns:
        missing.append("player_lookup or player_name")
    if missing:
        raise FeedError(f"{source.path}: missing column(s) {', '.join(missing)}")
    if raw.empty:
        raise FeedError(f"{source.path}: no rows")
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


def _with_status(source: SourceFile, out: pd.DataFrame) -> pd.DataFrame:
    """An availability feed's status column (ACTIVE / OUT, any case)."""
    if "status" not in source.frame.columns:
        raise FeedError(f"{source.path}: missing column(s) status")
    status = source.frame["status"].astype("string").str.strip().str.upper()
    unknown = ~status.isin(AVAILABILITY_STATUSES).fillna(False)
    reject(source, unknown, f"status is not one of {', '.join(AVAILABILITY_STATUSES)}")
    return out.assign(status=status)

"""Feeds for games not yet played: `nba-ray import --availability PATH...` (injury reports →
`player_availability`) and `--lineups PATH...` (announced starters → `starting_lineups`), CSV or Parquet.

Columns of both: game_date, team_abbr, player_lookup or player_name (folded to a lookup like box
scores; the official report's "Last, First" is read as "First Last"), optionally matchup (the report's
"AWAY@HOME": the team must be one of its two) and reported_at (a timestamp; naive ones are UTC; without
it, the import's time). An availability feed adds status: the report's OUT / DOUBTFUL / QUESTIONABLE /
PROBABLE / AVAILABLE, in any case (ACTIVE is a word for AVAILABLE); a lineups feed lists exactly five
starters for each team-date and report it names. Each team-date's report is kept as a snapshot at its
reported_at (`warehouse/reports.py`).

Every player must be one the warehouse knows for the team listed (`data/players.py`): a misspelt name,
or a player under another team, is refused with the team's closest names. Validation is the box-score
importer's: a file with any invalid row is rejected whole, with one line
naming the file, the row and the reason, and nothing is written (all or nothing across every file
given). Rows are numbered as in the importer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.data.importer import BoxScoreError, SourceFile, read_source, reject
from nba_ray.data.league import TEAMS
from nba_ray.data.lookup import player_lookup
from nba_ray.data.players import KnownPlayers
from nba_ray.warehouse.schemas import (
    AVAILABILITY_ALIASES,
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


def read_availability_feed(paths: Sequence[Path | str], known: KnownPlayers, now: datetime) -> pa.Table:
    """Read and validate injury-report files; one table in the `player_availability` schema (FEED),
    reported at `now` where a file does not say when."""
    return _read_feed(paths, "availability", PLAYER_AVAILABILITY, _with_status, known, now)


def read_lineups_feed(paths: Sequence[Path | str], known: KnownPlayers, now: datetime) -> pa.Table:
    """Read and validate lineup files; one table in the `starting_lineups` schema (FEED)."""
    combined = _read_feed(paths, "lineups", STARTING_LINEUPS, lambda source, frame: frame, known, now)
    counts = combined.to_pandas().groupby(["game_date", "team_abbr", "reported_at"]).size()
    wrong = counts[counts != STARTERS_PER_TEAM]
    if not wrong.empty:
        (game_date, team, _), count = wrong.index[0], int(wrong.iloc[0])
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
    now: datetime,
) -> pa.Table:
    if not paths:
        raise FeedError(f"no {what} files given")
    try:
        sources = (read_source(Path(p)) for p in paths)
        frames = [extra(source, _validate(source, now)) for source in sources]
    except FeedError:
        raise
    except BoxScoreError as err:
        raise FeedError(str(err)) from None
    combined = pd.concat(frames, ignore_index=True)
    # A player once per team-date and report (a file may hold several reports of a day).
    duplicated = combined.duplicated([*spec.key, "reported_at"], keep="first")
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


def _validate(source: SourceFile, now: datetime) -> pd.DataFrame:
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
    if "matchup" in raw.columns:
        _check_matchup(source, raw["matchup"], team)

    if "player_lookup" in raw.columns:
        lookup = raw["player_lookup"].astype("string").str.strip()
    else:
        names = raw["player_name"].astype("string").map(_first_name_first, na_action="ignore")
        lookup = names.map(lambda name: player_lookup(name) if name else "", na_action="ignore")
    reject(source, lookup.isna() | (lookup == ""), "player is empty")
    out["player_lookup"] = lookup

    if "reported_at" in raw.columns:
        text = raw["reported_at"].astype("string").str.strip()
        empty = text.isna() | (text == "")
        stamps = pd.to_datetime(text.where(~empty, None), errors="coerce", utc=True, format="mixed")
        reject(source, stamps.isna() & ~empty, "reported_at is not a timestamp")
        out["reported_at"] = stamps.astype("datetime64[us, UTC]").fillna(pd.Timestamp(now).as_unit("us"))
    else:
        out["reported_at"] = pd.Series(pd.Timestamp(now), index=raw.index).astype("datetime64[us, UTC]")
    out["_file"] = str(source.path)
    out["_row"] = np.arange(len(out)) + source.first_row_number
    return out


def _with_status(source: SourceFile, out: pd.DataFrame) -> pd.DataFrame:
    """An availability feed's status column: the report's words, any case (ACTIVE: AVAILABLE)."""
    if "status" not in source.frame.columns:
        raise FeedError(f"{source.path}: missing column(s) status")
    status = source.frame["status"].astype("string").str.strip().str.upper().replace(AVAILABILITY_ALIASES)
    unknown = ~status.isin(AVAILABILITY_STATUSES).fillna(False)
    reject(source, unknown, f"status is not one of {', '.join(AVAILABILITY_STATUSES)}")
    return out.assign(status=status)


def _first_name_first(name: str) -> str:
    """The official report's "Last, First" (or "Porter Jr., Michael") as "First Last"."""
    last, comma, first = name.partition(",")
    return f"{first.strip()} {last.strip()}" if comma else name


def _check_matchup(source: SourceFile, matchup: pd.Series, team: pd.Series) -> None:
    """A report's "AWAY@HOME" names two league teams, one of them the row's team."""
    sides = matchup.astype("string").str.strip().str.upper().str.split("@", expand=True, n=1)
    if sides.shape[1] < 2:
        sides[1] = pd.NA
    away, home = sides[0], sides[1]
    wrong = ~(away.isin(TEAMS) & home.isin(TEAMS)).fillna(False)
    reject(source, wrong, "matchup is not two NBA team codes as AWAY@HOME")
    reject(source, ~((team == away) | (team == home)).fillna(False), "team_abbr is not a team of matchup")

"""The schedule: which games the league plays on which date (`scheduled_games`).

Played games are derived from the box scores on import (status FINAL). Coming games come from
`nba-ray import --schedule PATH...` (CSV or Parquet) in one of two shapes:

- nba-ray's own: game_date, home_team_abbr, away_team_abbr, and optionally game_id (default the box
  scores' style, `YYYYMMDD0HOM`), season (default the season the date falls in), tip_time_utc (naive
  times are UTC), status (SCHEDULED / POSTPONED / FINAL, any case; default SCHEDULED) and reported_at
  (default the import's time);
- the SeasonGames frame of nba_api's `ScheduleLeagueV2` endpoint, saved unchanged: gameId, seasonYear,
  gameDateEst, gameDateTimeUTC, gameStatus, postponedStatus, homeTeam_teamTricode and
  awayTeam_teamTricode are read; its preseason and All-Star games and its playoff games whose teams are
  not known yet are not league games between two teams, and are left out.

Validation is the box-score importer's, all or nothing, naming the file and the row: teams of the
league, two different teams, a season named like 2022-23 with the date inside it, one game per team
per date across every file given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.data.importer import BoxScoreError, SourceFile, read_source, reject_first
from nba_ray.data.league import TEAMS, season_bounds, season_of, season_start_year
from nba_ray.warehouse.schemas import (
    GAME_FINAL,
    GAME_POSTPONED,
    GAME_SCHEDULED,
    GAME_STATUSES,
    SCHEDULED_GAMES,
    SOURCE_BOX_SCORE,
    SOURCE_FEED,
    conform,
)

__all__ = ["ScheduleError", "derive_schedule", "read_schedule_files"]

# nba_api's SeasonGames columns → nba-ray's (the ones read; the rest of the frame is ignored).
_NBA_API_COLUMNS = {
    "gameId": "game_id",
    "seasonYear": "season",
    "gameDateEst": "game_date",
    "gameDateTimeUTC": "tip_time_utc",
    "homeTeam_teamTricode": "home_team_abbr",
    "awayTeam_teamTricode": "away_team_abbr",
}
# nba_api game ids start with the game's type: 001 preseason, 003 All-Star (not league games).
_NOT_LEAGUE_GAMES = ("001", "003")
_NBA_API_FINAL, _NBA_API_POSTPONED = "3", "P"


class ScheduleError(BoxScoreError):
    """An invalid schedule file: the message names the file, the row and the reason."""


def derive_schedule(box_scores: pa.Table) -> pa.Table:
    """One FINAL row (source BOX_SCORE) per game in `box_scores`, sorted by key."""
    rows = box_scores.select(["game_id", "game_date", "season", "team_abbr", "opponent_team_abbr", "is_home"])
    frame = rows.to_pandas().drop_duplicates(["game_id", "team_abbr"])
    home = frame["team_abbr"].where(frame["is_home"], frame["opponent_team_abbr"])
    away = frame["opponent_team_abbr"].where(frame["is_home"], frame["team_abbr"])
    games = frame.assign(home_team_abbr=home, away_team_abbr=away).drop_duplicates("game_id")
    games = games.assign(
        game_date=pd.to_datetime(games["game_date"]).dt.date,
        tip_time_utc=pd.Series([None] * len(games), dtype="object", index=games.index),
        status=GAME_FINAL,
        source=SOURCE_BOX_SCORE,
        reported_at=pd.Series([None] * len(games), dtype="object", index=games.index),
    )
    table = pa.Table.from_pandas(games[SCHEDULED_GAMES.columns], preserve_index=False)
    return conform(table, SCHEDULED_GAMES).sort_by([(k, "ascending") for k in SCHEDULED_GAMES.key])


def read_schedule_files(paths: Sequence[Path | str], now: datetime) -> pa.Table:
    """Read and validate schedule files (either shape); one table of `scheduled_games` rows (FEED),
    `reported_at` defaulting to `now`."""
    if not paths:
        raise ScheduleError("no schedule files given")
    try:
        frames = [_validate(_own_shape(read_source(Path(path))), now) for path in paths]
        games = pd.concat(frames, ignore_index=True)
        _check_one_game_per_team_and_date(games)
    except ScheduleError:
        raise
    except BoxScoreError as err:
        raise ScheduleError(str(err)) from None
    stored = games.drop(columns=["_file", "_row"]).assign(source=SOURCE_FEED)
    table = pa.Table.from_pandas(stored[SCHEDULED_GAMES.columns], preserve_index=False)
    return conform(table, SCHEDULED_GAMES)


def _own_shape(source: SourceFile) -> pd.DataFrame:
    """The file's rows in nba-ray's columns, each with its file and row number; nba_api's frame is
    translated and its non-league games left out."""
    raw = source.frame
    numbered = raw.assign(_file=str(source.path), _row=np.arange(len(raw)) + source.first_row_number)
    if raw.empty:
        raise ScheduleError(f"{source.path}: no rows")
    if not set(_NBA_API_COLUMNS).issubset(raw.columns):
        return numbered
    text = numbered.astype({name: "string" for name in _NBA_API_COLUMNS}).rename(columns=_NBA_API_COLUMNS)
    game_id = text["game_id"].str.strip()
    unknown_teams = (text["home_team_abbr"].fillna("").str.strip() == "") | (
        text["away_team_abbr"].fillna("").str.strip() == ""
    )
    league = ~game_id.str[:3].isin(_NOT_LEAGUE_GAMES).fillna(False) & ~unknown_teams
    status = pd.Series(GAME_SCHEDULED, index=raw.index)
    if "gameStatus" in raw.columns:
        status = status.where(raw["gameStatus"].astype("string").str.strip() != _NBA_API_FINAL, GAME_FINAL)
    if "postponedStatus" in raw.columns:
        postponed = raw["postponedStatus"].astype("string").str.strip().str.upper() == _NBA_API_POSTPONED
        status = status.where(~postponed.fillna(False), GAME_POSTPONED)
    own = text[[*_NBA_API_COLUMNS.values(), "_file", "_row"]].assign(
        game_date=text["game_date"].str[:10], status=status
    )
    return own[league.to_numpy()].reset_index(drop=True)


def _validate(rows: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """nba-ray's columns, validated; the first invalid row is refused with its file and row."""
    missing = [c for c in ("game_date", "home_team_abbr", "away_team_abbr") if c not in rows.columns]
    if missing:
        raise ScheduleError(f"{rows['_file'].iloc[0]}: missing column(s) {', '.join(missing)}")
    out = rows[["_file", "_row"]].copy()
    dates = pd.to_datetime(rows["game_date"].astype("string"), errors="coerce", format="mixed")
    reject_first(rows, dates.isna(), "game_date {game_date!r} is not a date")
    out["game_date"] = dates.dt.date
    for side in ("home_team_abbr", "away_team_abbr"):
        out[side] = rows[side].astype("string").str.strip().str.upper()
        reject_first(
            rows, ~out[side].isin(TEAMS).fillna(False), side + " {" + side + "!r} is not an NBA team code"
        )
    reject_first(out, out["home_team_abbr"] == out["away_team_abbr"], "home_team_abbr equals away_team_abbr")
    out["season"] = _seasons(rows, out)
    out["game_id"] = _optional_text(rows, "game_id")
    default_id = pd.Series(
        [f"{day:%Y%m%d}0{home}" for day, home in zip(out["game_date"], out["home_team_abbr"], strict=True)],
        index=out.index,
    )
    out["game_id"] = out["game_id"].fillna(default_id)
    out["tip_time_utc"] = _timestamps(rows, "tip_time_utc")
    status = _optional_text(rows, "status").str.upper().fillna(GAME_SCHEDULED)
    reject_first(
        rows, ~status.isin(GAME_STATUSES), f"status {{status!r}} is not one of {', '.join(GAME_STATUSES)}"
    )
    out["status"] = status
    out["reported_at"] = _timestamps(rows, "reported_at").fillna(
        pd.Timestamp(now).tz_convert("UTC").as_unit("us")
    )
    return out


def _seasons(rows: pd.DataFrame, out: pd.DataFrame) -> pd.Series:
    """The rows' seasons (given, or the one each date falls in), each named like 2022-23 and holding
    its game's date."""
    given = _optional_text(rows, "season")
    implied = pd.Series([season_of(day) for day in out["game_date"]], index=out.index, dtype="string")
    season = given.fillna(implied)
    named = season.map(lambda name: season_start_year(name) is not None).astype(bool)
    reject_first(out.assign(season=season), ~named, "season {season!r} is not a season like 2022-23")
    first = season.map(lambda name: season_bounds(name)[0])
    last = season.map(lambda name: season_bounds(name)[1])
    outside = (out["game_date"] < first) | (out["game_date"] > last)
    reject_first(out.assign(season=season), outside, "game_date {game_date} is outside season {season}")
    return season


def _optional_text(rows: pd.DataFrame, column: str) -> pd.Series:
    """A text column's stripped values, NA where empty or where the file has no such column."""
    if column not in rows.columns:
        return pd.Series(pd.NA, index=rows.index, dtype="string")
    text = rows[column].astype("string").str.strip()
    return text.where(text != "", pd.NA)


def _timestamps(rows: pd.DataFrame, column: str) -> pd.Series:
    """An optional ISO 8601 timestamp column in UTC (naive times are UTC), NaT where empty."""
    text = _optional_text(rows, column)
    stamps = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601").astype("datetime64[us, UTC]")
    reject_first(
        rows.assign(**{column: text}),
        stamps.isna() & text.notna(),
        column + " {" + column + "!r} is not a timestamp",
    )
    return stamps


def _check_one_game_per_team_and_date(games: pd.DataFrame) -> None:
    """No team plays twice on one date (a game listed twice is its second row)."""
    sides = pd.concat(
        [
            games.assign(team=games["home_team_abbr"], _order=np.arange(len(games))),
            games.assign(team=games["away_team_abbr"], _order=np.arange(len(games))),
        ]
    ).sort_values(["_order"], kind="stable")
    twice = sides.duplicated(["game_date", "team"], keep="first")
    reject_first(sides, twice, "{team} has a second game on {game_date}")

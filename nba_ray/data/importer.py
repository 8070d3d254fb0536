"""Box-score import: read CSV or Parquet files with the real files' columns, validate every row.

A file with any invalid row is rejected whole, with a one-line message naming the file, the row and
the reason, and nothing is written: importing is all or nothing across every file given. Rows are
numbered as a person finds them: CSV rows by their line in the file (the header is line 1), Parquet
rows from 1 in file order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.data.league import TEAMS, season_bounds, season_start_year
from nba_ray.data.lookup import player_lookup
from nba_ray.warehouse.schemas import PLAYER_GAME_SUMMARY, STAT_COLUMNS, conform

_TEXT_COLUMNS = ("season", "game_id", "team_abbr", "opponent_team_abbr", "player_id", "player_name")
_BOOL_COLUMNS = ("is_home", "starter", "dnp")
# (made, attempted) pairs: made can never exceed attempted.
_SHOT_PAIRS = (
    ("fg_made", "fg_attempted"),
    ("three_pt_made", "three_pt_attempted"),
    ("ft_made", "ft_attempted"),
)
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n", ""}


class BoxScoreError(ValueError):
    """An invalid box-score file: the message names the file, the row and the reason."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    frame: pd.DataFrame
    first_row_number: int  # the human row number of frame row 0


def read_box_scores(paths: Sequence[Path | str]) -> pa.Table:
    """Read and validate every file; return one table in the `player_game_summary` schema."""
    if not paths:
        raise BoxScoreError("no box-score files given")
    frames = [_validate(read_source(Path(path))) for path in paths]
    combined = pd.concat(frames, ignore_index=True)
    _check_unique(combined)
    _check_games(combined)
    stored = combined.drop(columns=["_file", "_row"])
    return conform(pa.Table.from_pandas(stored, preserve_index=False), PLAYER_GAME_SUMMARY)


def read_source(path: Path) -> SourceFile:
    if not path.is_file():
        raise BoxScoreError(f"{path}: no such file")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith(".parquet"):
            return SourceFile(path, pd.read_parquet(path), 1)
        if suffix.endswith((".csv", ".csv.gz")):
            return SourceFile(path, pd.read_csv(path, dtype=str, keep_default_na=False), 2)
    except Exception as err:  # any reader failure is a bad file, reported as one line
        raise BoxScoreError(f"{path}: cannot be read: {str(err).splitlines()[0]}") from None
    raise BoxScoreError(f"{path}: unsupported file type (use .csv, .csv.gz or .parquet)")


def reject(source: SourceFile, mask: np.ndarray | pd.Series, reason: str) -> None:
    if isinstance(mask, pd.Series):  # nullable comparisons: a missing value is not a violation
        mask = mask.fillna(False).to_numpy(dtype=bool)
    bad = np.flatnonzero(mask)
    if bad.size:
        more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
        raise BoxScoreError(f"{source.path}: row {bad[0] + source.first_row_number}: {reason}{more}")


def _validate(source: SourceFile) -> pd.DataFrame:
    raw = source.frame
    required = [c for c in PLAYER_GAME_SUMMARY.columns if c != "player_lookup"]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise BoxScoreError(f"{source.path}: missing column(s) {', '.join(missing)}")
    if raw.empty:
        raise BoxScoreError(f"{source.path}: no rows")
    out = pd.DataFrame(index=raw.index)

    for column in _TEXT_COLUMNS:
        text = raw[column].astype("string").str.strip()
        reject(source, text.isna() | (text == ""), f"{column} is empty")
        out[column] = text

    for column in ("team_abbr", "opponent_team_abbr"):
        unknown = ~out[column].isin(TEAMS)
        if unknown.any():
            reject(source, unknown, f"{column} {_first(out[column], unknown)!r} is not an NBA team code")
    reject(source, out["team_abbr"] == out["opponent_team_abbr"], "team_abbr equals opponent_team_abbr")

    dates = pd.to_datetime(raw["game_date"].astype("string"), errors="coerce", format="mixed")
    if dates.isna().any():
        reject(source, dates.isna(), f"game_date {_first(raw['game_date'], dates.isna())!r} is not a date")
    out["game_date"] = dates.dt.date
    _check_seasons(source, out)

    for column in _BOOL_COLUMNS:
        out[column] = _booleans(source, raw[column], column)

    minutes = _numbers(source, raw["minutes_played"], "minutes_played")
    reject(source, minutes.isna(), "minutes_played is empty")
    reject(source, minutes < 0, "minutes_played is negative")
    reject(source, minutes > 70, "minutes_played is more than a game can last")
    out["minutes_played"] = minutes
    played = (minutes > 0).to_numpy()
    reject(source, played & out["dnp"].to_numpy(), "row marked dnp has minutes played")

    for column in STAT_COLUMNS:
        values = _numbers(source, raw[column], column)
        reject(source, values.notna() & (values != values.round()), f"{column} is not a whole number")
        if column != "plus_minus":
            reject(source, values < 0, f"{column} is negative")
            reject(source, played & values.isna().to_numpy(dtype=bool), f"{column} is empty on a played row")
        out[column] = values.astype("Int64")

    for made, attempted in _SHOT_PAIRS:
        reject(source, out[made] > out[attempted], f"{made} is greater than {attempted}")
    reject(source, out["three_pt_attempted"] > out["fg_attempted"], "three_pt_attempted exceeds fg_attempted")
    reject(source, out["three_pt_made"] > out["fg_made"], "three_pt_made exceeds fg_made")
    expected_points = 2 * (out["fg_made"] - out["three_pt_made"]) + 3 * out["three_pt_made"] + out["ft_made"]
    reject(
        source,
        played & (out["points"] != expected_points).fillna(False).to_numpy(dtype=bool),
        "points do not equal 2·(fg_made − three_pt_made) + 3·three_pt_made + ft_made",
    )
    reject(
        source,
        played
        & (out["rebounds"] != out["offensive_rebounds"] + out["defensive_rebounds"])
        .fillna(False)
        .to_numpy(dtype=bool),
        "rebounds do not equal offensive + defensive rebounds",
    )

    reason = raw["dnp_reason"].astype("string").str.strip()
    out["dnp_reason"] = reason.where(reason.notna() & (reason != ""), None)
    out["player_lookup"] = (
        raw["player_lookup"].astype("string")
        if "player_lookup" in raw.columns
        else out["player_name"].map(player_lookup)
    )
    reject(source, out["player_lookup"].isna() | (out["player_lookup"] == ""), "player_lookup is empty")
    out["_file"] = str(source.path)
    out["_row"] = np.arange(len(out)) + source.first_row_number
    return out


def _check_unique(rows: pd.DataFrame) -> None:
    duplicated = rows.duplicated(["game_id", "player_lookup"], keep="first")
    if duplicated.any():
        row = rows[duplicated].iloc[0]
        raise BoxScoreError(
            f"{row['_file']}: row {row['_row']}: a second row for game {row['game_id']} "
            f"and player {row['player_lookup']}"
        )


def _check_seasons(source: SourceFile, rows: pd.DataFrame) -> None:
    """Every season is named like 2021-22 and every game date falls inside its season."""
    for season in rows["season"].unique():
        in_season = (rows["season"] == season).to_numpy()
        if season_start_year(season) is None:
            reject(source, in_season, f"season {season!r} is not a season like 2021-22")
        first, last = season_bounds(season)
        outside = in_season & ((rows["game_date"] < first) | (rows["game_date"] > last)).to_numpy()
        reject(source, outside, f"game_date is outside season {season} ({first} → {last})")


def _check_games(rows: pd.DataFrame) -> None:
    """Each game is on one date between two teams, each the other's opponent, exactly one at home. The
    row named is the first that disagrees with the rows of its game before it."""
    game = rows.groupby("game_id", sort=False)
    reject_first(
        rows,
        rows["game_date"] != game["game_date"].transform("first"),
        "game {game_id} has rows on another date",
    )
    sides = rows.drop_duplicates(["game_id", "team_abbr"])[["game_id", "team_abbr"]]
    side_number = (
        sides.groupby("game_id", sort=False)
        .cumcount()
        .reindex(rows.index)
        .groupby([rows["game_id"], rows["team_abbr"]], sort=False)
        .transform("max")
    )
    reject_first(rows, side_number > 1, "team {team_abbr} is a third team in game {game_id}")
    side = rows.groupby(["game_id", "team_abbr"], sort=False)
    reject_first(
        rows,
        rows["opponent_team_abbr"] != side["opponent_team_abbr"].transform("first"),
        "team {team_abbr} has a second opponent in game {game_id}",
    )
    reject_first(
        rows,
        rows["is_home"] != side["is_home"].transform("first"),
        "team {team_abbr} is both home and away in game {game_id}",
    )
    # Where both teams of a game have rows, each row's opponent is the other team, and one team is home.
    first, last = game["team_abbr"].transform("min"), game["team_abbr"].transform("max")
    both = first != last
    other = first.where(rows["team_abbr"] != first, last)
    reject_first(
        rows,
        both & (rows["opponent_team_abbr"] != other),
        "opponent_team_abbr {opponent_team_abbr} is not the other team of game {game_id}",
    )
    home_teams = rows["team_abbr"].where(rows["is_home"]).groupby(rows["game_id"]).transform("nunique")
    reject_first(rows, both & (home_teams != 1), "game {game_id} does not have exactly one home team")


def reject_first(rows: pd.DataFrame, mask: pd.Series, reason: str) -> None:
    """Reject the first row where `mask` holds, naming its file and row; `reason` is formatted with it."""
    bad = mask.fillna(False).to_numpy(dtype=bool)
    if bad.any():
        row = rows[bad].iloc[0]
        raise BoxScoreError(f"{row['_file']}: row {row['_row']}: {reason.format(**row)}")


def _first(values: pd.Series, mask: pd.Series) -> object:
    return values[mask.to_numpy()].iloc[0]


def _numbers(source: SourceFile, values: pd.Series, column: str) -> pd.Series:
    text_empty = values.isna() | (values.astype("string").str.strip() == "")
    numbers = pd.to_numeric(values.where(~text_empty, None), errors="coerce").astype("Float64")
    bad = numbers.isna() & ~text_empty
    if bad.any():
        reject(source, bad, f"{column} {_first(values, bad)!r} is not a number")
    return numbers


def _booleans(source: SourceFile, values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        reject(source, values.isna(), f"{column} is empty")
        return values.astype(bool)
    text = values.astype("string").str.strip().str.lower()
    unknown = ~text.isin(_TRUE | _FALSE).fillna(False)
    if unknown.any():
        reject(source, unknown, f"{column} {_first(values, unknown)!r} is not true/false")
    return text.isin(_TRUE).astype(bool)

"""`nba-ray import --lines PATH...`: points-line snapshots (CSV or Parquet) → `prop_lines`.

Two shapes are read:
- one row per snapshot: game_date, player_name or player_lookup, bookmaker, points_line, snapshot_ts, and
  optionally over_price, under_price and team_abbr;
- the player-points market as the common odds feeds deliver it, flattened to one row per bookmaker and
  outcome (Over and Under are two rows): `bookmaker` (the feed's bookmakers[].key), `market` (markets[].key;
  rows of markets other than `player_points` are left out), `name` (Over / Under), `description` (the
  player), `point` (the line), `price`, `last_update` (the snapshot time) and `game_date` or
  `commence_time` (filed under its date in the league's zone). A file in this shape has a `description`
  column; the Over and Under rows of one snapshot become one row with both prices.

Every row is checked (all or nothing, one line naming the file, the row and the reason, as the other
feeds): a line in [MIN_LINE, MAX_LINE], prices as American (|p| ≥ 100) or decimal odds (1 < d < 100,
stored as American), a snapshot time with a zone, and a player (and team, when given) the box scores know:
on a date that was played, a player of that date's games; before it, any player the warehouse holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.clock import TipClock
from nba_ray.data.feeds import FeedError
from nba_ray.data.importer import BoxScoreError, read_source
from nba_ray.data.league import TEAMS
from nba_ray.data.lookup import player_lookup
from nba_ray.warehouse.schemas import PROP_LINES, conform

if TYPE_CHECKING:
    from nba_ray.warehouse import Warehouse

MIN_LINE, MAX_LINE = 0.5, 80.0
ODDS_FEED_MARKET = "player_points"
OVER, UNDER = "over", "under"
# A time of day, then Z or an offset: "2023-01-20T18:00:00Z", "2023-01-20 13:00-05:00".
_ZONE = re.compile(r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_KEY = list(PROP_LINES.key)


def read_lines_feed(paths: Sequence[Path | str], tips: TipClock, box_scores: pa.Table) -> pd.DataFrame:
    """Read and validate line files against the warehouse's box scores (game_date, team_abbr,
    player_lookup); the snapshot rows, each with the `_file` and `_row` it came from."""
    if not paths:
        raise FeedError("no lines files given")
    known = box_scores.select(["game_date", "team_abbr", "player_lookup"]).to_pandas()
    known["game_date"] = pd.to_datetime(known["game_date"]).dt.date
    try:
        frames = [_check_known(_read(Path(p), tips), known) for p in paths]
    except FeedError:
        raise
    except BoxScoreError as err:
        raise FeedError(str(err)) from None
    combined = pd.concat(frames, ignore_index=True)
    duplicated = combined.duplicated(_KEY, keep="first")
    if duplicated.any():
        row = combined[duplicated].iloc[0]
        raise FeedError(
            f"{row['_file']}: row {row['_row']}: a second snapshot of {row['player_lookup']} at "
            f"{row['bookmaker']} on {row['game_date']} at {row['snapshot_ts'].isoformat()}"
        )
    return combined


def appended(stored: pa.Table, incoming: pd.DataFrame) -> tuple[pa.Table, int]:
    """The stored snapshots of the incoming rows' dates with the new ones appended, and how many are
    new. A snapshot already stored is not new (importing a file twice changes nothing); one stored with
    another line or price is refused: a snapshot is what a book offered at that time, never revised."""
    new = (
        to_table(incoming)
        .to_pandas()
        .assign(_file=incoming["_file"].to_numpy(), _row=incoming["_row"].to_numpy())
    )
    old = stored.to_pandas()
    both = new.merge(old, on=_KEY, how="left", suffixes=("", "_stored"), indicator=True)
    seen = (both["_merge"] == "both").to_numpy()
    values = ("points_line", "over_price", "under_price")
    differs = np.zeros(len(both), dtype=bool)
    for column in values:
        a, b = both[column], both[f"{column}_stored"]
        differs |= ~((a == b).fillna(False) | (a.isna() & b.isna())).to_numpy(dtype=bool)
    clash = np.flatnonzero(seen & differs)
    if clash.size:
        row = both.iloc[clash[0]]
        raise FeedError(
            f"{row['_file']}: row {row['_row']}: {row['player_lookup']} at {row['bookmaker']} on "
            f"{row['game_date']} at {row['snapshot_ts'].isoformat()} is stored with another line or price: "
            "a snapshot is never revised (give the new one its own snapshot_ts)"
        )
    fresh = new[~seen]
    if fresh.empty:
        return stored, 0
    return pa.concat_tables([stored, to_table(fresh)]), len(fresh)


def to_table(frame: pd.DataFrame) -> pa.Table:
    """Snapshot rows (with or without the reader's `_file` / `_row` columns) in the `prop_lines` schema."""
    stored = frame.drop(columns=[c for c in frame.columns if c.startswith("_")])
    return conform(pa.Table.from_pandas(stored, preserve_index=False), PROP_LINES)


class _File:
    """A file's rows, each with its number in the file (`_row`), and how to refuse one."""

    def __init__(self, path: Path, frame: pd.DataFrame, first_row_number: int) -> None:
        self.path = path
        self.frame = frame.assign(_row=np.arange(len(frame)) + first_row_number).reset_index(drop=True)

    def require(self, columns: Sequence[str]) -> None:
        missing = [c for c in columns if c not in self.frame.columns]
        if missing:
            raise FeedError(f"{self.path}: missing column(s) {', '.join(missing)}")

    def refuse(self, mask: pd.Series | np.ndarray, reason: str) -> None:
        """One line naming the first row where `mask` holds (a missing value is no violation)."""
        bad = np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool) if isinstance(mask, pd.Series) else mask)
        if bad.size:
            more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
            raise FeedError(f"{self.path}: row {self.frame['_row'].iloc[bad[0]]}: {reason}{more}")


def _read(path: Path, tips: TipClock) -> pd.DataFrame:
    source = read_source(path)
    if source.frame.empty:
        raise FeedError(f"{path}: no rows")
    file = _File(path, source.frame, source.first_row_number)
    out = _odds_feed(file, tips) if "description" in file.frame.columns else _snapshots(file)
    return out.assign(_file=str(path))


def _snapshots(file: _File) -> pd.DataFrame:
    raw = file.frame
    file.require(("game_date", "bookmaker", "points_line", "snapshot_ts"))
    if "player_lookup" not in raw.columns and "player_name" not in raw.columns:
        raise FeedError(f"{file.path}: missing column(s) player_lookup or player_name")
    out = pd.DataFrame({"_row": raw["_row"]})
    out["game_date"] = _dates(file, raw["game_date"], "game_date")
    names = raw["player_lookup"] if "player_lookup" in raw.columns else raw["player_name"]
    out["player_lookup"] = _lookups(names)
    file.refuse(out["player_lookup"] == "", "player is empty")
    out["bookmaker"] = _bookmakers(file, raw["bookmaker"])
    out["snapshot_ts"] = _timestamps(file, raw["snapshot_ts"], "snapshot_ts")
    out["points_line"] = _line(file, raw["points_line"], "points_line")
    for column in ("over_price", "under_price"):
        out[column] = _prices(file, raw[column], column) if column in raw.columns else pd.NA
    out["_team"] = _teams(file, raw["team_abbr"]) if "team_abbr" in raw.columns else pd.NA
    return out


def _odds_feed(file: _File, tips: TipClock) -> pd.DataFrame:
    """Over / Under outcome rows of the player-points market, paired into one row per snapshot."""
    file.require(("bookmaker", "name", "description", "point", "price", "last_update"))
    if "game_date" not in file.frame.columns and "commence_time" not in file.frame.columns:
        raise FeedError(f"{file.path}: missing column(s) game_date or commence_time")
    if "market" in file.frame.columns:
        market = file.frame["market"].astype("string").str.strip().str.lower()
        file.frame = file.frame[(market == ODDS_FEED_MARKET).fillna(False).to_numpy()].reset_index(drop=True)
        if file.frame.empty:
            raise FeedError(f"{file.path}: no rows of the {ODDS_FEED_MARKET} market")
    feed = file.frame
    rows = pd.DataFrame({"_row": feed["_row"]})
    if "game_date" in feed.columns:
        rows["game_date"] = _dates(file, feed["game_date"], "game_date")
    else:
        starts = _timestamps(file, feed["commence_time"], "commence_time")
        rows["game_date"] = [tips.local_date(moment) for moment in starts]
    rows["player_lookup"] = _lookups(feed["description"])
    file.refuse(rows["player_lookup"] == "", "description (the player) is empty")
    rows["bookmaker"] = _bookmakers(file, feed["bookmaker"])
    rows["snapshot_ts"] = _timestamps(file, feed["last_update"], "last_update")
    rows["points_line"] = _line(file, feed["point"], "point")
    side = feed["name"].astype("string").str.strip().str.lower()
    file.refuse(~side.isin([OVER, UNDER]).fillna(False), "name is not Over or Under")
    rows["_side"] = side
    rows["_price"] = _prices(file, feed["price"], "price")
    file.refuse(rows.duplicated([*_KEY, "_side"]), "a second outcome of the same side for one snapshot")
    disagree = rows.groupby(_KEY, sort=False)["points_line"].transform("nunique") > 1
    file.refuse(disagree, "the Over and Under rows of one snapshot have different points")
    pairs = rows.drop_duplicates(_KEY, keep="first").set_index(_KEY)
    for side_name, column in ((OVER, "over_price"), (UNDER, "under_price")):
        pairs[column] = rows[rows["_side"] == side_name].set_index(_KEY)["_price"].reindex(pairs.index)
    return pairs.reset_index().drop(columns=["_side", "_price"]).assign(_team=pd.NA)


def _dates(file: _File, values: pd.Series, column: str) -> pd.Series:
    dates = pd.to_datetime(values.astype("string"), errors="coerce", format="mixed")
    file.refuse(dates.isna(), f"{column} is not a date")
    return dates.dt.date


def _lookups(names: pd.Series) -> pd.Series:
    return names.astype("string").fillna("").map(lambda name: player_lookup(name) if name else "")


def _bookmakers(file: _File, values: pd.Series) -> pd.Series:
    books = values.astype("string").str.strip().str.lower()
    file.refuse(books.isna() | (books == ""), "bookmaker is empty")
    return books


def _teams(file: _File, values: pd.Series) -> pd.Series:
    team = values.astype("string").str.strip().str.upper()
    file.refuse(~team.isin(TEAMS).fillna(False), "team_abbr is not an NBA team code")
    return team


def _timestamps(file: _File, values: pd.Series, column: str) -> pd.Series:
    """Timestamps with a zone (a Parquet column of zoned timestamps, or ISO 8601 text ending in Z or an
    offset); a time without one is refused: nobody can tell when it was."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        file.refuse(np.ones(len(values), dtype=bool), f"{column} has no time zone")
    text = values.astype("string").str.strip()
    file.refuse(text.isna() | (text == ""), f"{column} is empty")
    file.refuse(~text.str.contains(_ZONE), f"{column} has no time zone (use ISO 8601 with Z or +hh:mm)")
    stamps = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    file.refuse(stamps.isna(), f"{column} is not an ISO 8601 timestamp")
    return stamps


def _line(file: _File, values: pd.Series, column: str) -> pd.Series:
    line = pd.to_numeric(values, errors="coerce")
    file.refuse(line.isna(), f"{column} is not a number")
    file.refuse((line < MIN_LINE) | (line > MAX_LINE), f"{column} is outside [{MIN_LINE:g}, {MAX_LINE:g}]")
    return line.astype(float)


def _prices(file: _File, values: pd.Series, column: str) -> pd.Series:
    """American odds as given, decimal odds converted to American; empty stays empty."""
    text = values.astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
    price = pd.to_numeric(text.where(~empty, None), errors="coerce").to_numpy(dtype=float)
    file.refuse(np.isnan(price) & ~empty, f"{column} is not a number")
    american = np.abs(price) >= 100
    decimal = (price > 1) & (price < 100)
    file.refuse(
        ~empty & ~american & ~decimal, f"{column} is neither American (≤ -100, ≥ +100) nor decimal odds (> 1)"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        converted = np.where(price >= 2, (price - 1) * 100, -100 / (price - 1))
    out = np.round(np.where(american, price, converted))
    return pd.Series(out, index=values.index).where(~empty).astype("Int64")


def _check_known(frame: pd.DataFrame, box_scores: pd.DataFrame) -> pd.DataFrame:
    """Players (and teams, when given) the box scores know: on a played date, of that date's games."""
    played = frame["game_date"].isin(set(box_scores["game_date"])).to_numpy()
    on_date = frame[["game_date", "player_lookup"]].merge(
        box_scores.drop_duplicates(["game_date", "player_lookup"]),
        on=["game_date", "player_lookup"],
        how="left",
    )
    team = on_date["team_abbr"].astype("string").fillna("").to_numpy(dtype=object)
    known = frame["player_lookup"].isin(set(box_scores["player_lookup"])).to_numpy()
    _fail_first(frame, played & (team == ""), "{player} is not in the box scores of {date}")
    _fail_first(frame, ~played & ~known, "{player} is not in the box scores")
    given = frame["_team"].astype("string").fillna("").to_numpy(dtype=object)
    wrong = played & (given != "") & (team != given)
    _fail_first(frame, wrong, "{player} did not play for {team} on {date}")
    return frame.drop(columns=["_team"])


def _fail_first(frame: pd.DataFrame, bad: np.ndarray, template: str) -> None:
    rows = np.flatnonzero(bad)
    if rows.size:
        row = frame.iloc[rows[0]]
        more = f" (and {rows.size - 1} more rows)" if rows.size > 1 else ""
        reason = template.format(player=row["player_lookup"], team=row["_team"], date=row["game_date"])
        raise FeedError(f"{row['_file']}: row {row['_row']}: player {reason}{more}")


def import_lines(warehouse: Warehouse, paths: Sequence[Path]) -> tuple[int, int]:
    """Validate line files against the warehouse's box scores and append their new snapshots; returns
    (snapshots read, snapshots new). Nothing is written unless every row of every file is valid."""
    feed = read_lines_feed(paths, warehouse.tips, warehouse.read_box_scores())
    stored = warehouse.read_prop_lines(sorted(set(feed["game_date"])))
    merged, new = appended(stored, feed)
    if new:
        warehouse.replace_prop_lines(merged)
    return len(feed), new

"""Who plays tonight: the v2 availability features (contract `_AVAILABILITY_FEATURES`).

Input: `player_availability` rows (AVAILABLE / OUT per game_date, team, player; a report's other
statuses count as neither yet). For each team-date the
builder uses the BOX_SCORE rows when there are any, else the FEED rows, else nothing (`availability_source`
NONE). Every figure of a player is his own recent form as of the date, from games before it: the means
over his last 10 played games of points, usage plays (FGA + 0.44·FTA + TOV) and minutes, with the same
window base as his own features (a player without games counts 0).

For a box-score row of player p on team T and date D:
- teammates_{points,usage,minutes}_last_10: the sums over T's AVAILABLE players on D other than p;
- share_of_active_{points,usage}: p's figure / (p's + teammates'), default when the total is 0;
- points_vacated_last_10: the sum of the points figure over T's OUT players on D other than p;
- each "_vs_recent": the value on D minus its mean over p's last 10 played games (the same value computed
  for each of those games, on the dates they were played; games without availability are left out).
With no availability on D the D values are taken as that recent mean (no news: the deltas are 0) and
their quality is 40; with neither, the contract defaults.

Only the date's availability (who has a row, and whether on the inactive list) enters D's figures, never
its minutes or points. Sums are exact (int64 fixed point), so a row does not depend on the order in which
players were listed or on the range a build covered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.features.contract import (
    FEATURE_DEFAULTS,
    QUALITY_DEFAULT,
    QUALITY_FULL,
    SOURCE_NONE,
)
from nba_ray.features.inputs import BoxScores, Targets, prefer_box_scores
from nba_ray.features.player_windows import LONG_WINDOW, PlayerWindows, windows_at
from nba_ray.features.sequence import DAY_KEY_BASE, Columns, EventSequence, ratio
from nba_ray.warehouse.schemas import AVAILABILITY_AVAILABLE, AVAILABILITY_OUT

__all__ = ["AVAILABILITY_FIGURES", "availability_features"]

# The recent-form figures summed over teammates: feature stem → played-sequence column.
AVAILABILITY_FIGURES: dict[str, str] = {"points": "points", "usage": "usage_plays", "minutes": "minutes"}
# Team-date sums are int64 counts of 2⁻⁴⁰: exact, and fine enough that 15 players' rounding stays < 1e-11.
_SUM_SCALE = float(2**40)
_SHARES = {"points": "share_of_active_points", "usage": "share_of_active_usage"}
# Each figure on the date → its change against the player's recent games.
_DELTAS = {
    "teammates_points_last_10": "teammates_points_vs_recent",
    "teammates_usage_last_10": "teammates_usage_vs_recent",
    "teammates_minutes_last_10": "teammates_minutes_vs_recent",
    "share_of_active_points": "share_of_active_points_vs_recent",
    "share_of_active_usage": "share_of_active_usage_vs_recent",
    "points_vacated_last_10": "points_vacated_vs_recent",
}


@dataclass(frozen=True)
class _Tonight:
    """Availability figures of every box-score row, on its own date."""

    known: np.ndarray  # the row's team-date has availability
    source: np.ndarray  # BOX_SCORE / FEED / NONE
    values: Columns  # feature name → value (meaningful where known)


def availability_features(
    box: BoxScores,
    played: EventSequence,
    t: Targets,
    w: PlayerWindows,
    availability: pa.Table,
    values: Columns,
    quality: Columns,
) -> tuple[EventSequence, np.ndarray]:
    """Fill the availability features of the target rows; return the played sequence (with the at-game
    columns added) and each target row's availability source."""
    tonight = _figures_on_each_date(box, played, availability)
    at_game = {name: np.where(tonight.known, column, 0.0) for name, column in tonight.values.items()}
    at_game["availability_known"] = tonight.known.astype(np.float64)
    rows = np.flatnonzero(box.played)
    played = played.with_input_values({name: column[rows] for name, column in at_game.items()})

    lo, _ = w.last(LONG_WINDOW)
    recent_games = played.window(lo, w.n)
    recent_count = recent_games.total("availability_known")
    has_recent = recent_count > 0
    known = tonight.known[t.rows]
    level_quality = np.where(known, QUALITY_FULL, QUALITY_DEFAULT)
    relative_quality = np.minimum(level_quality, w.quality(LONG_WINDOW))
    for name, delta in _DELTAS.items():
        recent = ratio(recent_games.total(name), recent_count, FEATURE_DEFAULTS[name])
        value = np.where(known, tonight.values[name][t.rows], recent)
        values[name] = value
        values[delta] = np.where(known & has_recent, value - recent, FEATURE_DEFAULTS[delta])
        quality[name] = relative_quality if name in _SHARES.values() else level_quality
        quality[delta] = relative_quality
    return played, tonight.source[t.rows]


def _figures_on_each_date(box: BoxScores, played: EventSequence, availability: pa.Table) -> _Tonight:
    """For every box-score row: the teammates' sums, shares and points vacated on its date."""
    team_date = box.team * DAY_KEY_BASE + box.day
    keys, row_slot = np.unique(team_date, return_inverse=True)
    slot_season = np.zeros(len(keys), dtype=np.int64)
    slot_season[row_slot] = box.season
    av = _availability_rows(box, availability, keys)
    # Each listed player's recent form as of the date, in fixed point.
    listed = windows_at(played, av.player, slot_season[av.slot], keys[av.slot] % DAY_KEY_BASE)
    own = windows_at(played, box.player, box.season, box.day)
    listed_form = _recent_form(listed, played)
    own_form = _recent_form(own, played)

    known_slot = np.zeros(len(keys), dtype=bool)
    known_slot[av.slot] = True
    source_slot = np.full(len(keys), SOURCE_NONE, dtype=object)
    source_slot[av.slot] = av.source
    own_status = _own_status(box, row_slot, av)

    out: Columns = {}
    for stem, column in AVAILABILITY_FIGURES.items():
        active = _slot_sum(
            av.slot, np.where(av.status == AVAILABILITY_AVAILABLE, listed_form[column], 0), len(keys)
        )
        mine = own_form[column]
        teammates = active[row_slot] - np.where(own_status == AVAILABILITY_AVAILABLE, mine, 0)
        out[f"teammates_{stem}_last_10"] = teammates / _SUM_SCALE
        if stem in _SHARES:
            out[_SHARES[stem]] = ratio(
                mine / _SUM_SCALE, (mine + teammates) / _SUM_SCALE, FEATURE_DEFAULTS[_SHARES[stem]]
            )
        if stem == "points":
            gone = _slot_sum(
                av.slot, np.where(av.status == AVAILABILITY_OUT, listed_form[column], 0), len(keys)
            )
            vacated = gone[row_slot] - np.where(own_status == AVAILABILITY_OUT, mine, 0)
            out["points_vacated_last_10"] = vacated / _SUM_SCALE
    return _Tonight(known=known_slot[row_slot], source=source_slot[row_slot], values=out)


@dataclass(frozen=True)
class _Listed:
    slot: np.ndarray  # team-date index
    player: np.ndarray  # player code, -1 for a player without a box score
    status: np.ndarray
    source: np.ndarray


def _availability_rows(box: BoxScores, availability: pa.Table, keys: np.ndarray) -> _Listed:
    """Availability rows of the team-dates in the box scores, one source per team-date (BOX_SCORE first)."""
    team = pc.index_in(availability["team_abbr"], value_set=box.team_values)
    player = pc.index_in(availability["player_lookup"], value_set=box.player_values)
    day = pc.cast(availability["game_date"], pa.int32()).to_numpy().astype(np.int64) - box.day_origin
    team_code = pc.fill_null(team, -1).to_numpy().astype(np.int64)
    key = team_code * DAY_KEY_BASE + day
    slot = np.clip(np.searchsorted(keys, key), 0, max(len(keys) - 1, 0))
    in_box = (team_code >= 0) & (keys[slot] == key) if len(keys) else np.zeros(len(key), dtype=bool)
    source = availability["source"].to_numpy(zero_copy_only=False).astype(object)
    keep = in_box & prefer_box_scores(key, source)
    return _Listed(
        slot=slot[keep],
        player=pc.fill_null(player, -1).to_numpy().astype(np.int64)[keep],
        status=availability["status"].to_numpy(zero_copy_only=False).astype(object)[keep],
        source=source[keep],
    )


def _own_status(box: BoxScores, row_slot: np.ndarray, av: _Listed) -> np.ndarray:
    """Each box-score row's own status on its team-date ("" when not listed), to leave him out of sums."""
    width = len(box.player_values) + 1
    own_key = row_slot * width + box.player
    listed_key = av.slot * width + av.player  # a player without a box score (-1) never matches
    order = np.argsort(listed_key, kind="stable")
    status = np.full(len(own_key), "", dtype=object)
    if len(order):
        position = np.clip(np.searchsorted(listed_key[order], own_key), 0, len(order) - 1)
        matched = listed_key[order][position] == own_key
        status[matched] = av.status[order][position][matched]
    return status


def _recent_form(w: PlayerWindows, played: EventSequence) -> dict[str, np.ndarray]:
    """Means over the last 10 played games (0 without games), as int64 counts of 2⁻⁴⁰."""
    lo, count = w.last(LONG_WINDOW)
    games = played.window(lo, w.n)
    return {
        column: np.rint(ratio(games.total(column), count, 0.0) * _SUM_SCALE).astype(np.int64)
        for column in AVAILABILITY_FIGURES.values()
    }


def _slot_sum(slot: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    total = np.zeros(size, dtype=np.int64)
    np.add.at(total, slot, values.astype(np.int64))
    return total

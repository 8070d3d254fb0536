"""Who starts tonight: the v3 lineup features (contract `_LINEUP_FEATURES`), for the pre-tip model.

Input: `starting_lineups` rows (the five announced starters of a team-date). For each team-date the
builder uses the BOX_SCORE rows when there are any, else the FEED rows, else nothing (`lineup_source`
NONE: no lineup announced). For a box-score row of player p on team T and date D:
- starts_last_10: the share of p's last 10 played games (the player windows' base) that he started,
  from the box scores' `starter`; the contract default without games;
- starter_tonight: 1 when p is among T's starters on D, 0 when T's lineup lists others; with no lineup,
  no news: starts_last_10;
- starter_vs_recent: starter_tonight − starts_last_10 (0 with no lineup or no games).

Only D's lineup enters D's figures, never its minutes, points or who actually started once the game
began: the box scores' `starter` of D itself reaches D only through `starting_lineups` (derived on
import for played dates, as a lineup announced before tip-off would be).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.features.contract import FEATURE_DEFAULTS, QUALITY_DEFAULT, QUALITY_FULL, SOURCE_NONE
from nba_ray.features.inputs import BoxScores, Targets, prefer_box_scores
from nba_ray.features.player_windows import LONG_WINDOW, PlayerWindows
from nba_ray.features.sequence import DAY_KEY_BASE, Columns, EventSequence, ratio

__all__ = ["lineup_features"]


def lineup_features(
    box: BoxScores,
    played: EventSequence,
    t: Targets,
    w: PlayerWindows,
    lineups: pa.Table,
    values: Columns,
    quality: Columns,
) -> np.ndarray:
    """Fill the lineup features of the target rows; return each row's lineup source."""
    lo, count = w.last(LONG_WINDOW)
    recent = ratio(played.total("started", lo, w.n), count, FEATURE_DEFAULTS["starts_last_10"])
    known, listed, source = _announced(box, t, lineups)
    tonight = np.where(known, listed.astype(np.float64), recent)
    values["starts_last_10"] = recent
    values["starter_tonight"] = tonight
    values["starter_vs_recent"] = np.where(known & (count > 0), tonight - recent, 0.0)
    recent_quality = w.quality(LONG_WINDOW)
    quality["starts_last_10"] = recent_quality
    quality["starter_tonight"] = np.where(known, QUALITY_FULL, QUALITY_DEFAULT)
    quality["starter_vs_recent"] = np.minimum(quality["starter_tonight"], recent_quality)
    return source


def _announced(box: BoxScores, t: Targets, lineups: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per target row: whether its team-date has a lineup, whether he is in it, and its source."""
    team = pc.fill_null(pc.index_in(lineups["team_abbr"], value_set=box.team_values), -1).to_numpy()
    player = pc.fill_null(pc.index_in(lineups["player_lookup"], value_set=box.player_values), -1).to_numpy()
    day = pc.cast(lineups["game_date"], pa.int32()).to_numpy().astype(np.int64) - box.day_origin
    source = lineups["source"].to_numpy(zero_copy_only=False).astype(object)
    team_date = np.where(team >= 0, team.astype(np.int64) * DAY_KEY_BASE + day, -1)

    keep = (team_date >= 0) & prefer_box_scores(team_date, source)
    announced_dates, first = np.unique(team_date[keep], return_index=True)

    width = len(box.player_values) + 1
    target_date = t.team.astype(np.int64) * DAY_KEY_BASE + t.day
    known = np.isin(target_date, announced_dates)
    starters = team_date[keep] * width + player[keep]
    listed = known & np.isin(target_date * width + t.player, starters[player[keep] >= 0])
    position = np.clip(np.searchsorted(announced_dates, target_date), 0, max(len(announced_dates) - 1, 0))
    row_source = np.full(len(target_date), SOURCE_NONE, dtype=object)
    if len(announced_dates):
        row_source[known] = source[keep][first][position[known]]
    return known, listed, row_source

"""Feature-store builder: box scores → `ml_feature_store` rows (SYSTEMS.md §2, `FEATURE_VERSION`).

`build_features(box_scores, start, end)` returns, for every game date D in [start, end], one row per
box-score row on D whose player has at least one played game (minutes_played > 0) before D in any season,
except rows whose `dnp_reason` is "Did Not Dress", "Not With Team" or "Player Suspended": those are known
before tip-off from the inactive list. "Did Not Play" (coach's decision) and "Played 0:00" are not, so
those players get a row and grading later voids their predictions.

Walk-forward: every figure of a row on D is computed only from games strictly before D (games on D, the
target game included, are never used), so a row never changes when later box scores change.

Decisions (the spec leaves them open; they are kept identical in `tests/reference_features.py`):

Player windows. "Played" = minutes_played > 0. Windows are "the last k played games since the window
base". The base is the first game of the current season when the player has ≥ 3 played games of the
current season before D, otherwise the first game of the player's previous season (the season whose
start year is one less: 2020-21 for 2021-22). `games_in_history` = played games since the base;
`points_avg_season` (and the season minutes average of `minutes_change`) = mean since the base.
`data_source`: `current_season` (≥ 3 current games, or 1–2 current games and no previous-season game),
`mixed` (1–2 current games plus previous-season games), `previous_season` (only previous-season games),
`defaults` (no game since the base: every player-window feature takes its contract default).

Calendar figures (`days_rest`, `back_to_back`, `games_in_last_7_days`, `fatigue_score`) use the player's
played games in any season: they are facts about the schedule, and the 10-day cap makes an off-season
gap harmless. Every target row has a previous played game, so they are always computed (quality 100).
Back-to-backs "in the 14 days before D" are consecutive-day pairs with both games in [D−14, D−1].

Team-game totals come from played rows: per (game_id, team) the sums of points, FGA, FTA, OREB, TOV, FGM,
3PM, 3PA, FTM and player minutes. possessions = FGA − OREB + TOV + 0.44·FTA; a game's possessions are the
mean of both teams'; pace = 48 · game possessions / (team minutes / 5); offensive (defensive) rating =
100 · own (opponent) points / game possessions. A team-game whose opponent has no played rows cannot
give possessions and is left out of team windows. Team windows are the team's last k games of the
current season before D, with no previous-season fallback; per-game figures (pace, ratings) are averaged
over the games, shooting figures are ratios of sums. League figures "to date" use every team-game of the
current season before D; before the season's first game they are the previous season's full-season
figures when that season is in the data, else the defaults (contract DEFAULT_LEAGUE_PACE/RATING and the
DEFAULT_LEAGUE_* zone constants below). Team days_rest = days since the team's previous game (any
season) − 1, cap 10, default 1.

Usage rate uses the minute-weighted form of the SYSTEMS formula over a window:
100 · Σ(FGA + 0.44·FTA + TOV) / Σ(minutes · team_plays / (team_minutes / 5)), a ratio of sums, so a
1-minute game cannot blow the average up the way a mean of per-game rates would. The stored
`usage_rate_last_10` is clipped to the contract range 0–100; `usage_spike_score` uses the raw rates.

Shooting ratios over the last 10 games (three_pt_rate, ft_rate, pct_points_from_three/ft) are ratios of
sums and take the contract default when the denominator is 0. Zone context: the opponent's allowed
2P% / 3P% / FTA-per-FGA over its last 15 games minus the league's to date (0 when the opponent has no
game yet); the player's expected points by zone are means over the last 10 played games of
2·(FGM−3PM), 3·3PM and FTM, defaulting to the contract's points default split by its default scoring mix
(10 · (1 − 0.30 − 0.15), 10 · 0.30, 10 · 0.15). shot_zone_mismatch_score = Σ_z exp_points_z ·
(opp_eff_z / league_eff_z − 1), clamp −10…10 (+ = the opponent is weak where the player scores).
league_def_rating_p33/p67 are numpy 'linear' percentiles of the teams' mean defensive ratings over their
current-season games before D (teams without a game excluded), with the same previous-season / default
fallback as other league figures.

Quality (SYSTEMS §2.1), per feature: a player window of k games scores 100 when the player has ≥ k
current-season games before D, 75 when computed from fewer or with previous-season games, 40 when
defaulted (`points_avg_season`: 100 when the base is the current season; `recent_trend`: needs all 5
games, else it is defaulted). Team/opponent windows: 100 with the full 10/15 current-season games, 75
with 1…k−1, 40 when defaulted to the league figure. `is_home` and the calendar figures: 100 (40 without
a previous game). A feature derived from other features (pace_score, rest_advantage,
shot_zone_mismatch_score) is computed from its filled inputs and takes the lowest quality among them.
League figures count as computed. `feature_quality_score` = mean over the 25 features. Finally every
feature is clipped to its contract range (only usage rate can reach a bound in practice).

Output rows are sorted by (game_date, player_lookup). Bad input (missing columns, null keys or dates,
null stats on a played row, two rows for one player on one date, season labels out of date order) raises
ValueError: a date never "succeeds" on data the builder had to guess.

Implementation: no Python loop per player or per row. Played games (and team-games) are sorted by
(group, day) with running sums that restart at each group (player, team); each target row finds its
window bounds with `np.searchsorted` on integer keys (group · 100000 + day), and a window total is a
difference of two running sums. Because the sums restart per group and the input is first sorted by
(game_date, game_id, team, player), a row's figures depend only on the games before its date, bit for
bit, whatever else the input holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.features.contract import (
    DEFAULT_LEAGUE_PACE,
    DEFAULT_LEAGUE_RATING,
    FEATURE_DEFAULTS,
    FEATURE_NAMES,
    FEATURE_VERSION,
    FEATURES,
    QUALITY_DEFAULT,
    QUALITY_FULL,
    QUALITY_PARTIAL,
    ZONE_CONTEXT_COLUMNS,
)
from nba_ray.warehouse.schemas import ML_FEATURE_STORE, conform

__all__ = ["build_features"]

# --- Target rows -------------------------------------------------------------------------------------
PRE_GAME_INACTIVE_REASONS: tuple[str, ...] = ("Did Not Dress", "Not With Team", "Player Suspended")

# --- Windows ------------------------------------------------------------------------------------------
MIN_CURRENT_SEASON_GAMES = 3  # below this the window base extends to the previous season
SHORT_WINDOW = 5
LONG_WINDOW = 10
USAGE_SHORT_WINDOW = 3
TEAM_WINDOW = 10
OPPONENT_WINDOW = 15
TREND_RECENT_GAMES = 3  # recent_trend: mean of games 1–3 vs games 4–5 (most recent first)

# --- Basketball formulas -------------------------------------------------------------------------------
FT_POSSESSION_WEIGHT = 0.44
MINUTES_PER_GAME = 48.0
PLAYERS_ON_COURT = 5.0
PER_100_POSSESSIONS = 100.0
USAGE_SCALE = 100.0
TWO_POINTS = 2.0
THREE_POINTS = 3.0

# --- Rest and fatigue (SYSTEMS §2, feature 5) ----------------------------------------------------------
DAYS_REST_CAP = 10
FATIGUE_START = 100.0
FATIGUE_MIN, FATIGUE_MAX = 0.0, 100.0
FATIGUE_BACK_TO_BACK = -15.0
FATIGUE_RESTED_DAYS = 3
FATIGUE_RESTED_BONUS = 5.0
FATIGUE_WINDOW_DAYS = 7
FATIGUE_MANY_GAMES = 4
FATIGUE_MANY_GAMES_PENALTY = -10.0
FATIGUE_MANY_MINUTES = 240.0
FATIGUE_MANY_MINUTES_PENALTY = -10.0
FATIGUE_HIGH_MINUTES_PER_GAME = 35.0
FATIGUE_HIGH_MINUTES_PER_GAME_PENALTY = -8.0
FATIGUE_B2B_WINDOW_DAYS = 14
FATIGUE_ONE_B2B_PENALTY = -5.0
FATIGUE_MANY_B2B = 2
FATIGUE_MANY_B2B_PENALTY = -12.0
GAMES_WINDOW_DAYS = 7  # games_in_last_7_days counts played games in [D−7, D−1]

# --- Derived scores -------------------------------------------------------------------------------------
PACE_SCORE_DIVISOR = 2.0
PACE_SCORE_LIMIT = 3.0
USAGE_SPIKE_WEIGHT = 0.3
USAGE_SPIKE_LIMIT = 3.0
REST_ADVANTAGE_LIMIT = 2.0
ZONE_MISMATCH_LIMIT = 10.0
TREND_STRONG, TREND_MILD = 5.0, 2.0  # point differences for ±2 / ±1
MINUTES_CHANGE_STRONG, MINUTES_CHANGE_MILD = 0.20, 0.10  # relative change for ±2 / ±1

# --- League defaults not in the contract (used only before any game of the first season in the data) ---
DEFAULT_LEAGUE_TWO_PCT = 0.53
DEFAULT_LEAGUE_THREE_PCT = 0.355
DEFAULT_LEAGUE_FT_RATE = FEATURE_DEFAULTS["ft_rate_last_10"]
DEFAULT_DEF_RATING_TERCILE_HALF_GAP = 1.5  # p33/p67 = DEFAULT_LEAGUE_RATING ∓ this
LOWER_TERCILE, UPPER_TERCILE = 33.0, 67.0
# Player expected points by zone when the player has no window: the contract's points default split by
# its default scoring mix (share from threes, share from free throws, the rest from twos).
_DEFAULT_POINTS = FEATURE_DEFAULTS["points_avg_last_10"]
_DEFAULT_THREE_SHARE = FEATURE_DEFAULTS["pct_points_from_three_last_10"]
_DEFAULT_FT_SHARE = FEATURE_DEFAULTS["pct_points_from_ft_last_10"]
DEFAULT_EXP_POINTS = {
    "two": _DEFAULT_POINTS * (1.0 - _DEFAULT_THREE_SHARE - _DEFAULT_FT_SHARE),
    "three": _DEFAULT_POINTS * _DEFAULT_THREE_SHARE,
    "ft": _DEFAULT_POINTS * _DEFAULT_FT_SHARE,
}

# Integer keys for searchsorted: group · base + day (days counted from the earliest date in the input,
# so they are non-negative and < 100000 for 270 years) and group · base + season start year.
_DAY_KEY_BASE = 100_000
_SEASON_KEY_BASE = 10_000

_STATS = (
    "points",
    "fg_made",
    "fg_attempted",
    "three_pt_made",
    "three_pt_attempted",
    "ft_made",
    "ft_attempted",
    "offensive_rebounds",
    "turnovers",
)

_REQUIRED_COLUMNS = (
    *("season", "game_id", "game_date", "team_abbr", "opponent_team_abbr", "is_home"),
    *("player_id", "player_lookup", "minutes_played", "dnp_reason", *_STATS),
)

Columns = dict[str, np.ndarray]


# ======================================================================================================
# Public API
# ======================================================================================================


def build_features(box_scores: pa.Table, start: date, end: date) -> pa.Table:
    """Build the feature-store rows for game dates in [start, end], conformed to `ML_FEATURE_STORE`.

    `box_scores` has the `player_game_summary` columns and holds every game the windows need (the
    caller passes all games up to `end`); only games strictly before each row's date are used.
    """
    box = _load_box_scores(box_scores)
    team_games = _team_game_totals(box)
    played = _player_sequence(box, team_games)
    teams = _team_sequence(team_games)
    league = _league_sequence(team_games)

    targets = _target_rows(box, played, start, end)
    if len(targets.rows) == 0:
        return ML_FEATURE_STORE.schema.empty_table()
    values: Columns = {}
    quality: Columns = {}
    windows = _player_window_bounds(targets, played)
    _player_window_features(windows, played, values, quality)
    _calendar_features(targets, played, values, quality)
    league_now = _league_to_date(targets, league, teams)
    opponent = _team_features(targets, teams, league_now, values, quality)
    _derived_features(league_now, opponent, values, quality)
    _zone_context(league_now, opponent, values)
    _clip_to_contract(values)
    return _assemble(box, targets, windows, values, quality)


# ======================================================================================================
# Input
# ======================================================================================================


@dataclass(frozen=True)
class _BoxScores:
    """The box scores as numpy columns: integer codes for players, teams and games, day numbers."""

    table: pa.Table
    player: np.ndarray
    team: np.ndarray
    opponent: np.ndarray
    n_teams: int
    game: np.ndarray
    day: np.ndarray
    day_origin: int
    season: np.ndarray  # season start year, e.g. 2021 for "2021-22"
    played: np.ndarray
    inactive: np.ndarray
    is_home: np.ndarray
    stats: Columns  # float64; 0 on rows that did not play (they never enter a window)


def _codes(*columns: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dictionary-encode string columns as one: integer codes (in order of first appearance), values."""
    array = pa.concat_arrays(
        [chunk for column in columns for chunk in column.chunks] or [pa.array([], pa.string())]
    )
    if array.null_count:
        raise ValueError("box scores: a key column (season, game, team, player) has nulls")
    encoded = pc.dictionary_encode(array)
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def _season_start_years(season: pa.ChunkedArray) -> np.ndarray:
    """Season labels "YYYY-YY" → start year; the previous season is start year − 1."""
    codes, labels = _codes(season)
    years = []
    for label in labels.to_pylist():  # one iteration per distinct season label
        if label is None or len(label) < 4 or not label[:4].isdigit():
            raise ValueError(f"box scores: season label {label!r} is not of the form 'YYYY-YY'")
        years.append(int(label[:4]))
    return np.asarray(years, dtype=np.int64)[codes] if len(codes) else np.zeros(0, np.int64)


def _load_box_scores(table: pa.Table) -> _BoxScores:
    """Validate and convert the box scores; errors are raised, never papered over with defaults."""
    missing = [name for name in _REQUIRED_COLUMNS if name not in table.column_names]
    if missing:
        raise ValueError(f"box scores: missing column(s) {', '.join(missing)}")
    # A fixed order makes codes and summation order independent of how the caller ordered the rows.
    table = table.sort_by(
        [(name, "ascending") for name in ("game_date", "game_id", "team_abbr", "player_lookup")]
    ).combine_chunks()
    player, _ = _codes(table.column("player_lookup"))
    game, _ = _codes(table.column("game_id"))
    team_codes, team_values = _codes(table.column("team_abbr"), table.column("opponent_team_abbr"))
    n = table.num_rows
    if table.column("game_date").null_count:
        raise ValueError("box scores: game_date has nulls")
    days = pc.cast(table.column("game_date"), pa.date32()).cast(pa.int32()).to_numpy().astype(np.int64)
    day_origin = int(days.min()) if n else 0
    minutes = pc.fill_null(table.column("minutes_played"), 0.0).to_numpy().astype(np.float64)
    played = minutes > 0
    inactive = pc.is_in(table.column("dnp_reason"), value_set=pa.array(PRE_GAME_INACTIVE_REASONS)).to_numpy(
        zero_copy_only=False
    )
    stats: Columns = {"minutes": np.where(played, minutes, 0.0)}
    for name in _STATS:
        column = table.column(name)
        null_on_played = pc.and_(pc.is_null(column), pa.array(played))
        if pc.any(null_on_played).as_py():
            raise ValueError(f"box scores: {name} is null on a played row")
        values = pc.fill_null(pc.cast(column, pa.float64()), 0.0).to_numpy()
        stats[name] = np.where(played, values, 0.0)
    box = _BoxScores(
        table=table,
        player=player,
        team=team_codes[:n],
        opponent=team_codes[n:],
        n_teams=len(team_values),
        game=game,
        day=days - day_origin,
        day_origin=day_origin,
        season=_season_start_years(table.column("season")),
        played=played,
        inactive=inactive,
        is_home=pc.fill_null(table.column("is_home"), False).to_numpy(zero_copy_only=False),
        stats=stats,
    )
    _check_one_game_per_day(box)
    return box


def _check_one_game_per_day(box: _BoxScores) -> None:
    """Windows assume at most one box-score row per player per day; anything else is a data error."""
    key = box.player * _DAY_KEY_BASE + box.day
    if len(np.unique(key)) != len(key):
        raise ValueError("box scores: a player has more than one row on the same game date")


# ======================================================================================================
# Sorted sequences with running sums
# ======================================================================================================


@dataclass(frozen=True)
class _Sequence:
    """Events (played games or team-games) sorted by (group, day), with running sums of value columns.

    Every window the contract needs is "events of a group before day D, from index lo on"; with sorted
    integer keys each bound is one `searchsorted`, and each window total is a difference of two running
    sums. The running sums restart at every group, so a group's totals depend only on its own earlier
    events: changing or adding later games (of anyone) cannot move a row's figures by even one ulp.
    """

    group: np.ndarray
    day: np.ndarray
    season: np.ndarray
    day_key: np.ndarray
    season_key: np.ndarray
    group_first: np.ndarray  # per event: index of the first event of its group
    running: Columns  # per event: sum of the group's values up to and including this event

    @classmethod
    def build(cls, group: np.ndarray, day: np.ndarray, season: np.ndarray, values: Columns) -> _Sequence:
        order = np.lexsort((day, group))
        group, day, season = group[order], day[order], season[order]
        season_key = group * _SEASON_KEY_BASE + season
        if np.any(np.diff(season_key) < 0):
            raise ValueError("box scores: season labels are not in date order")
        group_first = np.searchsorted(group, group, side="left")
        empty = cls(group, day, season, group * _DAY_KEY_BASE + day, season_key, group_first, {})
        return empty.with_values({name: column[order] for name, column in values.items()})

    def with_values(self, values: Columns) -> _Sequence:
        """Add running sums of columns already in this sequence's sorted order."""
        if not values:
            return self
        frame = pd.DataFrame({name: np.asarray(v, dtype=np.float64) for name, v in values.items()})
        sums = frame.groupby(self.group, sort=False).cumsum() if len(frame) else frame
        running = {name: sums[name].to_numpy(dtype=np.float64) for name in values}
        return dataclasses.replace(self, running={**self.running, **running})

    def group_start(self, group: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.group, group, side="left")

    def before(self, group: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Index of the group's first event on or after `day` (= end of the events before `day`)."""
        bound = np.searchsorted(self.day_key, group * _DAY_KEY_BASE + day, side="left")
        return np.maximum(bound, self.group_start(group))

    def season_start(self, group: np.ndarray, season: np.ndarray) -> np.ndarray:
        """Index of the group's first event of `season` or later."""
        return np.searchsorted(self.season_key, group * _SEASON_KEY_BASE + season, side="left")

    def total(self, name: str, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Sum over events [lo, hi) of one group (0 when empty)."""
        size = len(self.day)
        if size == 0:
            return np.zeros(np.broadcast(lo, hi).shape)
        running = self.running[name]
        nonempty = hi > lo
        first = np.clip(lo, 0, size - 1)
        upper = running[np.clip(hi - 1, 0, size - 1)]
        has_lower = nonempty & (first > self.group_first[first])
        lower = np.where(has_lower, running[np.maximum(first - 1, 0)], 0.0)
        return np.where(nonempty, upper - lower, 0.0)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, default: float | np.ndarray) -> np.ndarray:
    """numerator / denominator where the denominator is positive, else `default` (no warnings)."""
    ok = denominator > 0
    return np.where(ok, numerator / np.where(ok, denominator, 1.0), default)


# ======================================================================================================
# Team-game totals and sequences
# ======================================================================================================


@dataclass(frozen=True)
class _TeamGames:
    """One row per (game, team) from played rows, with the opponent's row joined where it exists."""

    row_team_game: np.ndarray  # for every box-score row: its team-game index (-1 when not played)
    team: np.ndarray
    day: np.ndarray
    season: np.ndarray
    totals: Columns
    opponent_totals: Columns
    has_opponent: np.ndarray


def _team_game_totals(box: _BoxScores) -> _TeamGames:
    """Sum played rows per (game, team) and join each team-game to its opponent's."""
    rows = np.flatnonzero(box.played)
    key = box.game[rows] * box.n_teams + box.team[rows]
    keys, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    count = len(keys)
    totals = {
        name: np.bincount(inverse, weights=box.stats[name][rows], minlength=count)
        for name in ("minutes", *_STATS)
    }
    first_rows = rows[first]
    opponent_key = box.game[first_rows] * box.n_teams + box.opponent[first_rows]
    position = np.minimum(np.searchsorted(keys, opponent_key), max(count - 1, 0))
    has_opponent = (keys[position] == opponent_key) if count else np.zeros(0, bool)
    opponent_totals = {name: column[position] for name, column in totals.items()}
    row_team_game = np.full(len(box.player), -1, dtype=np.int64)
    row_team_game[rows] = inverse
    return _TeamGames(
        row_team_game=row_team_game,
        team=box.team[first_rows],
        day=box.day[first_rows],
        season=box.season[first_rows],
        totals=totals,
        opponent_totals=opponent_totals,
        has_opponent=has_opponent,
    )


def _team_plays(totals: Columns) -> np.ndarray:
    """Plays used by a team: FGA + 0.44·FTA + TOV (the usage-rate denominator's team part)."""
    return totals["fg_attempted"] + FT_POSSESSION_WEIGHT * totals["ft_attempted"] + totals["turnovers"]


def _possessions(totals: Columns) -> np.ndarray:
    return (
        totals["fg_attempted"]
        - totals["offensive_rebounds"]
        + totals["turnovers"]
        + FT_POSSESSION_WEIGHT * totals["ft_attempted"]
    )


def _zone_sums(totals: Columns) -> Columns:
    """Shooting sums behind the three zones: 2P made/attempted, 3P made/attempted, FTA and FGA."""
    return {
        "two_made": totals["fg_made"] - totals["three_pt_made"],
        "two_att": totals["fg_attempted"] - totals["three_pt_attempted"],
        "three_made": totals["three_pt_made"],
        "three_att": totals["three_pt_attempted"],
        "fta": totals["ft_attempted"],
        "fga": totals["fg_attempted"],
    }


def _team_game_ratings(tg: _TeamGames) -> Columns:
    """Per team-game (with an opponent) pace, offensive and defensive rating."""
    own, opp = tg.totals, tg.opponent_totals
    game_possessions = (_possessions(own) + _possessions(opp)) / 2.0
    return {
        "pace": MINUTES_PER_GAME * game_possessions / (own["minutes"] / PLAYERS_ON_COURT),
        "off_rating": PER_100_POSSESSIONS * own["points"] / game_possessions,
        "def_rating": PER_100_POSSESSIONS * opp["points"] / game_possessions,
    }


def _team_sequence(tg: _TeamGames) -> _Sequence:
    """Team-games by (team, day): ratings and the shooting the team allowed (its opponents' shooting)."""
    keep = tg.has_opponent
    ratings = _team_game_ratings(tg)
    allowed = {f"allowed_{k}": v for k, v in _zone_sums(tg.opponent_totals).items()}
    values = {name: column[keep] for name, column in {**ratings, **allowed}.items()}
    return _Sequence.build(tg.team[keep], tg.day[keep], tg.season[keep], values)


def _league_sequence(tg: _TeamGames) -> _Sequence:
    """All team-games (with an opponent) as one group sorted by day: league figures to date."""
    keep = tg.has_opponent
    values = {**_team_game_ratings(tg), **_zone_sums(tg.totals)}
    values = {name: column[keep] for name, column in values.items()}
    group = np.zeros(int(keep.sum()), dtype=np.int64)
    return _Sequence.build(group, tg.day[keep], tg.season[keep], values)


# ======================================================================================================
# Player sequence and target rows
# ======================================================================================================


def _player_sequence(box: _BoxScores, tg: _TeamGames) -> _Sequence:
    """Played games by (player, day) with running sums of everything the player windows need."""
    rows = np.flatnonzero(box.played)
    s = {name: column[rows] for name, column in box.stats.items()}
    team_game = tg.row_team_game[rows]
    team_plays = _team_plays(tg.totals)[team_game]
    team_minutes = tg.totals["minutes"][team_game]
    values = {
        "points": s["points"],
        "points_sq": s["points"] ** 2,
        "minutes": s["minutes"],
        "fga": s["fg_attempted"],
        "fta": s["ft_attempted"],
        "three_att": s["three_pt_attempted"],
        "ftm": s["ft_made"],
        "points_two": TWO_POINTS * (s["fg_made"] - s["three_pt_made"]),
        "points_three": THREE_POINTS * s["three_pt_made"],
        "usage_plays": s["fg_attempted"] + FT_POSSESSION_WEIGHT * s["ft_attempted"] + s["turnovers"],
        "usage_share": s["minutes"] * team_plays / (team_minutes / PLAYERS_ON_COURT),
    }
    seq = _Sequence.build(box.player[rows], box.day[rows], box.season[rows], values)
    # A game is the second night of a back-to-back when the player's previous played game was the day before.
    second_night = np.zeros(len(seq.day))
    second_night[1:] = (seq.group[1:] == seq.group[:-1]) & (np.diff(seq.day) == 1)
    return seq.with_values({"second_night": second_night})


@dataclass(frozen=True)
class _Targets:
    """The rows to build (indices into the box scores) and their keys."""

    rows: np.ndarray
    player: np.ndarray
    team: np.ndarray
    opponent: np.ndarray
    day: np.ndarray
    season: np.ndarray
    is_home: np.ndarray
    games_before: np.ndarray  # index in the played sequence of the first game on/after the date
    player_start: np.ndarray  # index of the player's first played game


def _target_rows(box: _BoxScores, played: _Sequence, start: date, end: date) -> _Targets:
    """Rows on dates in [start, end], not inactive before tip-off, with a played game before the date."""
    start_day = start.toordinal() - date(1970, 1, 1).toordinal() - box.day_origin
    end_day = end.toordinal() - date(1970, 1, 1).toordinal() - box.day_origin
    candidate = np.flatnonzero((box.day >= start_day) & (box.day <= end_day) & ~box.inactive)
    player, day = box.player[candidate], box.day[candidate]
    games_before = played.before(player, day)
    player_start = played.group_start(player)
    keep = games_before > player_start
    rows = candidate[keep]
    return _Targets(
        rows=rows,
        player=player[keep],
        team=box.team[rows],
        opponent=box.opponent[rows],
        day=day[keep],
        season=box.season[rows],
        is_home=box.is_home[rows],
        games_before=games_before[keep],
        player_start=player_start[keep],
    )


# ======================================================================================================
# Player windows
# ======================================================================================================


@dataclass(frozen=True)
class _PlayerWindows:
    """Window bounds in the played sequence: games [base, n) are the player's history for the row."""

    n: np.ndarray
    base: np.ndarray
    current_games: np.ndarray
    previous_games: np.ndarray  # previous-season games inside the history

    @property
    def history(self) -> np.ndarray:
        return self.n - self.base

    def last(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(lo, count) of the last k games of the history."""
        lo = np.maximum(self.base, self.n - k)
        return lo, self.n - lo

    def quality(self, k: int) -> np.ndarray:
        """100 with k current-season games, 75 with fewer or previous-season games, 40 with none."""
        count = self.last(k)[1]
        return np.where(
            self.current_games >= k, QUALITY_FULL, np.where(count > 0, QUALITY_PARTIAL, QUALITY_DEFAULT)
        )

    def data_source(self) -> np.ndarray:
        return np.select(
            [
                self.history == 0,
                (self.current_games > 0) & (self.previous_games > 0),
                self.current_games == 0,
            ],
            ["defaults", "mixed", "previous_season"],
            "current_season",
        )


def _player_window_bounds(t: _Targets, played: _Sequence) -> _PlayerWindows:
    """Base = current season start with ≥ 3 current games, else the previous season's start."""
    n = t.games_before
    current_start = played.season_start(t.player, t.season)
    previous_start = played.season_start(t.player, t.season - 1)
    current_games = n - current_start
    base = np.where(current_games >= MIN_CURRENT_SEASON_GAMES, current_start, previous_start)
    return _PlayerWindows(n, base, current_games, current_start - base)


def _player_window_features(w: _PlayerWindows, seq: _Sequence, values: Columns, quality: Columns) -> None:
    """Features 0–4, 8, 11, 12, 18–21, 24 and the player's expected points by zone."""
    _scoring_and_minutes(w, seq, values, quality)
    _usage(w, seq, values, quality)
    _shooting_mix(w, seq, values, quality)


def _scoring_and_minutes(w: _PlayerWindows, seq: _Sequence, values: Columns, quality: Columns) -> None:
    """Points averages (L5, L10, season), points std L10, minutes L10, recent_trend, minutes_change."""
    n = w.n
    lo5, count5 = w.last(SHORT_WINDOW)
    lo10, count10 = w.last(LONG_WINDOW)
    q10 = w.quality(LONG_WINDOW)
    points10, minutes10_total = seq.total("points", lo10, n), seq.total("minutes", lo10, n)

    values["points_avg_last_5"] = _ratio(seq.total("points", lo5, n), count5, _default("points_avg_last_5"))
    quality["points_avg_last_5"] = w.quality(SHORT_WINDOW)
    values["points_avg_last_10"] = _ratio(points10, count10, _default("points_avg_last_10"))
    quality["points_avg_last_10"] = q10
    values["points_avg_season"] = _ratio(
        seq.total("points", w.base, n), w.history, _default("points_avg_season")
    )
    quality["points_avg_season"] = np.where(
        w.current_games >= MIN_CURRENT_SEASON_GAMES,
        QUALITY_FULL,
        np.where(w.history > 0, QUALITY_PARTIAL, QUALITY_DEFAULT),
    )
    values["points_std_last_10"] = _population_std(points10, seq.total("points_sq", lo10, n), count10)
    quality["points_std_last_10"] = q10
    minutes10 = _ratio(minutes10_total, count10, _default("minutes_avg_last_10"))
    values["minutes_avg_last_10"] = minutes10
    quality["minutes_avg_last_10"] = q10

    values["recent_trend"], quality["recent_trend"] = _recent_trend(w, seq, count5)
    season_minutes = _ratio(seq.total("minutes", w.base, n), w.history, np.nan)
    change = _ratio(minutes10, season_minutes, 1.0) - 1.0
    values["minutes_change"] = np.where(count10 > 0, _bucket(change, *_MINUTES_CHANGE), 0.0)
    quality["minutes_change"] = q10


def _usage(w: _PlayerWindows, seq: _Sequence, values: Columns, quality: Columns) -> None:
    """usage_rate_last_10 (minute-weighted ratio of sums) and usage_spike_score (L3 vs L10)."""
    n = w.n
    lo10, _ = w.last(LONG_WINDOW)
    lo3, _ = w.last(USAGE_SHORT_WINDOW)
    q10 = w.quality(LONG_WINDOW)
    usage10 = USAGE_SCALE * _ratio(
        seq.total("usage_plays", lo10, n), seq.total("usage_share", lo10, n), np.nan
    )
    usage3 = USAGE_SCALE * _ratio(seq.total("usage_plays", lo3, n), seq.total("usage_share", lo3, n), np.nan)
    has_usage = np.isfinite(usage10) & np.isfinite(usage3)
    values["usage_rate_last_10"] = np.where(np.isfinite(usage10), usage10, _default("usage_rate_last_10"))
    quality["usage_rate_last_10"] = np.where(np.isfinite(usage10), q10, QUALITY_DEFAULT)
    spike = np.clip((usage3 - usage10) * USAGE_SPIKE_WEIGHT, -USAGE_SPIKE_LIMIT, USAGE_SPIKE_LIMIT)
    values["usage_spike_score"] = np.where(has_usage, spike, _default("usage_spike_score"))
    quality["usage_spike_score"] = np.where(has_usage, q10, QUALITY_DEFAULT)


_SHOOTING_RATIOS = {  # feature: (numerator, denominator) summed over the last 10 games
    "three_pt_rate_last_10": ("three_att", "fga"),
    "ft_rate_last_10": ("fta", "fga"),
    "pct_points_from_three_last_10": ("points_three", "points"),
    "pct_points_from_ft_last_10": ("ftm", "points"),
}
_EXP_POINTS_COLUMNS = {"two": "points_two", "three": "points_three", "ft": "ftm"}


def _shooting_mix(w: _PlayerWindows, seq: _Sequence, values: Columns, quality: Columns) -> None:
    """Shot/point mix ratios over the last 10 games and expected points by zone (zone context)."""
    n = w.n
    lo10, count10 = w.last(LONG_WINDOW)
    q10 = w.quality(LONG_WINDOW)
    for name, (numerator, denominator) in _SHOOTING_RATIOS.items():
        total = seq.total(denominator, lo10, n)
        values[name] = _ratio(seq.total(numerator, lo10, n), total, _default(name))
        quality[name] = np.where(total > 0, q10, QUALITY_DEFAULT)
    for zone, column in _EXP_POINTS_COLUMNS.items():
        values[f"player_exp_points_{zone}"] = _ratio(
            seq.total(column, lo10, n), count10, DEFAULT_EXP_POINTS[zone]
        )


def _default(name: str) -> float:
    return FEATURE_DEFAULTS[name]


def _population_std(total: np.ndarray, total_sq: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Population std from sums; (count·Σx² − (Σx)²) is exact for integer points, so 0 stays exactly 0."""
    variance = _ratio(count * total_sq - total**2, count.astype(np.float64) ** 2, np.nan)
    return np.where(count > 0, np.sqrt(np.maximum(variance, 0.0)), _default("points_std_last_10"))


_TREND = (TREND_STRONG, TREND_MILD)
_MINUTES_CHANGE = (MINUTES_CHANGE_STRONG, MINUTES_CHANGE_MILD)


def _bucket(x: np.ndarray, strong: float, mild: float) -> np.ndarray:
    """≥ strong → 2, ≥ mild → 1, ≤ −strong → −2, ≤ −mild → −1, else 0."""
    return np.select([x >= strong, x >= mild, x <= -strong, x <= -mild], [2.0, 1.0, -2.0, -1.0], 0.0)


def _recent_trend(w: _PlayerWindows, seq: _Sequence, count5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the 3 latest games − mean of games 4–5, bucketed; defaulted without 5 games."""
    n = w.n
    full = count5 == SHORT_WINDOW
    mid = np.maximum(n - TREND_RECENT_GAMES, 0)
    lo = np.maximum(n - SHORT_WINDOW, 0)
    recent = seq.total("points", mid, n) / TREND_RECENT_GAMES
    older = seq.total("points", lo, mid) / (SHORT_WINDOW - TREND_RECENT_GAMES)
    trend = np.where(full, _bucket(recent - older, *_TREND), _default("recent_trend"))
    quality = np.where(full, w.quality(SHORT_WINDOW), QUALITY_DEFAULT)
    return trend, quality


# ======================================================================================================
# Calendar: rest and fatigue
# ======================================================================================================


def _days_rest(previous_exists: np.ndarray, days_since: np.ndarray) -> np.ndarray:
    """Days between the previous game and this one minus 1, capped at 10; 1 without a previous game."""
    return np.where(previous_exists, np.minimum(days_since - 1, DAYS_REST_CAP), _default("days_rest"))


def _previous_day(seq: _Sequence, start: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether events [start, n) are non-empty, and the day of the last of them (0 when empty)."""
    has_previous = n > start
    if len(seq.day) == 0:
        return has_previous, np.zeros(len(n), dtype=np.int64)
    return has_previous, np.where(has_previous, seq.day[np.clip(n - 1, 0, len(seq.day) - 1)], 0)


def _calendar_features(t: _Targets, seq: _Sequence, values: Columns, quality: Columns) -> None:
    """days_rest, back_to_back, games_in_last_7_days and fatigue_score from the player's played games."""
    n, day = t.games_before, t.day
    has_previous, previous_day = _previous_day(seq, t.player_start, n)
    days_rest = _days_rest(has_previous, day - previous_day)
    back_to_back = has_previous & (days_rest == 0)

    week_lo = seq.before(t.player, day - GAMES_WINDOW_DAYS)
    games_7 = n - week_lo
    fatigue_lo = seq.before(t.player, day - FATIGUE_WINDOW_DAYS)
    fatigue_games = n - fatigue_lo
    fatigue_minutes = seq.total("minutes", fatigue_lo, n)
    # Back-to-back pairs with both games in [D−14, D−1]: second nights after the window's first game.
    b2b_lo = np.minimum(seq.before(t.player, day - FATIGUE_B2B_WINDOW_DAYS) + 1, n)
    b2b_pairs = seq.total("second_night", b2b_lo, n)

    fatigue = np.full(len(n), FATIGUE_START)
    fatigue += np.where(
        back_to_back,
        FATIGUE_BACK_TO_BACK,
        np.where(days_rest >= FATIGUE_RESTED_DAYS, FATIGUE_RESTED_BONUS, 0.0),
    )
    fatigue += np.where(fatigue_games >= FATIGUE_MANY_GAMES, FATIGUE_MANY_GAMES_PENALTY, 0.0)
    fatigue += np.where(fatigue_minutes > FATIGUE_MANY_MINUTES, FATIGUE_MANY_MINUTES_PENALTY, 0.0)
    minutes_per_game = _ratio(fatigue_minutes, fatigue_games, 0.0)
    fatigue += np.where(
        minutes_per_game > FATIGUE_HIGH_MINUTES_PER_GAME, FATIGUE_HIGH_MINUTES_PER_GAME_PENALTY, 0.0
    )
    fatigue += np.select(
        [b2b_pairs >= FATIGUE_MANY_B2B, b2b_pairs >= 1],
        [FATIGUE_MANY_B2B_PENALTY, FATIGUE_ONE_B2B_PENALTY],
        0.0,
    )
    fatigue = np.clip(fatigue, FATIGUE_MIN, FATIGUE_MAX)

    calendar_quality = np.where(has_previous, QUALITY_FULL, QUALITY_DEFAULT)
    values["days_rest"] = days_rest.astype(np.float64)
    values["back_to_back"] = back_to_back.astype(np.float64)
    values["games_in_last_7_days"] = games_7.astype(np.float64)
    values["fatigue_score"] = np.where(has_previous, fatigue, _default("fatigue_score"))
    values["is_home"] = t.is_home.astype(np.float64)
    for name in ("days_rest", "back_to_back", "games_in_last_7_days", "fatigue_score"):
        quality[name] = calendar_quality
    quality["is_home"] = np.full(len(n), QUALITY_FULL)


# ======================================================================================================
# League, team and opponent figures
# ======================================================================================================


@dataclass(frozen=True)
class _League:
    """League figures to date for each target row (SYSTEMS §2: "league mean to date")."""

    pace: np.ndarray
    rating: np.ndarray  # mean defensive (= offensive) rating per team-game
    eff: Columns  # zone efficiencies: two (2P%), three (3P%), ft (FTA/FGA)
    def_rating_p33: np.ndarray
    def_rating_p67: np.ndarray


_ZONE_RATIOS = {"two": ("two_made", "two_att"), "three": ("three_made", "three_att"), "ft": ("fta", "fga")}
_DEFAULT_ZONE_EFF = {
    "two": DEFAULT_LEAGUE_TWO_PCT,
    "three": DEFAULT_LEAGUE_THREE_PCT,
    "ft": DEFAULT_LEAGUE_FT_RATE,
}


def _league_has_games(league: _Sequence, season: np.ndarray, day: np.ndarray) -> np.ndarray:
    zero = np.zeros(len(day), dtype=np.int64)
    return league.before(zero, day) > league.season_start(zero, season)


def _league_range(league: _Sequence, season: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Team-games [lo, hi) the league figures use: the season to date, else the whole previous season."""
    zero = np.zeros(len(day), dtype=np.int64)
    lo = league.season_start(zero, season)
    hi = league.before(zero, day)
    previous_lo = league.season_start(zero, season - 1)
    to_date = hi > lo
    return np.where(to_date, lo, previous_lo), np.where(to_date, hi, lo)


def _league_to_date(t: _Targets, league: _Sequence, teams: _Sequence) -> _League:
    lo, hi = _league_range(league, t.season, t.day)
    count = hi - lo
    eff = {
        zone: _ratio(league.total(made, lo, hi), league.total(att, lo, hi), _DEFAULT_ZONE_EFF[zone])
        for zone, (made, att) in _ZONE_RATIOS.items()
    }
    p33, p67 = _def_rating_terciles(t, league, teams)
    return _League(
        pace=_ratio(league.total("pace", lo, hi), count, DEFAULT_LEAGUE_PACE),
        rating=_ratio(league.total("def_rating", lo, hi), count, DEFAULT_LEAGUE_RATING),
        eff=eff,
        def_rating_p33=p33,
        def_rating_p67=p67,
    )


def _def_rating_terciles(t: _Targets, league: _Sequence, teams: _Sequence) -> tuple[np.ndarray, np.ndarray]:
    """33rd/67th percentiles of the teams' mean defensive ratings to date, per distinct date.

    Computed on a (date × team) grid of window bounds in the team sequence, so there is no loop over
    dates or teams. Teams without a game in the range are left out; no game at all → the defaults.
    """
    date_key, inverse = np.unique(t.season * _DAY_KEY_BASE + t.day, return_inverse=True)
    season, day = date_key // _DAY_KEY_BASE, date_key % _DAY_KEY_BASE
    p33 = np.full(len(date_key), DEFAULT_LEAGUE_RATING - DEFAULT_DEF_RATING_TERCILE_HALF_GAP)
    p67 = np.full(len(date_key), DEFAULT_LEAGUE_RATING + DEFAULT_DEF_RATING_TERCILE_HALF_GAP)
    team_ids = np.unique(teams.group)
    if len(team_ids):
        to_date = _league_has_games(league, season, day)[:, None]
        grid = team_ids[None, :]
        used_season = np.where(to_date, season[:, None], season[:, None] - 1)
        lo = teams.season_start(grid, used_season)
        hi = np.where(to_date, teams.before(grid, day[:, None]), teams.season_start(grid, used_season + 1))
        hi = np.maximum(hi, lo)
        means = _ratio(teams.total("def_rating", lo, hi), hi - lo, np.nan)
        has_any = (hi > lo).any(axis=1)
        if has_any.any():
            p33[has_any], p67[has_any] = np.nanpercentile(
                means[has_any], [LOWER_TERCILE, UPPER_TERCILE], axis=1
            )
    return p33[inverse], p67[inverse]


@dataclass(frozen=True)
class _Opponent:
    """Opponent figures the derived features and the zone context need."""

    zone_eff: Columns  # allowed 2P%, 3P%, FTA/FGA over its last 15 games (league value without a game)
    window_quality: np.ndarray
    days_rest: np.ndarray
    rest_quality: np.ndarray


def _team_window(
    teams: _Sequence, team: np.ndarray, season: np.ndarray, day: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi, quality) of a team's last k games of the current season before the date."""
    hi = teams.before(team, day)
    lo = np.minimum(np.maximum(teams.season_start(team, season), hi - k), hi)
    count = hi - lo
    quality = np.where(count >= k, QUALITY_FULL, np.where(count > 0, QUALITY_PARTIAL, QUALITY_DEFAULT))
    return lo, hi, quality


def _team_features(
    t: _Targets, teams: _Sequence, league: _League, values: Columns, quality: Columns
) -> _Opponent:
    """Features 13, 14, 22, 23 and the opponent's zone efficiencies allowed and days of rest."""
    lo, hi, team_quality = _team_window(teams, t.team, t.season, t.day, TEAM_WINDOW)
    values["team_pace_last_10"] = _ratio(teams.total("pace", lo, hi), hi - lo, league.pace)
    values["team_off_rating_last_10"] = _ratio(teams.total("off_rating", lo, hi), hi - lo, league.rating)
    quality["team_pace_last_10"] = quality["team_off_rating_last_10"] = team_quality

    lo, hi, opp_quality = _team_window(teams, t.opponent, t.season, t.day, OPPONENT_WINDOW)
    values["opponent_def_rating_last_15"] = _ratio(teams.total("def_rating", lo, hi), hi - lo, league.rating)
    values["opponent_pace_last_15"] = _ratio(teams.total("pace", lo, hi), hi - lo, league.pace)
    quality["opponent_def_rating_last_15"] = quality["opponent_pace_last_15"] = opp_quality
    zone_eff = {
        zone: _ratio(
            teams.total(f"allowed_{made}", lo, hi), teams.total(f"allowed_{att}", lo, hi), league.eff[zone]
        )
        for zone, (made, att) in _ZONE_RATIOS.items()
    }

    previous_games_end = teams.before(t.opponent, t.day)
    has_previous, previous_day = _previous_day(teams, teams.group_start(t.opponent), previous_games_end)
    return _Opponent(
        zone_eff=zone_eff,
        window_quality=opp_quality,
        days_rest=_days_rest(has_previous, t.day - previous_day),
        rest_quality=np.where(has_previous, QUALITY_FULL, QUALITY_DEFAULT),
    )


def _derived_features(league: _League, opponent: _Opponent, values: Columns, quality: Columns) -> None:
    """pace_score, rest_advantage and shot_zone_mismatch_score from their (filled) inputs."""
    pace_edge = (values["team_pace_last_10"] + values["opponent_pace_last_15"]) / 2.0 - league.pace
    values["pace_score"] = np.clip(pace_edge / PACE_SCORE_DIVISOR, -PACE_SCORE_LIMIT, PACE_SCORE_LIMIT)
    quality["pace_score"] = np.minimum(quality["team_pace_last_10"], quality["opponent_pace_last_15"])

    rest_edge = values["days_rest"] - opponent.days_rest
    values["rest_advantage"] = np.clip(rest_edge, -REST_ADVANTAGE_LIMIT, REST_ADVANTAGE_LIMIT)
    quality["rest_advantage"] = np.minimum(quality["days_rest"], opponent.rest_quality)

    mismatch = sum(
        values[f"player_exp_points_{zone}"] * (_ratio(opponent.zone_eff[zone], league.eff[zone], 1.0) - 1.0)
        for zone in _ZONE_RATIOS
    )
    values["shot_zone_mismatch_score"] = np.clip(mismatch, -ZONE_MISMATCH_LIMIT, ZONE_MISMATCH_LIMIT)
    # The player's expected points come from the last-10 window, whose quality points_avg_last_10 carries.
    quality["shot_zone_mismatch_score"] = np.minimum(quality["points_avg_last_10"], opponent.window_quality)


def _zone_context(league: _League, opponent: _Opponent, values: Columns) -> None:
    """SYSTEMS §2.2 columns (the player's expected points were set with the player windows)."""
    for zone, delta_name in (
        ("two", "opp_two_pct_allowed_delta"),
        ("three", "opp_three_pct_allowed_delta"),
        ("ft", "opp_ft_rate_allowed_delta"),
    ):
        values[delta_name] = opponent.zone_eff[zone] - league.eff[zone]
    values["league_two_pct"] = league.eff["two"]
    values["league_three_pct"] = league.eff["three"]
    values["league_ft_rate"] = league.eff["ft"]
    values["league_def_rating_p33"] = league.def_rating_p33
    values["league_def_rating_p67"] = league.def_rating_p67


def _feature_quality_score(quality: Columns) -> np.ndarray:
    """SYSTEMS §2.1: the mean over the 25 features of their 100 / 75 / 40 quality."""
    return np.mean(np.vstack([quality[name] for name in FEATURE_NAMES]), axis=0)


def _clip_to_contract(values: Columns) -> None:
    for feature in FEATURES:
        values[feature.name] = np.clip(values[feature.name], feature.low, feature.high)


# ======================================================================================================
# Output
# ======================================================================================================


def _assemble(
    box: _BoxScores, t: _Targets, windows: _PlayerWindows, values: Columns, quality: Columns
) -> pa.Table:
    """Target keys + features + zone context + quality, cast to `ML_FEATURE_STORE`, sorted by key."""
    numeric = (*FEATURE_NAMES, *ZONE_CONTEXT_COLUMNS)
    missing = [name for name in (*numeric,) if name not in values] + [
        name for name in FEATURE_NAMES if name not in quality
    ]
    if missing:
        raise RuntimeError(f"feature builder did not compute: {', '.join(missing)}")
    not_finite = [name for name in numeric if not np.all(np.isfinite(values[name]))]
    if not_finite:
        raise RuntimeError(f"feature builder left NaN/inf in: {', '.join(not_finite)}")

    keys = box.table.select(
        ["game_date", "player_lookup", "season", "game_id", "player_id", "team_abbr", "opponent_team_abbr"]
    ).take(pa.array(t.rows))
    columns: dict[str, pa.Array | pa.ChunkedArray] = {name: keys.column(name) for name in keys.column_names}
    columns["feature_version"] = pa.array([FEATURE_VERSION] * len(t.rows), pa.string())
    for name in numeric:
        columns[name] = pa.array(values[name], pa.float64())
    columns["feature_quality_score"] = pa.array(_feature_quality_score(quality), pa.float64())
    columns["games_in_history"] = pa.array(windows.history, pa.int64())
    columns["data_source"] = pa.array(windows.data_source().tolist(), pa.string())
    table = conform(pa.table(columns), ML_FEATURE_STORE)
    return table.sort_by([("game_date", "ascending"), ("player_lookup", "ascending")])

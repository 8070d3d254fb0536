"""Box scores in, numpy out: validated columns, team-game totals, the event sequences and target rows.

Team-game totals come from played rows: per (game_id, team) the sums of points, FGA, FTA, OREB, TOV,
FGM, 3PM, 3PA, FTM and player minutes. possessions = FGA − OREB + TOV + 0.44·FTA; a game's possessions
are the mean of both teams'; pace = 48 · game possessions / (team minutes / 5); offensive (defensive)
rating = 100 · own (opponent) points / game possessions. A team-game whose opponent has no played rows
cannot give possessions and is left out of team windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.data.availability import PRE_GAME_INACTIVE_REASONS
from nba_ray.features.sequence import DAY_KEY_BASE, Columns, EventSequence
from nba_ray.warehouse.schemas import SOURCE_BOX_SCORE

# --- Basketball formulas -------------------------------------------------------------------------------
FT_POSSESSION_WEIGHT = 0.44
MINUTES_PER_GAME = 48.0
PLAYERS_ON_COURT = 5.0
PER_100_POSSESSIONS = 100.0
USAGE_SCALE = 100.0
TWO_POINTS = 2.0
THREE_POINTS = 3.0


STATS = (
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

REQUIRED_COLUMNS = (
    *("season", "game_id", "game_date", "team_abbr", "opponent_team_abbr", "is_home"),
    *("player_id", "player_lookup", "starter", "minutes_played", "dnp_reason", *STATS),
)


# ======================================================================================================
# Input
# ======================================================================================================


@dataclass(frozen=True)
class BoxScores:
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
    starter: np.ndarray  # the box score lists him among the starters
    is_home: np.ndarray
    stats: Columns  # float64; 0 on rows that did not play (they never enter a window)
    player_values: pa.Array  # player_lookup of each player code
    team_values: pa.Array  # team_abbr of each team code


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


def load_box_scores(table: pa.Table) -> BoxScores:
    """Validate and convert the box scores; errors are raised, never papered over with defaults."""
    missing = [name for name in REQUIRED_COLUMNS if name not in table.column_names]
    if missing:
        raise ValueError(f"box scores: missing column(s) {', '.join(missing)}")
    # A fixed order makes codes and summation order independent of how the caller ordered the rows.
    table = table.sort_by(
        [(name, "ascending") for name in ("game_date", "game_id", "team_abbr", "player_lookup")]
    ).combine_chunks()
    player, player_values = _codes(table.column("player_lookup"))
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
    for name in STATS:
        column = table.column(name)
        null_on_played = pc.and_(pc.is_null(column), pa.array(played))
        if pc.any(null_on_played).as_py():
            raise ValueError(f"box scores: {name} is null on a played row")
        values = pc.fill_null(pc.cast(column, pa.float64()), 0.0).to_numpy()
        stats[name] = np.where(played, values, 0.0)
    box = BoxScores(
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
        starter=pc.fill_null(table.column("starter"), False).to_numpy(zero_copy_only=False),
        is_home=pc.fill_null(table.column("is_home"), False).to_numpy(zero_copy_only=False),
        stats=stats,
        player_values=player_values,
        team_values=team_values,
    )
    _check_one_game_per_day(box)
    return box


def _check_one_game_per_day(box: BoxScores) -> None:
    """Windows assume at most one box-score row per player per day; anything else is a data error."""
    key = box.player * DAY_KEY_BASE + box.day
    if len(np.unique(key)) != len(key):
        raise ValueError("box scores: a player has more than one row on the same game date")


def prefer_box_scores(group: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Rows of a reported input (availability, lineups) to use: in each group (a team-date), the
    BOX_SCORE rows when it has any, else its feed rows. What the box scores say supersedes a feed."""
    rank = np.where(source == SOURCE_BOX_SCORE, 0, 1)
    _, inverse = np.unique(group, return_inverse=True)
    best = np.ones(int(inverse.max()) + 1 if len(inverse) else 0, dtype=rank.dtype)
    np.minimum.at(best, inverse, rank)
    return rank == best[inverse]


# ======================================================================================================
# Team-game totals and sequences
# ======================================================================================================


@dataclass(frozen=True)
class TeamGames:
    """One row per (game, team) from played rows, with the opponent's row joined where it exists."""

    row_team_game: np.ndarray  # for every box-score row: its team-game index (-1 when not played)
    team: np.ndarray
    day: np.ndarray
    season: np.ndarray
    totals: Columns
    opponent_totals: Columns
    has_opponent: np.ndarray


def team_game_totals(box: BoxScores) -> TeamGames:
    """Sum played rows per (game, team) and join each team-game to its opponent's."""
    rows = np.flatnonzero(box.played)
    key = box.game[rows] * box.n_teams + box.team[rows]
    keys, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    count = len(keys)
    totals = {
        name: np.bincount(inverse, weights=box.stats[name][rows], minlength=count)
        for name in ("minutes", *STATS)
    }
    first_rows = rows[first]
    opponent_key = box.game[first_rows] * box.n_teams + box.opponent[first_rows]
    position = np.minimum(np.searchsorted(keys, opponent_key), max(count - 1, 0))
    has_opponent = (keys[position] == opponent_key) if count else np.zeros(0, bool)
    opponent_totals = {name: column[position] for name, column in totals.items()}
    row_team_game = np.full(len(box.player), -1, dtype=np.int64)
    row_team_game[rows] = inverse
    return TeamGames(
        row_team_game=row_team_game,
        team=box.team[first_rows],
        day=box.day[first_rows],
        season=box.season[first_rows],
        totals=totals,
        opponent_totals=opponent_totals,
        has_opponent=has_opponent,
    )


def team_plays_of(totals: Columns) -> np.ndarray:
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


def _team_game_ratings(tg: TeamGames) -> Columns:
    """Per team-game (with an opponent) pace, offensive and defensive rating."""
    own, opp = tg.totals, tg.opponent_totals
    game_possessions = (_possessions(own) + _possessions(opp)) / 2.0
    return {
        "pace": MINUTES_PER_GAME * game_possessions / (own["minutes"] / PLAYERS_ON_COURT),
        "off_rating": PER_100_POSSESSIONS * own["points"] / game_possessions,
        "def_rating": PER_100_POSSESSIONS * opp["points"] / game_possessions,
    }


def team_sequence(tg: TeamGames) -> EventSequence:
    """Team-games by (team, day): ratings and the shooting the team allowed (its opponents' shooting)."""
    keep = tg.has_opponent
    ratings = _team_game_ratings(tg)
    allowed = {f"allowed_{k}": v for k, v in _zone_sums(tg.opponent_totals).items()}
    values = {name: column[keep] for name, column in {**ratings, **allowed}.items()}
    return EventSequence.build(tg.team[keep], tg.day[keep], tg.season[keep], values)


def league_sequence(tg: TeamGames) -> EventSequence:
    """All team-games (with an opponent) as one group sorted by day: league figures to date."""
    keep = tg.has_opponent
    values = {**_team_game_ratings(tg), **_zone_sums(tg.totals)}
    values = {name: column[keep] for name, column in values.items()}
    group = np.zeros(int(keep.sum()), dtype=np.int64)
    return EventSequence.build(group, tg.day[keep], tg.season[keep], values)


# ======================================================================================================
# Player sequence and target rows
# ======================================================================================================


def player_sequence(box: BoxScores, tg: TeamGames) -> EventSequence:
    """Played games by (player, day) with running sums of everything the player windows need."""
    rows = np.flatnonzero(box.played)
    s = {name: column[rows] for name, column in box.stats.items()}
    team_game = tg.row_team_game[rows]
    team_plays = team_plays_of(tg.totals)[team_game]
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
        "started": box.starter[rows].astype(np.float64),
    }
    seq = EventSequence.build(box.player[rows], box.day[rows], box.season[rows], values)
    # A game is the second night of a back-to-back when the player's previous played game was the day before.
    second_night = np.zeros(len(seq.day))
    second_night[1:] = (seq.group[1:] == seq.group[:-1]) & (np.diff(seq.day) == 1)
    return seq.with_values({"second_night": second_night})


@dataclass(frozen=True)
class Targets:
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


def target_rows(box: BoxScores, played: EventSequence, start: date, end: date) -> Targets:
    """Rows on dates in [start, end], not inactive before tip-off, with a played game before the date."""
    start_day = start.toordinal() - date(1970, 1, 1).toordinal() - box.day_origin
    end_day = end.toordinal() - date(1970, 1, 1).toordinal() - box.day_origin
    candidate = np.flatnonzero((box.day >= start_day) & (box.day <= end_day) & ~box.inactive)
    player, day = box.player[candidate], box.day[candidate]
    games_before = played.before(player, day)
    player_start = played.group_start(player)
    keep = games_before > player_start
    rows = candidate[keep]
    return Targets(
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

"""One simulated regular season end to end, and `generate_league` over consecutive seasons.

A season draws, in a fixed order from one generator: the schedule, roster stints, each team's games,
availability, the box-score list and rotation, the game itself, DNP reasons, then the lines.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from nba_ray.data.league import TEAMS, season_start_year
from nba_ray.data.synthetic.games import MINUTES_TEMPLATE, PLAY_PROB, STARTERS, play_game, shooting
from nba_ray.data.synthetic.lines import prop_lines
from nba_ray.data.synthetic.players import League
from nba_ray.data.synthetic.rosters import (
    AVAILABLE,
    AWAY_TWO_WAY,
    NOT_WITH_TEAM,
    OUT,
    SUSPENDED,
    availability,
    rank_within,
    roster_rows,
    season_stints,
)
from nba_ray.data.synthetic.schedule import schedule, team_games
from nba_ray.warehouse.schemas import PLAYER_GAME_SUMMARY, PROP_LINES, STAT_COLUMNS, conform

# --- League structure ---------------------------------------------------------------------------------
# Game ids use Basketball-Reference codes, like the real files, which differ for three teams.
GAME_ID_CODE: dict[str, str] = {"BKN": "BRK", "CHA": "CHO", "PHX": "PHO"}
P_LISTED_WHEN_OUT = 0.15  # injured players mostly sit on the inactive list, not in the box score
P_DID_NOT_DRESS = 0.5  # of injured players who are listed
P_PLAYED_ZERO = 0.003  # of coach's decisions: checked in for 0 seconds
PLAYED_ZERO = "Played 0:00"  # a DNP row that keeps its (all-zero) stats, as in the real files
MAX_LISTED = 15
LISTING_PRIORITY = 100.0  # healthy standard contracts, then healthy two-ways, then absentees; quality within
ROLE_SD_GAME = 0.10
B2B_STARTER_MINUTES = 0.97
LINE_MIN_EXPECTED_MINUTES = 15.0
LINE_ROLE_SHARE = 0.5  # a player gets lines when he has a role on more than this share of his games


@dataclass(frozen=True)
class SyntheticLeague:
    """A simulated league: box scores in the `player_game_summary` schema and lines in `prop_lines`."""

    box_scores: pa.Table
    prop_lines: pa.Table


def generate_league(seasons: Sequence[str], seed: int = 7) -> SyntheticLeague:
    """Simulate consecutive regular seasons (e.g. ["2021-22", "2022-23"]) with players carried over.

    A season's content depends on the seasons simulated before it, so a season generated alone differs
    from the same season generated as the second of two; only (seasons, seed) as a whole is reproducible.
    """
    years = _season_years(seasons)
    rng = np.random.default_rng(seed)
    league = League.initial(years[0], rng)
    boxes: list[dict[str, pa.Array]] = []
    lines: list[dict[str, pa.Array]] = []
    for i, (season, year) in enumerate(zip(seasons, years, strict=True)):
        if i:
            league.offseason(year, rng)
        box, line = _simulate_season(league, season, year, rng)
        boxes.append(box)
        lines.append(line)
    return SyntheticLeague(
        box_scores=conform(pa.table(_concat(boxes)), PLAYER_GAME_SUMMARY),
        prop_lines=conform(pa.table(_concat(lines)), PROP_LINES),
    )


def _season_years(seasons: Sequence[str]) -> list[int]:
    """Validate season names and return their start years; they must be consecutive."""
    if not seasons:
        raise ValueError("generate_league: give at least one season, e.g. ['2021-22']")
    years = []
    for season in seasons:
        year = season_start_year(season)
        if year is None:
            raise ValueError(f"generate_league: season {season!r} is not like '2021-22'")
        years.append(year)
    if any(b != a + 1 for a, b in itertools.pairwise(years)):
        raise ValueError(f"generate_league: seasons must be consecutive and ascending, got {list(seasons)}")
    return years


def _concat(parts: list[dict[str, pa.Array]]) -> dict[str, pa.Array]:
    return {name: pa.concat_arrays([part[name] for part in parts]) for name in parts[0]}


def _simulate_season(
    league: League, season: str, year: int, rng: np.random.Generator
) -> tuple[dict[str, pa.Array], dict[str, pa.Array]]:
    """One regular season: schedule, rosters, availability, rotation, minutes, box scores and lines."""
    sched = schedule(year, rng)
    stints = season_stints(league, sched, year, rng)
    tgs = team_games(league, sched, rng)
    tg, stint = roster_rows(stints, tgs)
    player = stints.player[stint]
    status, hurt = availability(league, player, tg, stints.two_way[stint], tgs, rng)

    # The box score lists the active players plus a few injured ones, at most MAX_LISTED; the two-way
    # players and the injured are the first left off.
    listed = (status != AWAY_TWO_WAY) & ((status != OUT) | (rng.random(len(tg)) < P_LISTED_WHEN_OUT))
    available = status == AVAILABLE
    priority = np.select([available & ~stints.two_way[stint], available], [2.0, 1.0], 0.0)
    keep = rank_within(tg, LISTING_PRIORITY * priority + league.quality[player], listed) < MAX_LISTED
    tg, stint, player, status, hurt, available = (
        a[keep] for a in (tg, stint, player, status, hurt, available)
    )

    # Rotation: the coach orders healthy players by quality plus his own preference, a little noisy.
    coach_value = league.quality[player] + stints.role[stint] + rng.normal(0.0, ROLE_SD_GAME, len(tg))
    slot = np.minimum(rank_within(tg, coach_value, available), len(MINUTES_TEMPLATE) - 1)
    starter = slot < STARTERS
    rest_factor = np.where(starter & tgs.b2b[tg], B2B_STARTER_MINUTES, 1.0)
    game = play_game(league, player, tg, available, slot, rest_factor, hurt, tgs, rng)
    reason = _dnp_reasons(status, game.seconds > 0, rng)

    # The market's pre-game view: tonight's rotation and matchup, expected pace, no luck.
    expected_minutes = np.where(available, MINUTES_TEMPLATE[slot] * PLAY_PROB[slot] * rest_factor, 0.0)
    expected_minutes *= (STARTERS * 48.0 / np.bincount(tg, expected_minutes, minlength=tgs.size))[tg]
    expected_points = shooting(league, player, tg, expected_minutes, tgs.pace_expected, tgs).expected_points()
    has_role = expected_minutes[available] >= LINE_MIN_EXPECTED_MINUTES
    role_games = np.bincount(player[available], has_role, minlength=league.size)
    games = np.bincount(player[available], minlength=league.size)
    gets_line = available & (role_games[player] > LINE_ROLE_SHARE * games[player])

    game_dates = np.datetime64(sched.opening, "D") + sched.day
    home_codes = [GAME_ID_CODE.get(TEAMS[t], TEAMS[t]) for t in sched.home]
    game_ids = np.array(
        [f"{d.astype(dt.date):%Y%m%d}0{c}" for d, c in zip(game_dates, home_codes, strict=True)]
    )
    game_of_row = tgs.game[tg]
    # Real files are sorted by date, game id, away team then home team, then box-score order.
    box_group = np.select([starter, game.seconds > 0], [0, 1], 2)
    game_rank = np.argsort(np.argsort(game_ids))[game_of_row]
    order = np.lexsort((-league.quality[player], -game.seconds, box_group, tgs.is_home[tg], game_rank))
    lookups = np.array(league.lookups, dtype=object)[player]
    played = game.seconds > 0
    box = {
        "season": pa.array(np.full(len(tg), season, dtype=object), pa.string()),
        "game_id": pa.array(game_ids[game_of_row], pa.string()),
        "game_date": pa.array(game_dates[game_of_row], pa.date32()),
        "team_abbr": pa.array(np.array(TEAMS, dtype=object)[tgs.team[tg]], pa.string()),
        "opponent_team_abbr": pa.array(np.array(TEAMS, dtype=object)[tgs.opp[tg]], pa.string()),
        "is_home": pa.array(tgs.is_home[tg]),
        "player_id": pa.array(np.array(league.slugs, dtype=object)[player], pa.string()),
        "player_name": pa.array(np.array(league.names, dtype=object)[player], pa.string()),
        "player_lookup": pa.array(lookups, pa.string()),
        "starter": pa.array(starter),
        "minutes_played": pa.array(game.seconds / 60),
        "dnp": pa.array(~played),
        "dnp_reason": pa.array(reason, pa.string()),
    }
    zero_minutes = reason == PLAYED_ZERO
    for column in STAT_COLUMNS:
        null = ~played if column == "plus_minus" else ~(played | zero_minutes)
        box[column] = pa.array(game.stats[column], pa.int64(), mask=null)
    box = {name: column.take(pa.array(order)) for name, column in box.items()}
    line_rows = order[gets_line[order]]
    lines = prop_lines(
        game_dates[game_of_row[line_rows]], lookups[line_rows], expected_points[line_rows], rng
    )
    return box, lines


def _dnp_reasons(status: np.ndarray, played: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Box-score DNP reasons in the real mix: coach's decisions are "Did Not Play", like most injuries."""
    reason = np.full(len(status), None, dtype=object)
    benched = (status == AVAILABLE) & ~played
    reason[benched] = "Did Not Play"
    reason[benched & (rng.random(len(status)) < P_PLAYED_ZERO)] = PLAYED_ZERO
    out = np.flatnonzero(status == OUT)
    reason[out] = np.where(rng.random(len(out)) < P_DID_NOT_DRESS, "Did Not Dress", "Did Not Play")
    reason[status == NOT_WITH_TEAM] = "Not With Team"
    reason[status == SUSPENDED] = "Player Suspended"
    return reason

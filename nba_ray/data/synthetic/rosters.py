"""Rosters and availability: who is on which team on each game day, and who can play that night.

Trades, waiver claims and call-ups give players games on two teams in one season; injuries, absences
and two-way assignments decide each roster row's status before the rotation is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nba_ray.data.synthetic.players import CALLUP_AGE, FRINGE_QUALITY, N_TEAMS, League
from nba_ray.data.synthetic.schedule import Schedule, TeamGames, offset

# --- Transactions -------------------------------------------------------------------------------------
TRADES_PER_SEASON = (18, 28)
TRADE_WINDOW = ((12, 15), (2, 9))  # (month, day) from .. to
CALLUPS_PER_TEAM = 4.5
WAIVER_MOVES_PER_SEASON = (20, 35)  # bench players waived and signed by another team
WAIVER_GAP_DAYS = (2, 10)
CALLUP_START = (11, 10)
CALLUP_DAYS = (10, 35)
CALLUP_FROM_POOL = 0.55  # share of call-ups who are unsigned league players rather than newcomers

# --- Availability -------------------------------------------------------------------------------------
INJURY_HAZARD = 0.035  # per game, before the player's own proneness
SEVERE_INJURY_SHARE = 0.12
INJURY_GAMES_MEAN = (2.6, 24.0)  # minor, severe
P_HURT_IN_GAME = 0.3  # share of injuries that happen during the previous game (he leaves it early)
P_NOT_WITH_TEAM = 0.0016
P_SUSPENDED = 0.00025
P_TWO_WAY_PRESENT = 0.4
MIN_AVAILABLE = 8
ROLE_SD_STINT = 0.18  # coach's lasting preference for a player, beyond his quality

# Row status while building a team-game's list of players.
AVAILABLE, OUT, NOT_WITH_TEAM, SUSPENDED, AWAY_TWO_WAY = range(5)


@dataclass(frozen=True)
class _Stints:
    """Who is on which roster when: calendar days [start, end) of a player's time with a team."""

    player: np.ndarray
    team: np.ndarray
    start: np.ndarray
    end: np.ndarray
    two_way: np.ndarray
    role: np.ndarray  # the coach's lasting preference for the player, added to his quality


class _StintBook:
    """Mutable list of stints while a season's transactions are applied in order."""

    def __init__(self, league: League, end_of_season: int) -> None:
        self.league = league
        self.end_of_season = end_of_season
        rostered = np.flatnonzero(league.team >= 0)
        self.player = [int(p) for p in rostered]
        self.team = [int(t) for t in league.team[rostered]]
        self.start = [0] * len(rostered)
        self.end = [end_of_season] * len(rostered)
        self.two_way = [bool(w) for w in league.two_way[rostered]]
        self.moved: set[int] = set()

    def movable(self, team: int) -> np.ndarray:
        """Open stints of `team`'s standard-contract players who have not moved yet this season."""
        open_stints = [
            i
            for i, t in enumerate(self.team)
            if t == team
            and self.end[i] == self.end_of_season
            and not self.two_way[i]
            and self.player[i] not in self.moved
        ]
        return np.array(open_stints, dtype=np.int64)

    def add(self, player: int, team: int, start: int, end: int) -> None:
        self.player.append(player)
        self.team.append(team)
        self.start.append(start)
        self.end.append(min(end, self.end_of_season))
        self.two_way.append(False)

    def move(self, stint: int, team: int, leaves: int, joins: int) -> None:
        """End a stint on day `leaves`; the player joins `team` on day `joins` for the rest of the season."""
        player = self.player[stint]
        self.end[stint] = leaves
        self.add(player, team, joins, self.end_of_season)
        self.moved.add(player)
        self.league.team[player] = team

    def freeze(self, rng: np.random.Generator) -> _Stints:
        return _Stints(
            player=np.array(self.player, dtype=np.int64),
            team=np.array(self.team, dtype=np.int64),
            start=np.array(self.start, dtype=np.int64),
            end=np.array(self.end, dtype=np.int64),
            two_way=np.array(self.two_way, dtype=bool),
            role=rng.normal(0.0, ROLE_SD_STINT, len(self.player)),
        )


def season_stints(league: League, sched: Schedule, year: int, rng: np.random.Generator) -> _Stints:
    """Season-long roster stints, changed by trades, waiver claims and short call-ups.

    Trades swap players of similar quality before the deadline; waived bench players sign elsewhere a
    few days later; call-ups (unsigned league players or newcomers) fill in for a few weeks. The
    league's `team` follows each player to where he ends the season, so the next off-season starts
    from the post-deadline rosters.
    """
    book = _StintBook(league, sched.last_day + 1)
    first_trade, deadline = (
        offset(sched.opening, year + (month < 7), (month, day)) for month, day in TRADE_WINDOW
    )
    for _ in range(rng.integers(TRADES_PER_SEASON[0], TRADES_PER_SEASON[1] + 1)):
        day = int(rng.integers(first_trade, deadline + 1))
        team_a, team_b = (int(t) for t in rng.choice(N_TEAMS, 2, replace=False))
        side_a, side_b = book.movable(team_a), book.movable(team_b)
        if not len(side_a) or not len(side_b):
            continue
        give = int(rng.choice(side_a))
        gap = np.abs(league.quality[np.array(book.player)[side_b]] - league.quality[book.player[give]])
        take = int(side_b[np.argmin(gap)])
        book.move(give, team_b, day, day)
        book.move(take, team_a, day, day)
    first_callup = offset(sched.opening, year, CALLUP_START)
    for _ in range(rng.integers(WAIVER_MOVES_PER_SEASON[0], WAIVER_MOVES_PER_SEASON[1] + 1)):
        day = int(rng.integers(first_callup, book.end_of_season - CALLUP_DAYS[1]))
        waived_by, signed_by = (int(t) for t in rng.choice(N_TEAMS, 2, replace=False))
        members = book.movable(waived_by)
        if not len(members):
            continue
        quality = league.quality[np.array(book.player)[members]]
        stint = int(rng.choice(members[quality <= np.median(quality)]))
        book.move(stint, signed_by, day, day + int(rng.integers(*WAIVER_GAP_DAYS)))
    called: set[int] = set()
    for team in np.repeat(np.arange(N_TEAMS), rng.poisson(CALLUPS_PER_TEAM, N_TEAMS)):
        pool = np.array(
            [p for p in np.flatnonzero(league.team == -1) if int(p) not in called], dtype=np.int64
        )
        if len(pool) and rng.random() < CALLUP_FROM_POOL:
            weights = np.exp(league.quality[pool] - league.quality[pool].max())
            recruit = int(rng.choice(pool, p=weights / weights.sum()))
        else:
            born = year - rng.integers(CALLUP_AGE[0], CALLUP_AGE[1] + 1, 1)
            recruit = int(league.add_players(born, rng.normal(*FRINGE_QUALITY, 1), rng)[0])
        called.add(recruit)
        league.unsigned_years[recruit] = 0
        day = int(rng.integers(first_callup, book.end_of_season - CALLUP_DAYS[0]))
        book.add(recruit, int(team), day, day + int(rng.integers(CALLUP_DAYS[0], CALLUP_DAYS[1] + 1)))
    return book.freeze(rng)


def rank_within(groups: np.ndarray, key: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rank (0 = largest key) of each masked row within its group; unmasked rows get a large rank."""
    idx = np.flatnonzero(mask)
    order = idx[np.lexsort((-key[idx], groups[idx]))]
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(sorted_groups[1:] != sorted_groups[:-1]) + 1]
    position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank = np.full(len(groups), np.iinfo(np.int32).max, dtype=np.int64)
    rank[order] = position
    return rank


def roster_rows(stints: _Stints, tgs: TeamGames) -> tuple[np.ndarray, np.ndarray]:
    """(team-game, stint) for every player on a roster on each game day, sorted by team-game."""
    tg_parts, stint_parts = [], []
    for team in range(N_TEAMS):
        games = np.flatnonzero(tgs.team == team)
        members = np.flatnonzero(stints.team == team)
        on_roster = (stints.start[members, None] <= tgs.day[games]) & (
            tgs.day[games] < stints.end[members, None]
        )
        member_idx, game_idx = np.nonzero(on_roster)
        tg_parts.append(games[game_idx])
        stint_parts.append(members[member_idx])
    tg, stint = np.concatenate(tg_parts), np.concatenate(stint_parts)
    order = np.lexsort((stint, tg))
    return tg[order], stint[order]


def availability(
    league: League,
    player: np.ndarray,
    tg: np.ndarray,
    two_way: np.ndarray,
    tgs: TeamGames,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Status of each roster row, and whether the player gets hurt during that game.

    Injuries run over a player's consecutive games (across teams, if he is traded while out); some of
    them happen during the game before the first one missed, so the player leaves that game early.
    """
    n = len(player)
    by_player = np.lexsort((tgs.day[tg], player))
    sorted_player = player[by_player]
    position = np.arange(n)
    group_end = np.r_[np.flatnonzero(sorted_player[1:] != sorted_player[:-1]) + 1, n]
    group_end = np.repeat(group_end, np.diff(np.r_[0, group_end]))
    starts = rng.random(n) < INJURY_HAZARD * league.prone[sorted_player]
    severe = rng.random(n) < SEVERE_INJURY_SHARE
    length = np.where(
        severe, rng.geometric(1 / INJURY_GAMES_MEAN[1], n), rng.geometric(1 / INJURY_GAMES_MEAN[0], n)
    )
    injury_end = np.where(starts, np.minimum(position + length, group_end), -1)
    out = np.empty(n, dtype=bool)
    out[by_player] = np.maximum.accumulate(injury_end) > position
    hurt = np.zeros(n, dtype=bool)
    hurt[by_player[:-1]] = (
        starts[1:] & (sorted_player[1:] == sorted_player[:-1]) & (rng.random(n - 1) < P_HURT_IN_GAME)
    )
    status = np.full(n, AVAILABLE)
    status[two_way & (rng.random(n) >= P_TWO_WAY_PRESENT)] = AWAY_TWO_WAY
    draw = rng.random(n)
    status[draw < P_NOT_WITH_TEAM] = NOT_WITH_TEAM
    status[(draw >= P_NOT_WITH_TEAM) & (draw < P_NOT_WITH_TEAM + P_SUSPENDED)] = SUSPENDED
    status[out] = OUT
    # A team with fewer than MIN_AVAILABLE healthy players recalls its best absentees (playing hurt).
    short = np.maximum(MIN_AVAILABLE - np.bincount(tg[status == AVAILABLE], minlength=tgs.size), 0)
    recall = rank_within(tg, league.quality[player], status != AVAILABLE) < short[tg]
    status[recall] = AVAILABLE
    return status, hurt

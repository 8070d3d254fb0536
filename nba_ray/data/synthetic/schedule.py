"""Calendar and schedule: the season's dates and 1,230 games, and each team's view of every game.

The calendar keeps the real shape (opening Tuesday, no games on Thanksgiving, Christmas Eve or around
All-Star Sunday, a full last night); the schedule keeps the real back-to-back rate and home/road balance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from nba_ray.data.league import CONFERENCES
from nba_ray.data.synthetic.players import N_TEAMS, League

GAMES_PER_TEAM = 82
N_GAMES = N_TEAMS * GAMES_PER_TEAM // 2

# --- Calendar and schedule ----------------------------------------------------------------------------
OPENING_EARLIEST = (10, 18)  # opening night is the first Tuesday on or after this (month, day)
CLOSING_EARLIEST = (4, 9)  # the last day is the first Sunday on or after this, next year
THANKSGIVING_EARLIEST = (11, 22)  # fourth Thursday of November: no games
ALL_STAR_EARLIEST = (2, 15)  # All-Star Sunday is the third Sunday of February
ALL_STAR_BREAK = range(-2, 4)  # days around All-Star Sunday without games (Friday..Wednesday)
TUESDAY, THURSDAY, SUNDAY = 1, 3, 6  # datetime.weekday()
CHRISTMAS_EVE, CHRISTMAS = (12, 24), (12, 25)  # no games on Christmas Eve
CHRISTMAS_GAMES = 5
OPENING_NIGHT_GAMES = 2
LIGHT_DATES = 2  # single-game Thursdays (a national-TV-only night), like the real calendar
LIGHT_DATE_MARGIN_DAYS = 21  # not in the first or last three weeks
MAX_GAMES_PER_DATE = 13  # except the last day, when every team plays
WEEKDAY_WEIGHTS = np.array([1.0, 0.95, 1.35, 0.65, 1.2, 1.05, 0.8])  # Monday..Sunday game density
DATE_WEIGHT_SD = 0.25
SCHEDULE_NOISE = 0.6  # random tie-breaking between candidate match-ups
B2B_PENALTY = 1.3  # how reluctantly the scheduler gives a team a second night in a row
REMATCH_PENALTY = 2.0
REMATCH_DAYS = 9
MAX_B2B_PER_TEAM = 17
THREE_IN_THREE_COST = 10  # in back-to-backs: placing a leftover game there is a last resort
GAME_PACE_SD = 0.045


@dataclass(frozen=True)
class Schedule:
    """Games of one season sorted by date: calendar day (0 = opening night), home and away team."""

    opening: dt.date
    day: np.ndarray
    home: np.ndarray
    away: np.ndarray

    @property
    def last_day(self) -> int:
        return int(self.day.max())


def _on_or_after(year: int, month_day: tuple[int, int], weekday: int) -> dt.date:
    day = dt.date(year, *month_day)
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def offset(opening: dt.date, year: int, month_day: tuple[int, int]) -> int:
    return (dt.date(year, *month_day) - opening).days


def _calendar(year: int) -> tuple[dt.date, np.ndarray, int]:
    """Opening night, the calendar offsets that have games, and Christmas's offset."""
    opening = _on_or_after(year, OPENING_EARLIEST, TUESDAY)
    closing = _on_or_after(year + 1, CLOSING_EARLIEST, SUNDAY)
    all_star = _on_or_after(year + 1, ALL_STAR_EARLIEST, SUNDAY)
    off = [_on_or_after(year, THANKSGIVING_EARLIEST, THURSDAY), dt.date(year, *CHRISTMAS_EVE)]
    off += [all_star + dt.timedelta(days=k) for k in ALL_STAR_BREAK]
    days = np.arange((closing - opening).days + 1)
    game_days = days[~np.isin(days, [(d - opening).days for d in off])]
    return opening, game_days, offset(opening, year, CHRISTMAS)


def _date_targets(
    opening: dt.date, days: np.ndarray, christmas: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """How many games each date should hold (weekday density with noise), and which dates are special.

    Special dates (opening night, Christmas, the light nights, the last night) keep their game count.
    """
    weekday = (opening.weekday() + days) % 7
    weights = WEEKDAY_WEIGHTS[weekday] * rng.lognormal(0.0, DATE_WEIGHT_SD, len(days))
    fixed = np.full(len(days), -1)
    fixed[0] = OPENING_NIGHT_GAMES
    fixed[days == christmas] = CHRISTMAS_GAMES
    fixed[-1] = N_TEAMS // 2
    inner = (days > LIGHT_DATE_MARGIN_DAYS) & (days < days[-1] - LIGHT_DATE_MARGIN_DAYS)
    thursdays = np.flatnonzero((weekday == THURSDAY) & (fixed < 0) & inner)
    fixed[rng.choice(thursdays, LIGHT_DATES, replace=False)] = 1
    free = fixed < 0
    share = np.cumsum(weights[free] / weights[free].sum() * (N_GAMES - fixed[~free].sum()))
    fixed[free] = np.minimum(np.diff(np.round(np.r_[0.0, share])), MAX_GAMES_PER_DATE)
    return fixed, ~free


def _matchups(rng: np.random.Generator) -> np.ndarray:
    """games[h, a]: how many times h hosts a — the NBA's 82-game formula, 41 home and 41 away for all.

    Division rivals meet 4 times, other conference rivals 4 times except four of them 3 times, the
    other conference twice. The 3-game pairs form a circulant between the divisions of a conference
    (seat k meets seats k and k+1 of the next division), oriented so every team hosts two of its four.
    """
    games = np.ones((N_TEAMS, N_TEAMS), dtype=np.int64)
    for c, conference in enumerate(CONFERENCES):
        members = np.arange(15) + 15 * c
        games[np.ix_(members, members)] = 2
        divisions = [rng.permutation(members[5 * i : 5 * i + 5]) for i in range(len(conference))]
        for a, seats in enumerate(divisions):
            following = divisions[(a + 1) % len(divisions)]
            for k, team in enumerate(seats):
                same, next_seat = following[k], following[(k + 1) % len(seats)]
                games[team, same], games[same, team] = 2, 1
                games[next_seat, team], games[team, next_seat] = 2, 1
    np.fill_diagonal(games, 0)
    return games


def _pick_home(remaining: np.ndarray, a: int, b: int, rng: np.random.Generator) -> tuple[int, int]:
    """(home, away) for a game of a and b, among the sides that still have that game to host.

    The team with more home games left hosts, so home stands and road trips stay balanced all season.
    """
    if remaining[a, b] and remaining[b, a]:
        balance = remaining.sum(axis=1) - remaining.sum(axis=0)
        if balance[a] != balance[b]:
            return (a, b) if balance[a] > balance[b] else (b, a)
        return (a, b) if rng.random() < 0.5 else (b, a)
    return (a, b) if remaining[a, b] else (b, a)


def schedule(year: int, rng: np.random.Generator) -> Schedule:
    """Place the season's 1,230 games on dates greedily, keeping every team on pace.

    Each date takes the match-ups whose two teams are furthest behind their pace, with a penalty for a
    second night in a row (the real rate is about 13 back-to-backs per team) and for a recent rematch;
    it never schedules three games in three nights. The last night has all 30 teams, as in the NBA.
    The few games the greedy pass leaves over go to the free dates that add the fewest back-to-backs.
    """
    remaining = _matchups(rng)
    opening, days, christmas = _calendar(year)
    targets, special = _date_targets(opening, days, christmas, rng)
    last = len(days) - 1
    placed: list[tuple[int, int, int]] = []
    for a, b in rng.permutation(N_TEAMS).reshape(-1, 2):
        home, away = _pick_home(remaining, int(a), int(b), rng)
        remaining[home, away] -= 1
        placed.append((last, home, away))
    pace = np.cumsum(targets[:last]) / targets[:last].sum() * (GAMES_PER_TEAM - 1)
    played = np.zeros(N_TEAMS)
    prev = np.full(N_TEAMS, -10)
    prev2 = np.full(N_TEAMS, -10)
    b2b = np.zeros(N_TEAMS, dtype=np.int64)
    met = np.full((N_TEAMS, N_TEAMS), -100)
    upper = np.triu(np.ones((N_TEAMS, N_TEAMS), dtype=bool), 1)
    for d in range(last):
        day = days[d]
        yesterday = prev == day - 1
        eligible = ~(yesterday & ((prev2 == day - 2) | (b2b >= MAX_B2B_PER_TEAM)))
        deficit = pace[d] - played
        score = (
            deficit[:, None]
            + deficit[None, :]
            - B2B_PENALTY * (yesterday[:, None].astype(float) + yesterday[None, :])
            - REMATCH_PENALTY * (day - met < REMATCH_DAYS)
            + rng.uniform(0.0, SCHEDULE_NOISE, (N_TEAMS, N_TEAMS))
        )
        ok = upper & (remaining + remaining.T > 0) & eligible[:, None] & eligible[None, :]
        score = np.where(ok, score, -np.inf)
        for _ in range(targets[d]):
            best = int(np.argmax(score))
            if not np.isfinite(score.flat[best]):
                break
            a, b = divmod(best, N_TEAMS)
            home, away = _pick_home(remaining, a, b, rng)
            remaining[home, away] -= 1
            placed.append((d, home, away))
            score[[a, b], :] = -np.inf
            score[:, [a, b]] = -np.inf
            for team in (a, b):
                b2b[team] += prev[team] == day - 1
                prev2[team], prev[team] = prev[team], day
                played[team] += 1
            met[a, b] = met[b, a] = day
    placed += _place_leftovers(remaining, placed, days, ~special)
    date_index, home, away = (np.array(col) for col in zip(*placed, strict=True))
    order = np.lexsort((home, days[date_index]))
    return Schedule(opening, days[date_index][order], home[order], away[order])


def _place_leftovers(
    remaining: np.ndarray, placed: list[tuple[int, int, int]], days: np.ndarray, allowed: np.ndarray
) -> list[tuple[int, int, int]]:
    """Put each unplaced game on an ordinary date free for both teams, adding the fewest back-to-backs.

    Three games in three nights are avoided whenever any other free date exists.
    """
    busy = np.zeros((N_TEAMS, days[-1] + 5), dtype=bool)  # padded so day ± 2 never wraps
    for d, home, away in placed:
        busy[[home, away], days[d] + 2] = True
    col = days + 2
    extra = []
    for home, away in np.argwhere(remaining > 0).repeat(remaining[remaining > 0], axis=0):
        pair = busy[[home, away]]
        free = allowed & ~pair[:, col].any(axis=0)
        three_in_three = (
            (pair[:, col - 2] & pair[:, col - 1])
            | (pair[:, col - 1] & pair[:, col + 1])
            | (pair[:, col + 1] & pair[:, col + 2])
        ).any(axis=0)
        cost = (pair[:, col - 1] | pair[:, col + 1]).sum(axis=0) + THREE_IN_THREE_COST * three_in_three
        if not free.any():
            raise RuntimeError("synthetic schedule: no free date left for a game; try another seed")
        d = int(np.argmin(np.where(free, cost, np.iinfo(np.int64).max)))
        busy[[home, away], days[d] + 2] = True
        extra.append((d, int(home), int(away)))
    return extra


@dataclass(frozen=True)
class TeamGames:
    """One row per team per game (index 2·game + is_home) with the game's context for that team."""

    game: np.ndarray
    team: np.ndarray
    opp: np.ndarray
    is_home: np.ndarray
    day: np.ndarray
    b2b: np.ndarray
    pace_expected: np.ndarray
    pace: np.ndarray

    @property
    def size(self) -> int:
        return len(self.team)


def team_games(league: League, sched: Schedule, rng: np.random.Generator) -> TeamGames:
    n_games = len(sched.day)
    game = np.repeat(np.arange(n_games), 2)
    team = np.stack([sched.away, sched.home], axis=1).ravel()
    opp = np.stack([sched.home, sched.away], axis=1).ravel()
    day = sched.day[game]
    order = np.lexsort((day, team))
    previous = np.full(len(team), -10)
    same_team = team[order][1:] == team[order][:-1]
    previous[order[1:][same_team]] = day[order][:-1][same_team]
    pace_expected = (league.team_pace[sched.home] + league.team_pace[sched.away]) / 2
    pace = pace_expected * np.exp(rng.normal(0.0, GAME_PACE_SD, n_games))
    return TeamGames(
        game=game,
        team=team,
        opp=opp,
        is_home=np.tile([False, True], n_games),
        day=day,
        b2b=day - previous == 1,
        pace_expected=pace_expected[game],
        pace=pace[game],
    )

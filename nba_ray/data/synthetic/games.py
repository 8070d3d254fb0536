"""The game simulation: rotation minutes period by period, and stat lines from team totals down.

Minutes follow the score (closers in tight games, the deep bench in blowouts, overtime with the
heaviest-minute five); points depend on role, usage with teammates out, the opponent's zone defense,
pace, home court and rest, so the features have something real to measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nba_ray.data.synthetic.players import League
from nba_ray.data.synthetic.rosters import rank_within
from nba_ray.data.synthetic.schedule import TeamGames
from nba_ray.warehouse.schemas import STAT_COLUMNS

USAGE_FROM_QUALITY = 0.30  # log shot share per unit of quality: better players take more shots
USAGE_SCORER_SD = 0.25  # scorers vs role players at equal quality
USAGE_RANGE = (0.4, 2.4)  # even the heaviest scorer takes about twice an average player's shots

# --- Rotation and minutes -----------------------------------------------------------------------------
STARTERS = 5
MINUTES_TEMPLATE = np.array(
    [36.0, 35.0, 34.0, 32.5, 30.5, 26.0, 23.0, 20.0, 15.0, 10.0, 6.0, 4.0, 3.0, 3.0, 3.0]
)
MINUTES_SD = np.array([0.13] * 5 + [0.3] * 5 + [0.55] * 5)
PLAY_PROB = np.array([1.0] * 7 + [0.96, 0.86, 0.6, 0.28, 0.12, 0.06, 0.04, 0.04])  # in the rotation, by rank
CLOSING_POWER = 1.6  # the fourth quarter of a close game leans on the best players
GARBAGE_WEIGHT = np.array(
    [0.04] * 5 + [0.35] * 3 + [1.0, 1.0, 0.9, 0.7, 0.5, 0.35, 0.25]
)  # fourth-quarter minutes in a blowout, by rank
GARBAGE_SD = 0.35
GARBAGE_MARGIN = (12.0, 28.0)  # margin after three quarters where garbage time starts / takes the quarter
MIN_STINT_MINUTES = 1.5
HURT_MINUTES_SHARE = (0.01, 0.7)  # of his usual first-three-quarter minutes, for a player hurt in the game
THREE_QUARTERS, FOURTH_QUARTER, OVERTIME = 36.0, 12.0, 5.0  # period lengths; a team plays 5x each
OT_CLOSE_MARGIN = 2
P_OT_WHEN_CLOSE = 0.45  # a game decided by a point or two is often one that was tied after 48 minutes

# --- Scoring ------------------------------------------------------------------------------------------
FGA_PER_MINUTE = 88.0 / 240.0  # team field-goal attempts per player-minute at league pace
HOME_LOGIT = 0.025
HOME_FT = 0.03
B2B_LOGIT = -0.04
TEAM_FGA_SD = 2.0  # a team's field-goal attempts beyond what pace explains, per 48 minutes
TEAM_FTA_SD = 5.5  # its free-throw attempts (how the game is called)
FTA_PER_POSSESSION = 0.44
FIRST_SHOT_SHARE = 0.915  # of expected field-goal attempts; putbacks after offensive rebounds make the rest
OREB_PER_MISS = 0.243
PUTBACK_PER_OREB = 0.7
PUTBACK_LOGIT = 0.3
DREB_PER_REBOUND = 0.95  # the rest are team rebounds, not credited to a player
ASSIST_PER_BASKET = 0.605
STEAL_PER_TURNOVER = 0.57
BLOCK_PER_MISS = 0.103
AGGRESSION_SHAPE = 14.0  # gamma shape of a player's share of his team's shots on the night
HOT_HAND_SD = 0.12  # logit noise of a player's shooting on the night
PLUS_MINUS_SD = 8.0
MAX_FOULS = 6


def _fit_minutes(tg: np.ndarray, raw: np.ndarray, n_tg: int, period: float) -> np.ndarray:
    """Share 5 × `period` minutes of each team-game in proportion to `raw`, nobody above `period`.

    Water-filling: players over the cap are held at it and the rest is re-shared, until nobody is over.
    Rows must be sorted by team-game: rounding the running total (not each row) to whole seconds keeps
    every team-game's sum exact, so a regulation game adds up to 240:00 as in real box scores.
    """
    capped = np.zeros(len(raw), dtype=bool)
    while True:
        free_weight = np.bincount(tg, np.where(capped, 0.0, raw), minlength=n_tg)
        left = STARTERS * period - period * np.bincount(tg, capped, minlength=n_tg)
        minutes = np.where(capped, period, raw * (left / np.where(free_weight > 0, free_weight, 1.0))[tg])
        over = minutes > period + 1e-9
        if not over.any():
            return np.diff(np.r_[0.0, np.round(np.cumsum(minutes * 60))])
        capped |= over


def _split(tg: np.ndarray, totals: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multinomial split of each team-game's integer total over its rows (sorted by team-game).

    Drawn as a chain of conditional binomials, one position within the team-game at a time, so the
    team's total is fixed (possessions bound a team's shots) while the players' shares stay random.
    """
    n = len(tg)
    starts = np.r_[0, np.flatnonzero(tg[1:] != tg[:-1]) + 1]
    sizes = np.diff(np.r_[starts, n])
    position = np.arange(n) - np.repeat(starts, sizes)
    is_last = position == np.repeat(sizes, sizes) - 1
    left = totals.astype(np.int64)
    weight_left = np.bincount(tg, weights, minlength=len(totals))
    out = np.zeros(n, dtype=np.int64)
    for k in range(int(sizes.max())):
        rows = np.flatnonzero(position == k)
        group = tg[rows]
        p = np.where(
            is_last[rows], 1.0, np.clip(weights[rows] / np.maximum(weight_left[group], 1e-12), 0.0, 1.0)
        )
        out[rows] = rng.binomial(left[group], p)
        left[group] -= out[rows]
        weight_left[group] -= weights[rows]
    return out


def _usage(league: League, player: np.ndarray) -> np.ndarray:
    log_usage = USAGE_FROM_QUALITY * league.quality[player] + USAGE_SCORER_SD * league.scorer[player]
    return np.clip(np.exp(log_usage), *USAGE_RANGE)


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@dataclass(frozen=True)
class _Shooting:
    """Per-row expected shot volume and make probabilities before the night's own luck."""

    fga: np.ndarray
    fta_per_fga: np.ndarray
    three_rate: np.ndarray
    two_pct_logit: np.ndarray
    three_pct_logit: np.ndarray
    ft_pct: np.ndarray

    def expected_points(self) -> np.ndarray:
        twos = self.fga * (1 - self.three_rate) * 2 * _expit(self.two_pct_logit)
        threes = self.fga * self.three_rate * 3 * _expit(self.three_pct_logit)
        return twos + threes + self.fga * self.fta_per_fga * self.ft_pct


def shooting(
    league: League,
    player: np.ndarray,
    tg: np.ndarray,
    minutes: np.ndarray,
    pace: np.ndarray,
    tgs: TeamGames,
) -> _Shooting:
    """Shares of the team's shots by usage × minutes; efficiency shifted by the opponent's zone defense.

    The team's shot count follows the game's pace, so when a high-usage teammate is out the others'
    shares (and points) rise; home court helps and the second night of a back-to-back hurts a little.
    """
    weight = _usage(league, player) * minutes
    team_weight = np.bincount(tg, weight, minlength=tgs.size)[tg]
    team_minutes = np.bincount(tg, minutes, minlength=tgs.size)[tg]
    defense = league.team_defense[tgs.opp[tg]]
    shift = HOME_LOGIT * tgs.is_home[tg] + B2B_LOGIT * tgs.b2b[tg]
    shot = league.shot[player]
    return _Shooting(
        fga=weight / np.maximum(team_weight, 1e-9) * FGA_PER_MINUTE * team_minutes * pace[tg],
        fta_per_fga=shot[:, 1] * np.exp(defense[:, 2] + HOME_FT * tgs.is_home[tg]),
        three_rate=shot[:, 0],
        two_pct_logit=_logit(shot[:, 2]) + defense[:, 0] + shift,
        three_pct_logit=_logit(shot[:, 3]) + defense[:, 1] + shift,
        ft_pct=shot[:, 4],
    )


def _box_lines(
    league: League,
    player: np.ndarray,
    tg: np.ndarray,
    minutes: np.ndarray,
    tgs: TeamGames,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Stat lines of the rows that played in one period, both teams of each game at once.

    Team totals come first and players split them, the way possessions work: a team's first shots are
    bounded by its possessions (a night with more free throws has fewer), its offensive rebounds come
    from its own misses and most become putbacks, its defensive rebounds and blocks from the opponent's
    misses, its assists from its baskets, its steals from the opponent's turnovers. That gives team
    totals the real variance (misses are partly recovered) and keeps the two teams' lines consistent.
    Points are derived from makes by zone, so the box-score identities hold by construction.
    """
    n = len(player)
    plan = shooting(league, player, tg, minutes, tgs.pace, tgs)
    aggression = rng.gamma(AGGRESSION_SHAPE, 1 / AGGRESSION_SHAPE, n)
    hot = rng.normal(0.0, HOT_HAND_SD, n)
    opp = np.arange(tgs.size) ^ 1

    def team(values: np.ndarray) -> np.ndarray:
        total = np.bincount(tg, values, minlength=tgs.size)
        return total.astype(np.int64) if values.dtype.kind == "i" else total

    period_share = np.sqrt(team(minutes) / (STARTERS * 48.0))
    extra_fta = rng.normal(0.0, TEAM_FTA_SD, tgs.size) * period_share
    first_shots = team(plan.fga) * FIRST_SHOT_SHARE + rng.normal(0.0, TEAM_FGA_SD, tgs.size) * period_share
    fga = _split(
        tg, np.maximum(np.round(first_shots - FTA_PER_POSSESSION * extra_fta), 0), plan.fga * aggression, rng
    )
    fta_weight = plan.fga * aggression * plan.fta_per_fga
    fta = _split(tg, np.maximum(np.round(team(plan.fga * plan.fta_per_fga) + extra_fta), 0), fta_weight, rng)
    threes_attempted = rng.binomial(fga, plan.three_rate)
    twos_made = rng.binomial(fga - threes_attempted, _expit(plan.two_pct_logit + hot))
    threes_made = rng.binomial(threes_attempted, _expit(plan.three_pct_logit + hot))
    ftm = rng.binomial(fta, plan.ft_pct)

    share = league.rates[player] * (minutes * tgs.pace[tg])[:, None]
    offensive = _split(tg, rng.binomial(team(fga - twos_made - threes_made), OREB_PER_MISS), share[:, 0], rng)
    putbacks = rng.binomial(offensive, PUTBACK_PER_OREB)
    fga += putbacks
    twos_made += rng.binomial(putbacks, _expit(plan.two_pct_logit + hot + PUTBACK_LOGIT))
    misses = team(fga - twos_made - threes_made)
    defensive = _split(tg, rng.binomial((misses - team(offensive))[opp], DREB_PER_REBOUND), share[:, 1], rng)
    relative_usage = plan.fga / (FGA_PER_MINUTE * tgs.pace[tg] * minutes)
    turnovers = rng.poisson(share[:, 5] * np.sqrt(relative_usage))
    return {
        "points": 2 * twos_made + 3 * threes_made + ftm,
        "fg_made": twos_made + threes_made,
        "fg_attempted": fga,
        "three_pt_made": threes_made,
        "three_pt_attempted": threes_attempted,
        "ft_made": ftm,
        "ft_attempted": fta,
        "offensive_rebounds": offensive,
        "defensive_rebounds": defensive,
        "rebounds": offensive + defensive,
        "assists": _split(
            tg, rng.binomial(team(twos_made + threes_made), ASSIST_PER_BASKET), share[:, 2], rng
        ),
        "steals": _split(tg, rng.binomial(team(turnovers)[opp], STEAL_PER_TURNOVER), share[:, 3], rng),
        "blocks": _split(tg, rng.binomial(misses[opp], BLOCK_PER_MISS), share[:, 4], rng),
        "turnovers": turnovers,
        "personal_fouls": rng.poisson(share[:, 6]),
    }


@dataclass(frozen=True)
class _GameLines:
    """Every row's total seconds on the floor and stat line (zeros where the player did not play)."""

    seconds: np.ndarray
    stats: dict[str, np.ndarray]


def play_game(
    league: League,
    player: np.ndarray,
    tg: np.ndarray,
    available: np.ndarray,
    slot: np.ndarray,
    rest_factor: np.ndarray,
    hurt: np.ndarray,
    tgs: TeamGames,
    rng: np.random.Generator,
) -> _GameLines:
    """Play three quarters with the rotation, a fourth quarter shaped by the score, then overtime.

    Splitting the game lets the score drive minutes the way it does in real games: a close game gives
    the starters the fourth quarter, a blowout hands it to the deep bench (garbage time), and a tie goes
    to overtime with each team's five heaviest-minute players. A player hurt in the game plays only part
    of the first three quarters. Stat lines of the periods add up, so the box-score identities hold for
    the totals. Some games decided by a point or two also get an overtime: the final score hides whether
    a game was tied after 48 minutes, and real games go to overtime more often than a smooth score model
    ties.
    """
    n = len(tg)
    n_games = tgs.size // 2
    stats = {column: np.zeros(n, dtype=np.int64) for column in STAT_COLUMNS}
    expected_plus_minus = np.zeros(n)
    seconds = np.zeros(n)
    margin = np.zeros(tgs.size)

    def period(period_seconds: np.ndarray) -> None:
        nonlocal seconds, margin
        rows = np.flatnonzero(period_seconds > 0)
        lines = _box_lines(league, player[rows], tg[rows], period_seconds[rows] / 60, tgs, rng)
        for column, values in lines.items():
            stats[column][rows] += values
        points = np.bincount(tg[rows], lines["points"], minlength=tgs.size)
        period_margin = points - points[np.arange(tgs.size) ^ 1]
        team_seconds = np.bincount(tg, period_seconds, minlength=tgs.size)[tg[rows]]
        expected_plus_minus[rows] += period_margin[tg[rows]] * period_seconds[rows] * STARTERS / team_seconds
        seconds = seconds + period_seconds
        margin = margin + period_margin

    in_rotation = available & ((slot < STARTERS) | (rng.random(n) < PLAY_PROB[slot]))
    weight = MINUTES_TEMPLATE[slot] * np.exp(rng.normal(0.0, MINUTES_SD[slot])) * rest_factor
    weight = np.where(hurt, weight * rng.uniform(*HURT_MINUTES_SHARE, n), weight)
    period(_fit_minutes(tg, np.where(in_rotation, weight, 0.0), tgs.size, THREE_QUARTERS))

    garbage = np.clip(
        (np.abs(margin) - GARBAGE_MARGIN[0]) / (GARBAGE_MARGIN[1] - GARBAGE_MARGIN[0]), 0.0, 1.0
    )[tg]
    closing = _shares(tg, np.where(in_rotation & ~hurt, weight**CLOSING_POWER, 0.0), tgs.size)
    mop_up = np.where(available & ~hurt, GARBAGE_WEIGHT[slot] * np.exp(rng.normal(0.0, GARBAGE_SD, n)), 0.0)
    fourth = (1 - garbage) * closing + garbage * _shares(tg, mop_up, tgs.size)
    top_five = rank_within(tg, fourth, np.ones(n, dtype=bool)) < STARTERS
    fourth = np.where(top_five | (fourth * STARTERS * FOURTH_QUARTER >= MIN_STINT_MINUTES), fourth, 0.0)
    period(_fit_minutes(tg, fourth, tgs.size, FOURTH_QUARTER))

    closers = rank_within(tg, seconds, (seconds > 0) & ~hurt) < STARTERS
    home_margin = margin[1::2]
    extra = (home_margin == 0) | (
        (np.abs(home_margin) <= OT_CLOSE_MARGIN) & (rng.random(n_games) < P_OT_WHEN_CLOSE)
    )
    while extra.any():
        period(np.where(closers & extra[tgs.game[tg]], OVERTIME * 60, 0.0))
        extra &= margin[1::2] == 0

    stats["personal_fouls"] = np.minimum(stats["personal_fouls"], MAX_FOULS)
    share_of_game = seconds * STARTERS / np.bincount(tg, seconds, minlength=tgs.size)[tg]
    noise = rng.normal(0.0, PLUS_MINUS_SD, n) * np.sqrt(share_of_game)
    stats["plus_minus"] = np.round(expected_plus_minus + noise).astype(np.int64)
    return _GameLines(seconds=seconds, stats=stats)


def _shares(tg: np.ndarray, weight: np.ndarray, n_tg: int) -> np.ndarray:
    return weight / np.bincount(tg, weight, minlength=n_tg)[tg]

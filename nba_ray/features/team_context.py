"""League, team and opponent figures: features 7, 9, 13, 14, 22, 23 and the zone efficiencies allowed.

Team windows are the team's last k games of the current season before D, with no previous-season
fallback; per-game figures (pace, ratings) are averaged over the games, shooting figures are ratios of
sums. League figures "to date" use every team-game of the current season before D; before the season's
first game they are the previous season's full-season figures when that season is in the data, else the
defaults (contract DEFAULT_LEAGUE_PACE/RATING and the DEFAULT_LEAGUE_* zone constants below). Team
days_rest = days since the team's previous game (any season) − 1, cap 10, default 1.
league_def_rating_p33/p67 are numpy 'linear' percentiles of the teams' mean defensive ratings over their
current-season games before D (teams without a game excluded), with the same fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nba_ray.features.contract import (
    DEFAULT_LEAGUE_PACE,
    DEFAULT_LEAGUE_RATING,
    FEATURE_DEFAULTS,
    QUALITY_DEFAULT,
    QUALITY_FULL,
    QUALITY_PARTIAL,
)
from nba_ray.features.inputs import Targets
from nba_ray.features.rest import days_rest_from, last_event_day
from nba_ray.features.sequence import DAY_KEY_BASE, Columns, EventSequence, ratio

TEAM_WINDOW = 10
OPPONENT_WINDOW = 15
PACE_SCORE_DIVISOR = 2.0
PACE_SCORE_LIMIT = 3.0
REST_ADVANTAGE_LIMIT = 2.0

# League defaults not in the contract (used only before any game of the first season in the data).
DEFAULT_LEAGUE_TWO_PCT = 0.53
DEFAULT_LEAGUE_THREE_PCT = 0.355
DEFAULT_LEAGUE_FT_RATE = FEATURE_DEFAULTS["ft_rate_last_10"]
DEFAULT_DEF_RATING_TERCILE_HALF_GAP = 1.5  # p33/p67 = DEFAULT_LEAGUE_RATING ∓ this
LOWER_TERCILE, UPPER_TERCILE = 33.0, 67.0


@dataclass(frozen=True)
class League:
    """League figures to date for each target row (SYSTEMS §2: "league mean to date")."""

    pace: np.ndarray
    rating: np.ndarray  # mean defensive (= offensive) rating per team-game
    eff: Columns  # zone efficiencies: two (2P%), three (3P%), ft (FTA/FGA)
    def_rating_p33: np.ndarray
    def_rating_p67: np.ndarray


ZONE_RATIOS = {"two": ("two_made", "two_att"), "three": ("three_made", "three_att"), "ft": ("fta", "fga")}
_DEFAULT_ZONE_EFF = {
    "two": DEFAULT_LEAGUE_TWO_PCT,
    "three": DEFAULT_LEAGUE_THREE_PCT,
    "ft": DEFAULT_LEAGUE_FT_RATE,
}


def _league_has_games(league: EventSequence, season: np.ndarray, day: np.ndarray) -> np.ndarray:
    zero = np.zeros(len(day), dtype=np.int64)
    return league.before(zero, day) > league.season_start(zero, season)


def _league_range(
    league: EventSequence, season: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Team-games [lo, hi) the league figures use: the season to date, else the whole previous season."""
    zero = np.zeros(len(day), dtype=np.int64)
    lo = league.season_start(zero, season)
    hi = league.before(zero, day)
    previous_lo = league.season_start(zero, season - 1)
    to_date = hi > lo
    return np.where(to_date, lo, previous_lo), np.where(to_date, hi, lo)


def league_to_date(t: Targets, league: EventSequence, teams: EventSequence) -> League:
    lo, hi = _league_range(league, t.season, t.day)
    count = hi - lo
    eff = {
        zone: ratio(league.total(made, lo, hi), league.total(att, lo, hi), _DEFAULT_ZONE_EFF[zone])
        for zone, (made, att) in ZONE_RATIOS.items()
    }
    p33, p67 = _def_rating_terciles(t, league, teams)
    return League(
        pace=ratio(league.total("pace", lo, hi), count, DEFAULT_LEAGUE_PACE),
        rating=ratio(league.total("def_rating", lo, hi), count, DEFAULT_LEAGUE_RATING),
        eff=eff,
        def_rating_p33=p33,
        def_rating_p67=p67,
    )


def _def_rating_terciles(
    t: Targets, league: EventSequence, teams: EventSequence
) -> tuple[np.ndarray, np.ndarray]:
    """33rd/67th percentiles of the teams' mean defensive ratings to date, per distinct date.

    Computed on a (date × team) grid of window bounds in the team sequence, so there is no loop over
    dates or teams. Teams without a game in the range are left out; no game at all → the defaults.
    """
    date_key, inverse = np.unique(t.season * DAY_KEY_BASE + t.day, return_inverse=True)
    season, day = date_key // DAY_KEY_BASE, date_key % DAY_KEY_BASE
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
        means = ratio(teams.total("def_rating", lo, hi), hi - lo, np.nan)
        has_any = (hi > lo).any(axis=1)
        if has_any.any():
            p33[has_any], p67[has_any] = np.nanpercentile(
                means[has_any], [LOWER_TERCILE, UPPER_TERCILE], axis=1
            )
    return p33[inverse], p67[inverse]


@dataclass(frozen=True)
class Opponent:
    """Opponent figures the derived features and the zone context need."""

    zone_eff: Columns  # allowed 2P%, 3P%, FTA/FGA over its last 15 games (league value without a game)
    window_quality: np.ndarray
    days_rest: np.ndarray
    rest_quality: np.ndarray


def _team_window(
    teams: EventSequence, team: np.ndarray, season: np.ndarray, day: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi, quality) of a team's last k games of the current season before the date."""
    hi = teams.before(team, day)
    lo = np.minimum(np.maximum(teams.season_start(team, season), hi - k), hi)
    count = hi - lo
    quality = np.where(count >= k, QUALITY_FULL, np.where(count > 0, QUALITY_PARTIAL, QUALITY_DEFAULT))
    return lo, hi, quality


def team_features(
    t: Targets, teams: EventSequence, league: League, values: Columns, quality: Columns
) -> Opponent:
    """Features 13, 14, 22, 23 and the opponent's zone efficiencies allowed and days of rest."""
    lo, hi, team_quality = _team_window(teams, t.team, t.season, t.day, TEAM_WINDOW)
    values["team_pace_last_10"] = ratio(teams.total("pace", lo, hi), hi - lo, league.pace)
    values["team_off_rating_last_10"] = ratio(teams.total("off_rating", lo, hi), hi - lo, league.rating)
    quality["team_pace_last_10"] = quality["team_off_rating_last_10"] = team_quality

    lo, hi, opp_quality = _team_window(teams, t.opponent, t.season, t.day, OPPONENT_WINDOW)
    values["opponent_def_rating_last_15"] = ratio(teams.total("def_rating", lo, hi), hi - lo, league.rating)
    values["opponent_pace_last_15"] = ratio(teams.total("pace", lo, hi), hi - lo, league.pace)
    quality["opponent_def_rating_last_15"] = quality["opponent_pace_last_15"] = opp_quality
    zone_eff = {
        zone: ratio(
            teams.total(f"allowed_{made}", lo, hi), teams.total(f"allowed_{att}", lo, hi), league.eff[zone]
        )
        for zone, (made, att) in ZONE_RATIOS.items()
    }

    previous_games_end = teams.before(t.opponent, t.day)
    has_previous, previous_day = last_event_day(teams, teams.group_start(t.opponent), previous_games_end)
    return Opponent(
        zone_eff=zone_eff,
        window_quality=opp_quality,
        days_rest=days_rest_from(has_previous, t.day - previous_day),
        rest_quality=np.where(has_previous, QUALITY_FULL, QUALITY_DEFAULT),
    )


def derived_features(league: League, opponent: Opponent, values: Columns, quality: Columns) -> None:
    """pace_score and rest_advantage from their (filled) inputs."""
    pace_edge = (values["team_pace_last_10"] + values["opponent_pace_last_15"]) / 2.0 - league.pace
    values["pace_score"] = np.clip(pace_edge / PACE_SCORE_DIVISOR, -PACE_SCORE_LIMIT, PACE_SCORE_LIMIT)
    quality["pace_score"] = np.minimum(quality["team_pace_last_10"], quality["opponent_pace_last_15"])

    rest_edge = values["days_rest"] - opponent.days_rest
    values["rest_advantage"] = np.clip(rest_edge, -REST_ADVANTAGE_LIMIT, REST_ADVANTAGE_LIMIT)
    quality["rest_advantage"] = np.minimum(quality["days_rest"], opponent.rest_quality)

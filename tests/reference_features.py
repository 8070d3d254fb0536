"""A slow, obviously-correct reference for ONE feature-store row, straight from SYSTEMS.md §2.

`reference_row(box, player_lookup, game_date)` filters the box scores to games strictly before the date
with plain pandas and computes every `ml_feature_store` column with plain means, sums and lists: no
prefix sums, no searchsorted, no shared code with `nba_ray.features.builder`. The spec's numbers
(thresholds, penalties, windows) are written here as literals on purpose, so a wrong constant in the
builder shows up as a mismatch. Only the builder's own documented defaults that the contract does not
hold (league zone efficiencies, default terciles, default expected points) are imported.

The decisions it follows are the ones in the builder's module docstring.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from nba_ray.features.contract import (
    DEFAULT_LEAGUE_PACE,
    DEFAULT_LEAGUE_RATING,
    FEATURE_DEFAULTS,
    FEATURE_NAMES,
    FEATURE_VERSION,
    FEATURES,
    V2_AVAIL_40,
)
from nba_ray.features.player_windows import DEFAULT_EXP_POINTS
from nba_ray.features.team_context import (
    DEFAULT_DEF_RATING_TERCILE_HALF_GAP,
    DEFAULT_LEAGUE_FT_RATE,
    DEFAULT_LEAGUE_THREE_PCT,
    DEFAULT_LEAGUE_TWO_PCT,
)

FULL, PARTIAL, DEFAULTED = 100.0, 75.0, 40.0

# The player_game_summary columns the reference reads (callers may drop the others to go faster).
INPUT_COLUMNS = (
    *("season", "game_id", "game_date", "team_abbr", "opponent_team_abbr", "is_home", "player_id"),
    *("player_lookup", "minutes_played", "points", "fg_made", "fg_attempted", "three_pt_made"),
    *("three_pt_attempted", "ft_made", "ft_attempted", "offensive_rebounds", "turnovers", "dnp_reason"),
    "starter",
)


def previous_season(season: str) -> str:
    """'2021-22' → '2020-21'."""
    start = int(season[:4]) - 1
    return f"{start}-{(start + 1) % 100:02d}"


def bucket(x: float, strong: float, mild: float) -> float:
    """SYSTEMS §2 buckets: ≥ strong → 2, ≥ mild → 1, ≤ −strong → −2, ≤ −mild → −1, else 0."""
    if x >= strong:
        return 2.0
    if x >= mild:
        return 1.0
    if x <= -strong:
        return -2.0
    if x <= -mild:
        return -1.0
    return 0.0


def team_game_totals(played: pd.DataFrame) -> pd.DataFrame:
    """Per (game, team) sums of the given played rows."""
    return (
        played.assign(plays=played.fg_attempted + 0.44 * played.ft_attempted + played.turnovers)
        .groupby(["game_id", "team_abbr"], as_index=False, sort=False)
        .agg(
            game_date=("game_date", "first"),
            season=("season", "first"),
            opponent=("opponent_team_abbr", "first"),
            plays=("plays", "sum"),
            pts=("points", "sum"),
            fga=("fg_attempted", "sum"),
            fgm=("fg_made", "sum"),
            tpa=("three_pt_attempted", "sum"),
            tpm=("three_pt_made", "sum"),
            fta=("ft_attempted", "sum"),
            oreb=("offensive_rebounds", "sum"),
            tov=("turnovers", "sum"),
            minutes=("minutes_played", "sum"),
        )
    )


def team_game_table(totals: pd.DataFrame) -> pd.DataFrame:
    """Team-game totals, each joined to its opponent's, with possessions, pace and ratings."""
    opponent = totals.drop(columns=["game_date", "season", "opponent"]).add_prefix("opp_")
    games = totals.merge(
        opponent, left_on=["game_id", "opponent"], right_on=["opp_game_id", "opp_team_abbr"], how="inner"
    )
    own_poss = games.fga - games.oreb + games.tov + 0.44 * games.fta
    opp_poss = games.opp_fga - games.opp_oreb + games.opp_tov + 0.44 * games.opp_fta
    game_poss = (own_poss + opp_poss) / 2
    games["pace"] = 48 * game_poss / (games.minutes / 5)
    games["off_rating"] = 100 * games.pts / game_poss
    games["def_rating"] = 100 * games.opp_pts / game_poss
    return games.sort_values("game_date")


def recent_form(box: pd.DataFrame, player: str, season: str, game_date: date) -> tuple[float, float, float]:
    """A player's means over his last 10 played games before the date (same window base as his own
    features): points, usage plays (FGA + 0.44·FTA + TOV), minutes; zeros without a game. Remembered per
    box-score frame: every row of a team-date, and each of its last ten, asks for the same teammates."""
    forms = _cached(box).forms
    key = (player, season, game_date)
    if key not in forms:
        forms[key] = _recent_form(_cached(box).games.get(player), season, game_date)
    return forms[key]


def _recent_form(games: pd.DataFrame | None, season: str, game_date: date) -> tuple[float, float, float]:
    if games is None:
        return 0.0, 0.0, 0.0
    mine = games[games.game_date < game_date]
    current = mine[mine.season == season]
    window = current if len(current) >= 3 else mine[mine.season.isin([season, previous_season(season)])]
    last10 = window.tail(10)
    if not len(last10):
        return 0.0, 0.0, 0.0
    plays = last10.fg_attempted + 0.44 * last10.ft_attempted + last10.turnovers
    return float(last10.points.mean()), float(plays.mean()), float(last10.minutes_played.mean())


@dataclass
class _BoxCache:
    """What the reference asks of one box-score frame many times: played games per player, by date, and
    the recent forms computed so far."""

    box: pd.DataFrame
    games: dict[str, pd.DataFrame]
    forms: dict[tuple[str, str, date], tuple[float, float, float]] = field(default_factory=dict)


_CACHE: dict[int, _BoxCache] = {}


def _cached(box: pd.DataFrame) -> _BoxCache:
    cached = _CACHE.get(id(box))
    if cached is None or cached.box is not box:
        played = box[box.minutes_played > 0].sort_values("game_date")
        cached = _BoxCache(box, {player: games for player, games in played.groupby("player_lookup")})
        _CACHE.clear()
        _CACHE[id(box)] = cached
    return cached


AVAILABILITY_LEVELS = (
    "teammates_points_last_10",
    "teammates_usage_last_10",
    "teammates_minutes_last_10",
    "share_of_active_points",
    "share_of_active_usage",
    "points_vacated_last_10",
)


def availability_at(
    box: pd.DataFrame, availability: pd.DataFrame, player: str, team: str, season: str, game_date: date
) -> tuple[dict[str, float], str] | None:
    """The availability figures of a player on one team-date, and their source; None when unknown."""
    listed = availability[(availability.game_date == game_date) & (availability.team_abbr == team)]
    if (listed.source == "BOX_SCORE").any():
        listed = listed[listed.source == "BOX_SCORE"]
    if not len(listed):
        return None
    own = recent_form(box, player, season, game_date)
    active, out = [0.0, 0.0, 0.0], 0.0
    for other, status in zip(listed.player_lookup, listed.status, strict=True):
        if other == player:
            continue
        form = recent_form(box, other, season, game_date)
        if status == "AVAILABLE":
            active = [a + f for a, f in zip(active, form, strict=True)]
        else:
            out += form[0]
    figures = {
        "teammates_points_last_10": active[0],
        "teammates_usage_last_10": active[1],
        "teammates_minutes_last_10": active[2],
        "share_of_active_points": own[0] / (own[0] + active[0]) if own[0] + active[0] > 0 else 0.1,
        "share_of_active_usage": own[1] / (own[1] + active[1]) if own[1] + active[1] > 0 else 0.1,
        "points_vacated_last_10": out,
    }
    return figures, str(listed.source.iloc[0])


def _delta_name(level: str) -> str:
    return level.replace("_last_10", "") + "_vs_recent"


def lineup_at(lineups: pd.DataFrame, team: str, game_date: date) -> tuple[set[str], str] | None:
    """The starters announced for one team-date and their source (box scores first); None when none."""
    listed = lineups[(lineups.game_date == game_date) & (lineups.team_abbr == team)]
    if (listed.source == "BOX_SCORE").any():
        listed = listed[listed.source == "BOX_SCORE"]
    if not len(listed):
        return None
    return set(listed.player_lookup), str(listed.source.iloc[0])


def reference_row(
    box: pd.DataFrame,
    player_lookup: str,
    game_date: date,
    availability: pd.DataFrame,
    lineups: pd.DataFrame,
) -> dict[str, object]:
    """Every output column for one (player_lookup, game_date), from games before game_date only
    (and the date's availability and lineup)."""
    target = box[(box.player_lookup == player_lookup) & (box.game_date == game_date)]
    assert len(target) == 1, f"expected one box-score row for {player_lookup} on {game_date}"
    row = target.iloc[0]
    season, previous = row.season, previous_season(row.season)

    history = box[box.game_date < game_date]
    played = history[history.minutes_played > 0]

    mine = played[played.player_lookup == player_lookup].sort_values("game_date")
    current = mine[mine.season == season]
    window = current if len(current) >= 3 else mine[mine.season.isin([season, previous])]
    previous_used = len(window) - len(current)

    totals = team_game_totals(played)
    team_games = team_game_table(totals)
    team_totals = totals.set_index(["game_id", "team_abbr"])

    out: dict[str, object] = {
        "game_date": game_date,
        "player_lookup": player_lookup,
        "feature_version": FEATURE_VERSION,
        "season": season,
        "game_id": row.game_id,
        "player_id": row.player_id,
        "team_abbr": row.team_abbr,
        "opponent_team_abbr": row.opponent_team_abbr,
    }
    quality: dict[str, float] = {}

    # ---- player windows -------------------------------------------------------------------------------
    def last(k: int) -> pd.DataFrame:
        return window.tail(k)

    def window_quality(k: int) -> float:
        if len(current) >= k:
            return FULL
        return PARTIAL if len(window) > 0 else DEFAULTED

    def mean_or(values: pd.Series, default: float) -> float:
        return float(np.mean(values.to_numpy(dtype=float))) if len(values) else default

    def ratio_or(numerator: float, denominator: float, default: float) -> float:
        return numerator / denominator if denominator > 0 else default

    last5, last10, last3 = last(5), last(10), last(3)
    out["points_avg_last_5"] = mean_or(last5.points, 10.0)
    quality["points_avg_last_5"] = window_quality(5)
    out["points_avg_last_10"] = mean_or(last10.points, 10.0)
    quality["points_avg_last_10"] = window_quality(10)
    out["points_avg_season"] = mean_or(window.points, 10.0)
    quality["points_avg_season"] = FULL if len(current) >= 3 else (PARTIAL if len(window) else DEFAULTED)
    out["points_std_last_10"] = float(np.std(last10.points.to_numpy(dtype=float))) if len(last10) else 5.0
    quality["points_std_last_10"] = window_quality(10)
    out["minutes_avg_last_10"] = mean_or(last10.minutes_played, 20.0)
    quality["minutes_avg_last_10"] = window_quality(10)

    if len(last5) == 5:
        newest_first = list(last5.points)[::-1]
        diff = np.mean(newest_first[:3]) - np.mean(newest_first[3:])
        out["recent_trend"] = bucket(diff, 5, 2)
        quality["recent_trend"] = window_quality(5)
    else:
        out["recent_trend"], quality["recent_trend"] = 0.0, DEFAULTED

    if len(last10):
        change = last10.minutes_played.mean() / window.minutes_played.mean() - 1
        out["minutes_change"] = bucket(change, 0.2, 0.1)
    else:
        out["minutes_change"] = 0.0
    quality["minutes_change"] = window_quality(10)

    def usage(games: pd.DataFrame) -> float | None:
        if not len(games):
            return None
        plays = share = 0.0
        for game in games.itertuples():
            team = team_totals.loc[(game.game_id, game.team_abbr)]
            plays += game.fg_attempted + 0.44 * game.ft_attempted + game.turnovers
            share += game.minutes_played * team.plays / (team.minutes / 5)
        return 100 * plays / share

    usage10, usage3 = usage(last10), usage(last3)
    out["usage_rate_last_10"] = min(max(usage10, 0.0), 100.0) if usage10 is not None else 20.0
    quality["usage_rate_last_10"] = window_quality(10)
    if usage10 is not None:
        out["usage_spike_score"] = min(max((usage3 - usage10) * 0.3, -3.0), 3.0)
    else:
        out["usage_spike_score"] = 0.0
    quality["usage_spike_score"] = window_quality(10)

    fga, points = last10.fg_attempted.sum(), last10.points.sum()
    for name, numerator, denominator in (
        ("three_pt_rate_last_10", last10.three_pt_attempted.sum(), fga),
        ("ft_rate_last_10", last10.ft_attempted.sum(), fga),
        ("pct_points_from_three_last_10", 3 * last10.three_pt_made.sum(), points),
        ("pct_points_from_ft_last_10", last10.ft_made.sum(), points),
    ):
        out[name] = ratio_or(float(numerator), float(denominator), FEATURE_DEFAULTS[name])
        quality[name] = window_quality(10) if denominator > 0 else DEFAULTED

    exp_points = {
        "two": mean_or(2 * (last10.fg_made - last10.three_pt_made), DEFAULT_EXP_POINTS["two"]),
        "three": mean_or(3 * last10.three_pt_made, DEFAULT_EXP_POINTS["three"]),
        "ft": mean_or(last10.ft_made, DEFAULT_EXP_POINTS["ft"]),
    }
    for zone, value in exp_points.items():
        out[f"player_exp_points_{zone}"] = value

    # ---- v2 player figures ----------------------------------------------------------------------------
    out["minutes_last_game"] = mean_or(last(1).minutes_played, 20.0)
    quality["minutes_last_game"] = window_quality(1)
    out["points_avg_last_3"] = mean_or(last3.points, 10.0)
    quality["points_avg_last_3"] = window_quality(3)
    window_minutes = float(window.minutes_played.sum())
    out["points_per_minute_season"] = ratio_or(float(window.points.sum()), window_minutes, 0.45)
    if window_minutes > 0:
        quality["points_per_minute_season"] = FULL if len(current) >= 3 else PARTIAL
    else:
        quality["points_per_minute_season"] = DEFAULTED

    # ---- v2 availability: tonight, and against the player's own last 10 games -----------------------
    tonight = availability_at(box, availability, player_lookup, row.team_abbr, season, game_date)
    recent = [
        found[0]
        for game in last10.itertuples()
        if (
            found := availability_at(
                box, availability, player_lookup, game.team_abbr, game.season, game.game_date
            )
        )
    ]
    level_quality = FULL if tonight else DEFAULTED
    for level in AVAILABILITY_LEVELS:
        delta = _delta_name(level)
        recent_mean = float(np.mean([r[level] for r in recent])) if recent else FEATURE_DEFAULTS[level]
        if tonight:
            out[level] = tonight[0][level]
            out[delta] = out[level] - recent_mean if recent else 0.0
        else:
            out[level], out[delta] = recent_mean, 0.0
        relative_quality = min(level_quality, window_quality(10))
        quality[level] = relative_quality if level.startswith("share") else level_quality
        quality[delta] = relative_quality
    out["availability_source"] = tonight[1] if tonight else "NONE"

    # ---- v3 lineups: who starts tonight, against how often he started lately -------------------------
    lineup = lineup_at(lineups, row.team_abbr, game_date)
    out["starts_last_10"] = mean_or(last10.starter.astype(float), 0.5)
    quality["starts_last_10"] = window_quality(10)
    if lineup:
        out["starter_tonight"] = 1.0 if player_lookup in lineup[0] else 0.0
        out["starter_vs_recent"] = out["starter_tonight"] - out["starts_last_10"] if len(last10) else 0.0
        quality["starter_tonight"] = FULL
    else:
        out["starter_tonight"], out["starter_vs_recent"] = out["starts_last_10"], 0.0
        quality["starter_tonight"] = DEFAULTED
    quality["starter_vs_recent"] = min(quality["starter_tonight"], window_quality(10))
    out["lineup_source"] = lineup[1] if lineup else "NONE"

    # ---- calendar: any-season played games --------------------------------------------------------------
    played_days = sorted(mine.game_date)
    if played_days:
        days_rest = min((game_date - played_days[-1]).days - 1, 10)
        back_to_back = days_rest == 0
        week = mine[(mine.game_date >= game_date - timedelta(days=7))]
        week_minutes = week.minutes_played.sum()
        fortnight = [d for d in played_days if d >= game_date - timedelta(days=14)]
        pairs = sum(1 for a, b in itertools.pairwise(fortnight) if (b - a).days == 1)
        fatigue = 100.0
        if back_to_back:
            fatigue -= 15
        elif days_rest >= 3:
            fatigue += 5
        if len(week) >= 4:
            fatigue -= 10
        if week_minutes > 240:
            fatigue -= 10
        if len(week) and week_minutes / len(week) > 35:
            fatigue -= 8
        if pairs == 1:
            fatigue -= 5
        elif pairs >= 2:
            fatigue -= 12
        out["fatigue_score"] = min(max(fatigue, 0.0), 100.0)
        out["days_rest"], out["back_to_back"] = float(days_rest), float(back_to_back)
        out["games_in_last_7_days"] = float(len(week))
        calendar_quality = FULL
    else:
        out["fatigue_score"], out["days_rest"], out["back_to_back"] = 50.0, 1.0, 0.0
        out["games_in_last_7_days"] = 0.0
        calendar_quality = DEFAULTED
    for name in ("fatigue_score", "days_rest", "back_to_back", "games_in_last_7_days"):
        quality[name] = calendar_quality
    out["is_home"] = 1.0 if row.is_home else 0.0
    quality["is_home"] = FULL

    # ---- league to date -----------------------------------------------------------------------------------
    league = team_games[team_games.season == season]
    if not len(league):
        league = team_games[team_games.season == previous]
    if len(league):
        league_pace, league_rating = league.pace.mean(), league.def_rating.mean()
        league_eff = {
            "two": ratio_or(
                (league.fgm - league.tpm).sum(), (league.fga - league.tpa).sum(), DEFAULT_LEAGUE_TWO_PCT
            ),
            "three": ratio_or(league.tpm.sum(), league.tpa.sum(), DEFAULT_LEAGUE_THREE_PCT),
            "ft": ratio_or(league.fta.sum(), league.fga.sum(), DEFAULT_LEAGUE_FT_RATE),
        }
        per_team = league.groupby("team_abbr").def_rating.mean().to_numpy()
        p33, p67 = np.percentile(per_team, 33), np.percentile(per_team, 67)
    else:
        league_pace, league_rating = DEFAULT_LEAGUE_PACE, DEFAULT_LEAGUE_RATING
        league_eff = {
            "two": DEFAULT_LEAGUE_TWO_PCT,
            "three": DEFAULT_LEAGUE_THREE_PCT,
            "ft": DEFAULT_LEAGUE_FT_RATE,
        }
        p33 = DEFAULT_LEAGUE_RATING - DEFAULT_DEF_RATING_TERCILE_HALF_GAP
        p67 = DEFAULT_LEAGUE_RATING + DEFAULT_DEF_RATING_TERCILE_HALF_GAP

    # ---- team and opponent --------------------------------------------------------------------------
    this_season = team_games[team_games.season == season]

    def team_window_quality(games: pd.DataFrame, k: int) -> float:
        return FULL if len(games) >= k else PARTIAL if len(games) else DEFAULTED

    own = this_season[this_season.team_abbr == row.team_abbr].tail(10)
    out["team_pace_last_10"] = own.pace.mean() if len(own) else league_pace
    out["team_off_rating_last_10"] = own.off_rating.mean() if len(own) else league_rating
    quality["team_pace_last_10"] = quality["team_off_rating_last_10"] = team_window_quality(own, 10)

    opp = this_season[this_season.team_abbr == row.opponent_team_abbr].tail(15)
    out["opponent_def_rating_last_15"] = opp.def_rating.mean() if len(opp) else league_rating
    out["opponent_pace_last_15"] = opp.pace.mean() if len(opp) else league_pace
    opp_quality = team_window_quality(opp, 15)
    quality["opponent_def_rating_last_15"] = quality["opponent_pace_last_15"] = opp_quality
    if len(opp):
        opp_eff = {
            "two": ratio_or(
                (opp.opp_fgm - opp.opp_tpm).sum(), (opp.opp_fga - opp.opp_tpa).sum(), league_eff["two"]
            ),
            "three": ratio_or(opp.opp_tpm.sum(), opp.opp_tpa.sum(), league_eff["three"]),
            "ft": ratio_or(opp.opp_fta.sum(), opp.opp_fga.sum(), league_eff["ft"]),
        }
    else:
        opp_eff = dict(league_eff)

    opp_any_season = team_games[team_games.team_abbr == row.opponent_team_abbr]
    if len(opp_any_season):
        opp_rest = min((game_date - opp_any_season.game_date.max()).days - 1, 10)
        opp_rest_quality = FULL
    else:
        opp_rest, opp_rest_quality = 1, DEFAULTED

    # ---- derived ----------------------------------------------------------------------------------------
    pace_edge = (out["team_pace_last_10"] + out["opponent_pace_last_15"]) / 2 - league_pace
    out["pace_score"] = min(max(pace_edge / 2, -3.0), 3.0)
    quality["pace_score"] = min(quality["team_pace_last_10"], quality["opponent_pace_last_15"])
    out["rest_advantage"] = min(max(out["days_rest"] - opp_rest, -2.0), 2.0)
    quality["rest_advantage"] = min(quality["days_rest"], opp_rest_quality)
    mismatch = sum(
        exp_points[z] * (ratio_or(opp_eff[z], league_eff[z], 1.0) - 1) for z in ("two", "three", "ft")
    )
    out["shot_zone_mismatch_score"] = min(max(mismatch, -10.0), 10.0)
    quality["shot_zone_mismatch_score"] = min(window_quality(10), opp_quality)

    out["opp_two_pct_allowed_delta"] = opp_eff["two"] - league_eff["two"]
    out["opp_three_pct_allowed_delta"] = opp_eff["three"] - league_eff["three"]
    out["opp_ft_rate_allowed_delta"] = opp_eff["ft"] - league_eff["ft"]
    out["league_two_pct"], out["league_three_pct"] = league_eff["two"], league_eff["three"]
    out["league_ft_rate"] = league_eff["ft"]
    out["league_def_rating_p33"], out["league_def_rating_p67"] = p33, p67

    for feature in FEATURES:  # the contract's ranges
        out[feature.name] = float(min(max(out[feature.name], feature.low), feature.high))

    # The standard features only: a lineup never moves the score.
    out["feature_quality_score"] = float(np.mean([quality[name] for name in V2_AVAIL_40.names]))
    assert set(quality) == set(FEATURE_NAMES)
    out["games_in_history"] = len(window)
    if len(window) == 0:
        out["data_source"] = "defaults"
    elif len(current) and previous_used:
        out["data_source"] = "mixed"
    elif previous_used:
        out["data_source"] = "previous_season"
    else:
        out["data_source"] = "current_season"
    return out

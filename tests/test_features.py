"""Tests of the feature-store builder (`nba_ray.features.builder.build_features`).

The builder is checked against `tests/reference_features.py` (a slow per-row reference), for
walk-forward safety (changing games on/after a date never changes that date's rows), for coverage on a
real season, and on a few hand-checked semantics. Real data comes from the folder in NBA_RAY_REAL_DATA;
those tests are skipped when it is unset (outside CI; see tests/conftest.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from nba_ray.data.availability import PRE_GAME_INACTIVE_REASONS, derive_availability, derive_lineups
from nba_ray.features.builder import build_features
from nba_ray.features.contract import (
    DATA_SOURCES,
    FEATURE_NAMES,
    FEATURES,
    V1_BOX_25,
    V2_AVAIL_40,
    ZONE_CONTEXT_COLUMNS,
)
from nba_ray.warehouse.schemas import ML_FEATURE_STORE, PLAYER_GAME_SUMMARY, STAT_COLUMNS, conform
from tests.conftest import real_season, requires_real_data
from tests.reference_features import INPUT_COLUMNS, reference_row

SEASON_START, SEASON_END = date(2021, 10, 19), date(2022, 4, 10)  # real 2021-22 regular season
REAL_SAMPLE_SIZE = 150
REAL_DNP_SAMPLE_SIZE = 15
TOLERANCE = 1e-9

# ======================================================================================================
# A tiny hand-made league: 4 teams, 2 seasons
# ======================================================================================================

TEAMS = ("AAA", "BBB", "CCC", "DDD")
# Each game day plays one round of pairings (rotating); some games are skipped so teams get rest days,
# back-to-backs and different schedules.
PAIRINGS = (
    (("AAA", "BBB"), ("CCC", "DDD")),
    (("AAA", "CCC"), ("BBB", "DDD")),
    (("AAA", "DDD"), ("BBB", "CCC")),
)
TINY_SEASONS = (("2020-21", date(2020, 12, 22), 36), ("2021-22", date(2021, 10, 19), 40))


def _roster(team: str, season: str) -> list[str]:
    """Six regulars per team, plus players who arrive, leave or move between the seasons."""
    players = [f"{team.lower()}{i}" for i in range(1, 7)]
    if team == "AAA" and season == "2021-22":
        players.append("rookiea")  # no history before the second season
    if team == "BBB" and season == "2020-21":
        players.append("retireeb")  # gone after the first season
    if (team, season) in (("CCC", "2020-21"), ("DDD", "2021-22")):
        players.append("travelerc")  # changes team between the seasons
    if team == "DDD":
        players.append("scrubd")  # plays a minute or two and rarely shoots (zero denominators)
    return players


def _dnp_reason(rng: np.random.Generator, player: str) -> str | None:
    """Mostly played; the rest spread over all DNP reasons."""
    draw = rng.random()
    if draw < 0.86:
        return None
    return str(
        rng.choice(
            [
                "Did Not Play",
                "Did Not Play",
                "Did Not Dress",
                "Not With Team",
                "Player Suspended",
                "Played 0:00",
            ]
        )
    )


def box_row(
    game_date: date,
    team: str,
    opponent: str,
    is_home: bool,
    player: str,
    season: str,
    minutes: float,
    stats: dict[str, int] | None = None,
    dnp_reason: str | None = None,
) -> dict[str, object]:
    """One player_game_summary row; stats are None on DNP rows (except "Played 0:00", all zero)."""
    home = team if is_home else opponent
    row: dict[str, object] = {
        "season": season,
        "game_id": f"{game_date:%Y%m%d}0{home}",
        "game_date": game_date,
        "team_abbr": team,
        "opponent_team_abbr": opponent,
        "is_home": is_home,
        "player_id": f"{player}01",
        "player_name": player.title(),
        "player_lookup": player,
        "starter": False,
        "minutes_played": minutes,
        "dnp": dnp_reason is not None,
        "dnp_reason": dnp_reason,
    }
    for column in STAT_COLUMNS:
        row[column] = None if stats is None else stats.get(column, 0)
    return row


def random_stats(rng: np.random.Generator, minutes: float, shy: bool = False) -> dict[str, int]:
    """A consistent stat line: made ≤ attempted, points = 2·2PM + 3·3PM + FTM."""
    fga = 0 if shy and rng.random() < 0.8 else int(rng.integers(0, int(minutes * 0.6) + 2))
    three_att = int(rng.binomial(fga, 0.4))
    two_made = int(rng.binomial(fga - three_att, 0.5))
    three_made = int(rng.binomial(three_att, 0.35))
    fta = 0 if shy else int(rng.integers(0, 9))
    ft_made = int(rng.binomial(fta, 0.75))
    oreb, dreb = int(rng.integers(0, 4)), int(rng.integers(0, 8))
    return {
        "points": 2 * two_made + 3 * three_made + ft_made,
        "fg_made": two_made + three_made,
        "fg_attempted": fga,
        "three_pt_made": three_made,
        "three_pt_attempted": three_att,
        "ft_made": ft_made,
        "ft_attempted": fta,
        "offensive_rebounds": oreb,
        "defensive_rebounds": dreb,
        "rebounds": oreb + dreb,
        "assists": int(rng.integers(0, 8)),
        "steals": int(rng.integers(0, 3)),
        "blocks": int(rng.integers(0, 3)),
        "turnovers": int(rng.integers(0, 5)),
        "personal_fouls": int(rng.integers(0, 6)),
        "plus_minus": int(rng.integers(-15, 16)),
    }


def _team_lines(
    rng: np.random.Generator, game_date: date, team: str, opponent: str, is_home: bool, season: str
) -> list[dict[str, object]]:
    """A team's box-score rows of one game; its five longest-playing players started it."""
    rows = list(_player_lines(rng, game_date, team, opponent, is_home, season))
    for row in sorted(rows, key=lambda r: -float(r["minutes_played"]))[:5]:  # type: ignore[arg-type]
        if float(row["minutes_played"]) > 0:  # type: ignore[arg-type]
            row["starter"] = True
    return rows


def _player_lines(
    rng: np.random.Generator, game_date: date, team: str, opponent: str, is_home: bool, season: str
) -> Iterable[dict[str, object]]:
    for player in _roster(team, season):
        reason = _dnp_reason(rng, player)
        if reason is None:
            minutes = round(rng.uniform(1, 3) if player == "scrubd" else rng.uniform(1, 44), 2)
            yield box_row(
                game_date,
                team,
                opponent,
                is_home,
                player,
                season,
                minutes,
                random_stats(rng, minutes, shy=player == "scrubd"),
            )
        elif reason == "Played 0:00":
            yield box_row(game_date, team, opponent, is_home, player, season, 0.0, {}, reason)
        else:
            yield box_row(game_date, team, opponent, is_home, player, season, 0.0, None, reason)


def to_table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=PLAYER_GAME_SUMMARY.schema)


def tiny_league(seed: int = 7) -> pa.Table:
    """Box scores of a 4-team league over two short seasons (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for season, opening, days in TINY_SEASONS:
        for offset in range(days):
            game_date = opening + timedelta(days=offset)
            for home, away in PAIRINGS[offset % len(PAIRINGS)]:
                if rng.random() < 0.4:  # no game: rest days and uneven schedules
                    continue
                rows.extend(_team_lines(rng, game_date, away, home, False, season))
                rows.extend(_team_lines(rng, game_date, home, away, True, season))
    return to_table(rows)


TINY_START, TINY_END = TINY_SEASONS[1][1], TINY_SEASONS[1][1] + timedelta(days=TINY_SEASONS[1][2])


@pytest.fixture(scope="module")
def tiny() -> pa.Table:
    return tiny_league()


@pytest.fixture(scope="module")
def real_box() -> pa.Table:
    """Real 2020-21 (history) and 2021-22 box scores."""
    seasons = ("2020-21", "2021-22")
    return pa.concat_tables([conform(pq.read_table(real_season(s)), PLAYER_GAME_SUMMARY) for s in seasons])


@pytest.fixture(scope="module")
def real_features(real_box: pa.Table) -> pa.Table:
    return build_features(real_box, SEASON_START, SEASON_END)


# ======================================================================================================
# Helpers
# ======================================================================================================


def assert_matches_reference(
    features: pa.Table,
    box: pa.Table,
    keys: Iterable[tuple[str, date]],
    availability: pa.Table | None = None,
    lineups: pa.Table | None = None,
) -> None:
    """Every output column of the given rows equals the reference within 1e-9 (strings exactly)."""
    built = features.to_pandas().set_index(["player_lookup", "game_date"], drop=False)
    box_df = box.select(list(INPUT_COLUMNS)).to_pandas()
    availability_df = (derive_availability(box) if availability is None else availability).to_pandas()
    lineups_df = (derive_lineups(box) if lineups is None else lineups).to_pandas()
    mismatches: list[str] = []
    for player, game_date in keys:
        got = built.loc[(player, game_date)]
        expected = reference_row(box_df, player, game_date, availability_df, lineups_df)
        assert set(expected) == set(ML_FEATURE_STORE.schema.names)
        for column, want in expected.items():
            have = got[column]
            if isinstance(want, (str, date)):
                same = have == want
            else:
                same = math.isclose(float(have), float(want), rel_tol=0.0, abs_tol=TOLERANCE)
            if not same:
                mismatches.append(f"{player} {game_date} {column}: builder {have!r} != reference {want!r}")
    assert not mismatches, "\n".join(mismatches[:30])


def real_sample(features: pa.Table, seed: int = 20211019) -> list[tuple[str, date]]:
    """~150 rows: early-season fallbacks, DNP rows, back-to-backs, defaults, and random rows."""
    df = features.to_pandas()
    rng = np.random.default_rng(seed)
    picks: list[int] = []

    def take(mask: pd.Series, n: int) -> None:
        candidates = np.setdiff1d(np.flatnonzero(mask.to_numpy()), picks)
        picks.extend(rng.choice(candidates, size=min(n, len(candidates)), replace=False).tolist())

    take(df.data_source == "previous_season", 20)
    take(df.data_source == "mixed", 20)
    take(df.data_source == "defaults", 5)
    take(df.game_date <= SEASON_START + timedelta(days=14), 15)
    take(df.back_to_back == 1.0, 20)
    take(df.fatigue_score < 80, 10)
    take(df.game_date >= SEASON_START, REAL_SAMPLE_SIZE - REAL_DNP_SAMPLE_SIZE - len(picks))
    return [(df.player_lookup[i], df.game_date[i]) for i in picks]


def real_dnp_sample(
    box: pa.Table, features: pa.Table, n: int = REAL_DNP_SAMPLE_SIZE, seed: int = 3
) -> list[tuple[str, date]]:
    """Target rows whose player did not play ("Did Not Play" / "Played 0:00")."""
    box_df = box.to_pandas()
    dnp = box_df[box_df.dnp & (box_df.season == "2021-22")][["player_lookup", "game_date"]]
    built = features.to_pandas()[["player_lookup", "game_date"]]
    rows = dnp.merge(built, on=["player_lookup", "game_date"]).sample(n=n, random_state=seed)
    return list(rows.itertuples(index=False, name=None))


# ======================================================================================================
# 1. Reference check
# ======================================================================================================


def test_tiny_league_matches_reference(tiny: pa.Table) -> None:
    features = build_features(tiny, TINY_START, TINY_END)
    df = features.to_pandas()
    assert set(df.data_source) >= {"current_season", "mixed", "previous_season"}
    rows = df.sample(n=min(60, len(df)), random_state=11)
    assert_matches_reference(features, tiny, zip(rows.player_lookup, rows.game_date, strict=True))


def test_tiny_league_first_season_matches_reference(tiny: pa.Table) -> None:
    """The first season has no previous season in the data: league defaults on opening days."""
    start = TINY_SEASONS[0][1]
    features = build_features(tiny, start, start + timedelta(days=2))
    df = features.to_pandas()
    assert 0 < len(df) <= 60
    assert_matches_reference(features, tiny, zip(df.player_lookup, df.game_date, strict=True))


@requires_real_data
@pytest.mark.slow  # features of whole real seasons
def test_real_season_matches_reference(real_box: pa.Table, real_features: pa.Table) -> None:
    keys = real_sample(real_features) + real_dnp_sample(real_box, real_features)
    assert len(keys) >= REAL_SAMPLE_SIZE
    assert_matches_reference(real_features, real_box, keys)


# ======================================================================================================
# 2. Walk-forward: games on or after D never change D's rows
# ======================================================================================================


def rewrite_from(box: pa.Table, cut: date, extra_from: date) -> pa.Table:
    """Change points and minutes of every game on/after `cut`, who started every game after it, and
    add fake games after it."""
    on_or_after = pc.greater_equal(box.column("game_date"), pa.scalar(cut, pa.date32()))
    after = pc.greater(box.column("game_date"), pa.scalar(cut, pa.date32()))
    played = pc.greater(box.column("minutes_played"), 0.0)
    points = pc.if_else(on_or_after, pc.add(box.column("points"), 7), box.column("points"))
    minutes = pc.if_else(
        pc.and_(on_or_after, played),
        pc.multiply(box.column("minutes_played"), 0.5),
        box.column("minutes_played"),
    )
    changed = box.set_column(box.schema.get_field_index("points"), "points", points)
    changed = changed.set_column(changed.schema.get_field_index("minutes_played"), "minutes_played", minutes)
    starter = pc.if_else(after, pc.invert(box.column("starter")), box.column("starter"))
    changed = changed.set_column(changed.schema.get_field_index("starter"), "starter", starter)

    # Fake games: replay the cut date's games two days later under new ids.
    source = box.filter(pc.equal(box.column("game_date"), pa.scalar(extra_from, pa.date32())))
    fake_date = cut + timedelta(days=2)
    fake = source.set_column(
        source.schema.get_field_index("game_date"),
        "game_date",
        pa.array([fake_date] * source.num_rows, pa.date32()),
    )
    fake_ids = pc.binary_join_element_wise(fake.column("game_id"), pa.scalar("X"), "")
    fake = fake.set_column(fake.schema.get_field_index("game_id"), "game_id", fake_ids)
    without_fake_day = changed.filter(
        pc.not_equal(changed.column("game_date"), pa.scalar(fake_date, pa.date32()))
    )
    return pa.concat_tables([without_fake_day, fake])


def flip_coach_decisions(box: pa.Table, day: date) -> pa.Table:
    """On `day`, every third played row becomes a coach's-decision DNP and every coach's-decision DNP
    plays 12 minutes for 4 points: the date's availability (who has a row, who is inactive) is unchanged."""
    frame = box.to_pandas()
    on_day = frame.game_date == day
    played = on_day & (frame.minutes_played > 0)
    benched = played & (np.arange(len(frame)) % 3 == 0)
    coach = on_day & (frame.dnp_reason == "Did Not Play")
    stats = list(STAT_COLUMNS)
    frame.loc[benched, stats] = None
    frame.loc[benched, ["minutes_played", "dnp", "dnp_reason"]] = [0.0, True, "Did Not Play"]
    frame.loc[coach, stats] = 0
    frame.loc[coach, ["points", "fg_made", "fg_attempted", "minutes_played", "dnp"]] = [4, 2, 5, 12.0, False]
    frame.loc[coach, "dnp_reason"] = None
    assert benched.any() and coach.any()
    return pa.Table.from_pandas(frame, schema=box.schema, preserve_index=False)


# Every feature after v1, but tonight's lineup (an input of its own date, not of earlier games).
V2_ONLY = [name for name in FEATURE_NAMES if name not in V1_BOX_25.names and name != "starter_tonight"]
LINEUP_ONLY = [name for name in FEATURE_NAMES if name not in V2_AVAIL_40.names]


def assert_walk_forward(box: pa.Table, start: date, end: date, cut: date) -> None:
    before = build_features(box, start, end)
    after = build_features(flip_coach_decisions(rewrite_from(box, cut, cut), cut), start, end)
    upto = pa.scalar(cut, pa.date32())
    early_before = before.filter(pc.less_equal(before.column("game_date"), upto))
    early_after = after.filter(pc.less_equal(after.column("game_date"), upto))
    assert early_before.num_rows > 0
    assert early_before.equals(early_after), "rows on or before the cut date changed"
    late_before = before.filter(pc.greater(before.column("game_date"), upto)).to_pandas()
    late_after = after.filter(pc.greater(after.column("game_date"), upto)).to_pandas()
    merged = late_before.merge(late_after, on=["player_lookup", "game_date"], suffixes=("_b", "_a"))
    assert len(merged) > 0
    for name in ("points_avg_last_5", "minutes_avg_last_10", *V2_ONLY):
        assert (merged[f"{name}_b"] != merged[f"{name}_a"]).any(), f"{name} did not react to later games"


def test_the_dates_availability_changes_its_availability_features(tiny: pa.Table) -> None:
    """A teammate without a row on D (out, as far as anyone knows) changes D's availability features
    of his teammates, and nothing else of theirs; the rows before D do not move."""
    day = sorted(set(tiny.column("game_date").to_pylist()))[-10]
    frame = tiny.to_pandas()
    tonight = frame[(frame.game_date == day) & (frame.minutes_played > 0)]
    gone = tonight.iloc[0]
    without = tiny.filter(
        pc.invert(
            pc.and_(
                pc.equal(tiny["game_date"], pa.scalar(day, pa.date32())),
                pc.equal(tiny["player_lookup"], gone.player_lookup),
            )
        )
    )
    before = build_features(tiny, day, day).to_pandas()
    after = build_features(without, day, day).to_pandas()
    mates = before[(before.team_abbr == gone.team_abbr) & (before.player_lookup != gone.player_lookup)]
    merged = mates.merge(after, on="player_lookup", suffixes=("_b", "_a"))
    assert len(merged) >= 4
    for name in V1_BOX_25.names:
        assert (merged[f"{name}_b"] == merged[f"{name}_a"]).all(), name
    assert (merged.teammates_points_last_10_a < merged.teammates_points_last_10_b).all()
    assert (merged.points_vacated_last_10_a > merged.points_vacated_last_10_b).all()
    assert (merged.share_of_active_points_a >= merged.share_of_active_points_b).all()
    assert gone.player_lookup not in set(after.player_lookup)
    assert_matches_reference(
        build_features(without, day, day),
        without,
        zip(merged.player_lookup, [day] * len(merged), strict=True),
    )


def test_walk_forward_tiny_league(tiny: pa.Table) -> None:
    cut = sorted(set(tiny.column("game_date").to_pylist()))[-15]
    assert_walk_forward(tiny, TINY_START, TINY_END, cut)


@requires_real_data
@pytest.mark.slow  # features of whole real seasons
def test_walk_forward_real_season(real_box: pa.Table) -> None:
    assert_walk_forward(real_box, SEASON_START, SEASON_END, date(2022, 1, 14))


# ======================================================================================================
# 3. Coverage on the real season
# ======================================================================================================


@requires_real_data
@pytest.mark.slow  # features of whole real seasons
def test_real_season_coverage(real_box: pa.Table, real_features: pa.Table) -> None:
    box = real_box.to_pandas()
    df = real_features.to_pandas()
    assert real_features.schema.equals(ML_FEATURE_STORE.schema)

    played = box[box.minutes_played > 0]
    first_played = played.groupby("player_lookup").game_date.min()
    season = box[box.season == "2021-22"].copy()
    season["first_played"] = season.player_lookup.map(first_played)
    has_history = season.first_played.notna() & (season.game_date > season.first_played)
    inactive = season.dnp_reason.isin(["Did Not Dress", "Not With Team", "Player Suspended"])
    expected = season[has_history & ~inactive]
    got = set(zip(df.player_lookup, df.game_date, strict=True))
    assert set(zip(expected.player_lookup, expected.game_date, strict=True)) == got
    must_have = expected[expected.minutes_played > 0]
    assert set(zip(must_have.player_lookup, must_have.game_date, strict=True)) <= got
    assert not df.duplicated(["game_date", "player_lookup", "feature_version"]).any()

    numeric = df[list(FEATURE_NAMES) + list(ZONE_CONTEXT_COLUMNS)]
    assert not numeric.isna().any().any()
    for feature in FEATURES:
        assert df[feature.name].between(feature.low, feature.high).all(), feature.name
    assert df.feature_quality_score.between(40, 100).all()
    assert df.feature_quality_score.mean() > 80
    assert set(df.data_source) <= set(DATA_SOURCES)
    assert {"current_season", "mixed", "previous_season"} <= set(df.data_source)


# ======================================================================================================
# 4. Semantics on hand-made games
# ======================================================================================================


def _fatigue_games() -> pa.Table:
    """`busy` (AAA) plays days 1, 3, 5, 6 and 7; `rested` (BBB) plays days 1 and 7 (30 minutes each)."""
    day = date(2021, 11, 1)
    stats = {"points": 10, "fg_made": 4, "fg_attempted": 9, "ft_made": 2, "ft_attempted": 2, "turnovers": 1}
    schedule = [(0, "AAA", "BBB"), (2, "AAA", "CCC"), (4, "AAA", "CCC"), (5, "AAA", "CCC"), (6, "AAA", "BBB")]
    rows = []
    for offset, home, away in schedule:
        d = day + timedelta(days=offset)
        for team, opponent, is_home in ((home, away, True), (away, home, False)):
            player = {"AAA": "busy", "BBB": "rested", "CCC": "other"}[team]
            rows.append(box_row(d, team, opponent, is_home, player, "2021-22", 30.0, stats))
    return to_table(rows)


def test_back_to_back_heavy_week_is_less_fresh_than_rested() -> None:
    box = _fatigue_games()
    target = date(2021, 11, 7)
    df = build_features(box, target, target).to_pandas().set_index("player_lookup")
    busy, rested = df.loc["busy"], df.loc["rested"]
    assert busy.back_to_back == 1.0 and busy.days_rest == 0.0 and busy.games_in_last_7_days == 4.0
    # 100 − 15 (back-to-back) − 10 (4 games in 7 days) − 5 (one back-to-back, days 5–6, in 14 days).
    assert busy.fatigue_score == 70.0
    assert rested.days_rest == 5.0 and rested.fatigue_score == 100.0  # +5 rested, clamped at 100
    assert busy.fatigue_score < rested.fatigue_score
    assert busy.rest_advantage == -2.0  # 0 days vs BBB's 5, clamped
    assert_matches_reference(build_features(box, target, target), box, [("busy", target), ("rested", target)])


def test_previous_season_fallback(tiny: pa.Table) -> None:
    df = build_features(tiny, TINY_START, TINY_END).to_pandas()
    first_games = df.sort_values("game_date").groupby("player_lookup").head(1).set_index("player_lookup")
    returning = first_games.loc["aaa1"]
    assert returning.data_source == "previous_season"
    assert returning.feature_quality_score < 100
    assert returning.games_in_history > 0
    # The rookie has no history before his first game, so his first row is his second box score.
    assert first_games.loc["rookiea"].data_source == "current_season"
    assert first_games.loc["rookiea"].feature_quality_score < 100
    assert "retireeb" not in first_games.index


def test_inactive_rows_and_rows_without_history_are_left_out(tiny: pa.Table) -> None:
    df = build_features(tiny, TINY_START, TINY_END).to_pandas()
    box = tiny.to_pandas()
    inactive = box[box.dnp_reason.isin(["Did Not Dress", "Not With Team", "Player Suspended"])]
    keys = set(zip(df.player_lookup, df.game_date, strict=True))
    assert not keys & set(zip(inactive.player_lookup, inactive.game_date, strict=True))
    dnp_kept = box[box.dnp_reason.isin(["Did Not Play", "Played 0:00"]) & (box.season == "2021-22")]
    assert keys & set(zip(dnp_kept.player_lookup, dnp_kept.game_date, strict=True))


def test_empty_range_gives_empty_conformed_table(tiny: pa.Table) -> None:
    out = build_features(tiny, date(1990, 1, 1), date(1990, 1, 2))
    assert out.num_rows == 0 and out.schema.equals(ML_FEATURE_STORE.schema)


def test_row_order_of_the_input_does_not_matter(tiny: pa.Table) -> None:
    shuffled = tiny.take(pa.array(np.random.default_rng(5).permutation(tiny.num_rows)))
    assert build_features(shuffled, TINY_START, TINY_END).equals(build_features(tiny, TINY_START, TINY_END))


def test_two_rows_for_one_player_on_one_date_is_an_error(tiny: pa.Table) -> None:
    duplicated = pa.concat_tables([tiny, tiny.slice(0, 1)])
    with pytest.raises(ValueError, match="more than one row"):
        build_features(duplicated, TINY_START, TINY_END)


# ======================================================================================================
# 5. Determinism: a date's rows do not depend on the range a build covered
# ======================================================================================================


@requires_real_data
@pytest.mark.slow  # features of whole real seasons
def test_a_dates_rows_are_the_same_whatever_range_the_build_covered() -> None:
    seasons = ("2019-20", "2020-21", "2021-22", "2022-23")
    box = pa.concat_tables([conform(pq.read_table(real_season(s)), PLAYER_GAME_SUMMARY) for s in seasons])
    first, last = date(2022, 10, 1), date(2023, 6, 30)
    in_season = pc.and_(
        pc.greater_equal(box["game_date"], pa.scalar(first, pa.date32())),
        pc.less_equal(box["game_date"], pa.scalar(last, pa.date32())),
    )
    everything = build_features(box, date(2019, 10, 1), last)
    season_alone = build_features(box, first, last)
    assert season_alone.num_rows > 25_000
    assert season_alone.equals(
        everything.filter(pc.is_in(everything["game_date"], box["game_date"].filter(in_season)))
    )

    # A build over a month, from the games up to its end only: the same rows as the whole-season build.
    month_end = date(2023, 1, 31)
    upto = box.filter(pc.less_equal(box["game_date"], pa.scalar(month_end, pa.date32())))
    month = build_features(upto, date(2023, 1, 1), month_end)
    month_days = pc.and_(
        pc.greater_equal(season_alone["game_date"], pa.scalar(date(2023, 1, 1), pa.date32())),
        pc.less_equal(season_alone["game_date"], pa.scalar(month_end, pa.date32())),
    )
    assert month.num_rows > 3_000 and month.equals(season_alone.filter(month_days))

    # Fewer seasons of history: every row it still has is identical bit for bit (exact window sums),
    # but for the changes against recent games, whose earliest games reach back two seasons; the rows
    # it lacks are exactly players whose only earlier games are in the dropped seasons.
    recent = box.filter(pc.is_in(box["season"], pa.array(["2021-22", "2022-23"])))
    short = build_features(recent, first, last).to_pandas()
    full = season_alone.to_pandas()
    merged = full.merge(
        short, on=["game_date", "player_lookup"], how="left", suffixes=("", "_s"), indicator=True
    )
    lost = merged[merged["_merge"] == "left_only"]
    assert 0 < len(lost) < 100
    assert (lost["games_in_history"] == 0).all()
    kept = merged[merged["_merge"] == "both"]
    for column in ML_FEATURE_STORE.schema.names:
        if column not in ("game_date", "player_lookup") and not column.endswith("_vs_recent"):
            assert (kept[column].to_numpy() == kept[f"{column}_s"].to_numpy()).all(), column


def test_a_date_without_availability_is_still_built_and_says_so(tiny: pa.Table) -> None:
    """No availability for the range: the same rows, availability_source NONE, the availability figures
    taken from the player's recent games (no change), and a lower quality score (so lower confidence)."""
    availability = derive_availability(tiny)
    last_days = pc.greater_equal(
        availability["game_date"], pa.scalar(TINY_END - timedelta(days=5), pa.date32())
    )
    partial = availability.filter(pc.invert(last_days))
    known = build_features(tiny, TINY_START, TINY_END, availability).to_pandas()
    unknown = build_features(tiny, TINY_START, TINY_END, partial).to_pandas()
    assert len(known) == len(unknown) and set(known.availability_source) == {"BOX_SCORE"}
    late = unknown.game_date >= TINY_END - timedelta(days=5)
    assert late.any() and set(unknown[late].availability_source) == {"NONE"}
    assert set(unknown[~late].availability_source) == {"BOX_SCORE"}
    assert (unknown[late].feature_quality_score < known[late].feature_quality_score).all()
    assert (unknown[late].teammates_points_vs_recent == 0.0).all()
    assert known[~late].equals(unknown[~late])
    assert_matches_reference(
        build_features(tiny, TINY_START, TINY_END, partial),
        tiny,
        list(zip(unknown[late].player_lookup, unknown[late].game_date, strict=True))[:20],
        partial,
    )


def test_the_dates_lineup_changes_only_its_lineup_features(tiny: pa.Table) -> None:
    """A lineups feed for the last date that starts a bench player instead of a starter: their
    starter_tonight follow the feed, lineup_source says FEED, and nothing else of anyone's row moves
    (v2 features and the quality score never depend on a lineup); no lineup at all is no news."""
    day = sorted(set(tiny.column("game_date").to_pylist()))[-1]
    lineups = derive_lineups(tiny)
    on_day = pc.equal(lineups["game_date"], pa.scalar(day, pa.date32()))
    tonight = lineups.filter(on_day).to_pandas()
    frame = tiny.to_pandas()
    reserves = frame[
        (frame.game_date == day)
        & ~frame.starter
        & ~frame.dnp_reason.isin(PRE_GAME_INACTIVE_REASONS)
        & frame.player_lookup.isin(set(build_features(tiny, day, day)["player_lookup"].to_pylist()))
    ]
    team = reserves.team_abbr.iloc[0]
    bench = reserves[reserves.team_abbr == team].player_lookup.iloc[0]
    benched = tonight[tonight.team_abbr == team].player_lookup.iloc[0]
    feed = tonight[tonight.team_abbr == team].assign(source="FEED")
    feed.loc[feed.player_lookup == benched, "player_lookup"] = bench
    others = lineups.filter(pc.invert(on_day)).to_pandas()
    with_feed = pa.Table.from_pandas(pd.concat([others, feed]), schema=lineups.schema, preserve_index=False)
    without = pa.Table.from_pandas(others, schema=lineups.schema, preserve_index=False)

    boxed = build_features(tiny, day, day).to_pandas().set_index("player_lookup")
    fed = build_features(tiny, day, day, lineups=with_feed).to_pandas().set_index("player_lookup")
    unknown = build_features(tiny, day, day, lineups=without).to_pandas().set_index("player_lookup")
    assert (boxed.starter_tonight[benched], boxed.starter_tonight[bench]) == (1.0, 0.0)
    assert (fed.starter_tonight[benched], fed.starter_tonight[bench]) == (0.0, 1.0)
    assert set(fed[fed.team_abbr == team].lineup_source) == {"FEED"}
    assert set(fed[fed.team_abbr != team].lineup_source) == {"NONE"}
    assert set(unknown.lineup_source) == {"NONE"}
    assert (unknown.starter_tonight == unknown.starts_last_10).all()
    assert (unknown.starter_vs_recent == 0.0).all()
    assert (fed.starts_last_10 == boxed.starts_last_10).all()
    for column in ML_FEATURE_STORE.schema.names:
        if column not in (*LINEUP_ONLY, "lineup_source", "player_lookup"):
            for other in (fed, unknown):
                assert boxed[column].equals(other[column]), column
    mates = fed.team_abbr == team
    assert set(fed.index[mates & (fed.starter_tonight != boxed.starter_tonight)]) == {benched, bench}
    assert_matches_reference(
        build_features(tiny, day, day, lineups=with_feed),
        tiny,
        [(bench, day), (benched, day)],
        None,
        with_feed,
    )

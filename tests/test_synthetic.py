"""The synthetic league: deterministic, schema-exact, internally consistent, and shaped like real seasons."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from nba_ray.data.league import TEAMS
from nba_ray.data.lookup import player_lookup
from nba_ray.data.summary import season_summary
from nba_ray.data.synthetic import GAME_ID_CODE, SyntheticLeague, generate_league
from nba_ray.warehouse.schemas import PLAYER_GAME_SUMMARY, PROP_LINES, STAT_COLUMNS
from tests.conftest import real_data_folder, requires_real_data

# Ranges for `season_summary` figures, taken from the real 2019-20 … 2022-23 box-score files (the README
# table of the real-data fixture, and season_summary run on those files; real values in the comments).
# test_real_seasons_fall_inside_the_ranges proves every real season file lies inside them.
REAL_RANGES: dict[str, tuple[float, float]] = {
    "dnp_share": (0.14, 0.22),  # 0.156 – 0.202
    "game_dates": (140, 170),  # 140 – 165
    "players": (520, 640),  # 536 – 621
    "players_played": (510, 630),  # 529 – 605
    "players_per_date_min": (1, 45),  # 20 – 44 (a light night with one or two games)
    "players_per_date_median": (140, 170),  # 142 – 157.5
    "players_per_date_max": (270, 320),  # 283 – 309
    "points_mean": (9.8, 11.5),  # 10.46 – 10.91
    "points_max": (50, 80),  # 60 – 71
    "minutes_mean": (21.5, 24.5),  # 22.64 – 23.00
    "minutes_p10": (5.0, 9.0),  # 6.27 – 7.60
    "minutes_p50": (22.0, 25.5),  # 23.55 – 23.95
    "minutes_p90": (34.0, 38.0),  # 35.65 – 36.48
    "back_to_back_share": (0.12, 0.22),  # 0.146 – 0.203
    "starters_per_team_game_min": (5, 5),
    "starters_per_team_game_max": (5, 5),
}
# Game and row counts hold for full 82-game seasons only: 2019-20 (pandemic stop) and 2020-21 (72 games)
# were shortened, so these are checked on the real 2021-22 and 2022-23 files (1215 / 1214 of 1230 games
# have box scores; 30,901 / 31,088 rows; 25,707 / 25,532 played).
FULL_SEASON_RANGES: dict[str, tuple[float, float]] = {
    "games": (1200, 1240),
    "rows": (29_000, 33_000),
    "played_rows": (24_000, 27_500),
}
FULL_SEASONS = ("2021-22", "2022-23")
DNP_REASONS = {"Did Not Play", "Did Not Dress", "Not With Team", "Player Suspended", "Played 0:00"}


@pytest.fixture(scope="module")
def one_season() -> SyntheticLeague:
    return generate_league(["2021-22"])


@pytest.fixture(scope="module")
def two_seasons() -> SyntheticLeague:
    return generate_league(["2021-22", "2022-23"])


@pytest.fixture(scope="module")
def box(two_seasons: SyntheticLeague) -> pd.DataFrame:
    return two_seasons.box_scores.to_pandas()


def _outside(summary: dict[str, float | int], ranges: dict[str, tuple[float, float]]) -> dict[str, object]:
    return {
        key: (summary[key], low, high)
        for key, (low, high) in ranges.items()
        if not low <= summary[key] <= high
    }


def _season(table: pa.Table, season: str) -> pa.Table:
    return table.filter(pc.equal(table["season"], season))


def test_same_seed_gives_identical_tables_and_another_seed_differs(one_season: SyntheticLeague) -> None:
    again = generate_league(["2021-22"], seed=7)
    for ours, theirs in (
        (one_season.box_scores, again.box_scores),
        (one_season.prop_lines, again.prop_lines),
    ):
        assert _ipc_bytes(ours) == _ipc_bytes(theirs)
    other = generate_league(["2021-22"], seed=8)
    assert not other.box_scores.equals(one_season.box_scores)
    assert not other.prop_lines.equals(one_season.prop_lines)


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


# Digests of the league for seed 7 and the default seasons (2021-22, 2022-23), recorded from the
# generator before it was split into a package: a change to any value, row order, type or column of either
# table changes its digest. A deliberate change to the simulation re-records them (and says why).
LEAGUE_DIGESTS = {
    "box_scores": (62_243, "9ffbf1c26deefa9fc66d0c480ff6accd0c64adf7cac93e805e4d8ebcbcbaad4b"),
    "prop_lines": (108_726, "653ea0b04e9e8ae18917c3e012430d7db49806474b491aa79007fad3de80d49e"),
}


def _table_digest(table: pa.Table) -> str:
    """The schema and every row's value hash, in order: independent of Arrow's chunking and IPC framing."""
    rows = pd.util.hash_pandas_object(table.to_pandas(), index=False).to_numpy()
    return hashlib.sha256(table.schema.to_string().encode() + rows.tobytes()).hexdigest()


def test_default_league_is_the_recorded_one_table_by_table(two_seasons: SyntheticLeague) -> None:
    got = {
        name: (table.num_rows, _table_digest(table))
        for name, table in (("box_scores", two_seasons.box_scores), ("prop_lines", two_seasons.prop_lines))
    }
    assert got == LEAGUE_DIGESTS


def test_schemas_are_exact(two_seasons: SyntheticLeague) -> None:
    assert two_seasons.box_scores.schema.equals(PLAYER_GAME_SUMMARY.schema)
    assert two_seasons.prop_lines.schema.equals(PROP_LINES.schema)


@pytest.mark.parametrize(
    "seasons", [[], ["2021-2022"], ["2021-23"], ["2021-22", "2023-24"], ["2022-23", "2021-22"]]
)
def test_bad_season_lists_are_rejected(seasons: list[str]) -> None:
    with pytest.raises(ValueError, match="generate_league"):
        generate_league(seasons)


def test_played_rows_are_consistent_box_score_lines(box: pd.DataFrame) -> None:
    played = box[box["minutes_played"] > 0]
    assert not played["dnp"].any() and played["dnp_reason"].isna().all()
    stats = played[list(STAT_COLUMNS)]
    assert stats.drop(columns="plus_minus").notna().all().all() and played["plus_minus"].notna().all()
    assert (stats.drop(columns="plus_minus") >= 0).all().all()
    twos_made = played["fg_made"] - played["three_pt_made"]
    assert (played["points"] == 2 * twos_made + 3 * played["three_pt_made"] + played["ft_made"]).all()
    assert (played["fg_made"] <= played["fg_attempted"]).all()
    assert (played["three_pt_made"] <= played["three_pt_attempted"]).all()
    assert (played["three_pt_made"] <= played["fg_made"]).all()
    assert (played["three_pt_attempted"] <= played["fg_attempted"]).all()
    assert (played["ft_made"] <= played["ft_attempted"]).all()
    assert (played["rebounds"] == played["offensive_rebounds"] + played["defensive_rebounds"]).all()
    assert played["personal_fouls"].max() <= 6
    assert played["minutes_played"].max() <= 48 + 4 * 5
    assert played["plus_minus"].abs().max() < 70


def test_dnp_rows_have_a_reason_and_no_stats(box: pd.DataFrame) -> None:
    dnp = box[box["dnp"]]
    assert (dnp["minutes_played"] == 0.0).all() and not dnp["starter"].any()
    assert set(dnp["dnp_reason"]) <= DNP_REASONS
    assert {"Did Not Play", "Did Not Dress", "Not With Team"} <= set(dnp["dnp_reason"])
    reasons = dnp["dnp_reason"].value_counts(normalize=True)
    assert reasons["Did Not Play"] > 0.85 and 0.02 < reasons["Did Not Dress"] < 0.10
    zero = dnp[dnp["dnp_reason"] == "Played 0:00"]
    real_dnp = dnp[dnp["dnp_reason"] != "Played 0:00"]
    assert real_dnp[list(STAT_COLUMNS)].isna().all().all()
    assert (zero[list(STAT_COLUMNS)].drop(columns="plus_minus") == 0).all().all() and zero[
        "plus_minus"
    ].isna().all()


def test_identity_columns(box: pd.DataFrame) -> None:
    assert not box.duplicated(["game_id", "player_lookup"]).any()
    assert not box.duplicated(["game_date", "player_lookup"]).any()  # a traded player is on one team a day
    names = box[["player_id", "player_name", "player_lookup"]].drop_duplicates()
    assert (
        names["player_id"].is_unique and names["player_lookup"].is_unique and names["player_name"].is_unique
    )
    assert (names["player_lookup"] == names["player_name"].map(player_lookup)).all()
    assert names["player_id"].str.fullmatch(r"[a-z]{1,7}\d{2}").all()
    assert set(box["team_abbr"]) == set(TEAMS) and set(box["opponent_team_abbr"]) == set(TEAMS)
    assert (box["team_abbr"] != box["opponent_team_abbr"]).all()
    homes = box[box["is_home"]].drop_duplicates("game_id").set_index("game_id")
    codes = homes["team_abbr"].map(lambda team: GAME_ID_CODE.get(team, team))
    dates = pd.to_datetime(homes["game_date"]).dt.strftime("%Y%m%d")
    assert (homes.index == dates + "0" + codes).all()
    assert all(re.fullmatch(r"\d{8}0[A-Z]{3}", game_id) for game_id in homes.index)


def test_schedule_shape(box: pd.DataFrame) -> None:
    team_games = box.drop_duplicates(["season", "game_id", "team_abbr"])
    per_game = team_games.groupby("game_id").agg(teams=("team_abbr", "size"), homes=("is_home", "sum"))
    assert (per_game["teams"] == 2).all() and (per_game["homes"] == 1).all()
    per_team = team_games.groupby(["season", "team_abbr"]).agg(
        games=("game_id", "size"), home=("is_home", "sum")
    )
    assert (per_team["games"] == 82).all() and (per_team["home"] == 41).all()
    assert not team_games.duplicated(["team_abbr", "game_date"]).any()
    dates = pd.to_datetime(team_games["game_date"])
    assert dates.dt.month.isin([10, 11, 12, 1, 2, 3, 4]).all()
    by_team = team_games.assign(game_date=dates).sort_values("game_date").groupby(["season", "team_abbr"])
    b2b_per_team = by_team["game_date"].apply(lambda d: int((d.diff().dt.days == 1).sum()))
    assert 10 <= b2b_per_team.mean() <= 16 and b2b_per_team.max() <= 20
    per_date = team_games.groupby(["season", "game_date"])["game_id"].nunique()
    assert per_date.min() == 1 and per_date.max() == 15


def test_rotation_and_minutes(box: pd.DataFrame) -> None:
    starters = box.groupby(["game_id", "team_abbr"])["starter"].sum()
    assert (starters == 5).all()
    team_minutes = box.groupby(["game_id", "team_abbr"])["minutes_played"].sum().round(6)
    overtime_periods = (team_minutes - 240) / 25
    assert (overtime_periods == overtime_periods.round()).all() and (overtime_periods >= 0).all()
    assert 0.02 < (overtime_periods > 0).mean() < 0.10
    rows_per_team_game = box.groupby(["game_id", "team_abbr"]).size()
    assert rows_per_team_game.max() <= 15 and 11.5 < rows_per_team_game.mean() < 14
    played = box[box["minutes_played"] > 0]
    by_role = played.groupby("starter")["minutes_played"].mean()
    assert 28 < by_role[True] < 34 and 12 < by_role[False] < 20


def test_players_persist_move_and_turn_over(box: pd.DataFrame) -> None:
    first = set(box.loc[box["season"] == "2021-22", "player_id"])
    second = set(box.loc[box["season"] == "2022-23", "player_id"])
    assert len(first & second) / len(second) > 0.6  # most players have a previous season
    assert len(first - second) > 50 and len(second - first) > 50  # retirements / departures and newcomers
    teams_per_player = box.groupby(["season", "player_id"])["team_abbr"].nunique()
    assert (teams_per_player > 1).groupby("season").sum().min() > 30  # trades and waiver claims


def test_points_follow_role_home_court_and_opponent(box: pd.DataFrame) -> None:
    played = box[box["minutes_played"] > 0]
    assert played.groupby("starter")["points"].mean().diff().iloc[-1] > 6
    team = (
        played.groupby(["game_id", "team_abbr", "opponent_team_abbr", "is_home"])["points"]
        .sum()
        .reset_index()
    )
    assert team.groupby("is_home")["points"].mean().diff().iloc[-1] > 0
    allowed = team.groupby(["opponent_team_abbr"])["points"].mean()
    assert allowed.max() - allowed.min() > 4  # defenses differ


def test_prop_lines(two_seasons: SyntheticLeague, box: pd.DataFrame) -> None:
    lines = two_seasons.prop_lines.to_pandas()
    assert not lines.duplicated(["game_date", "player_lookup", "bookmaker", "snapshot_ts"]).any()
    assert set(lines["bookmaker"]) == {"draftkings", "fanduel"}
    assert ((lines["points_line"] * 2) % 1 == 0).all() and (lines["points_line"] > 0).all()
    prices = pd.concat([lines["over_price"], lines["under_price"]])
    assert prices.between(-130, 120).all() and not prices.between(-99, 99).any()
    snapshot = lines["snapshot_ts"].dt.tz_convert("UTC")
    assert (snapshot.dt.date == lines["game_date"]).all() and (snapshot.dt.hour < 23).all()
    assert set(lines.groupby(["game_date", "player_lookup", "bookmaker"]).size()) == {1, 2}

    latest = (
        lines.sort_values("snapshot_ts")
        .groupby(["game_date", "player_lookup", "bookmaker"])
        .last()
        .reset_index()
    )
    joined = latest.merge(box, on=["game_date", "player_lookup"], how="left", validate="many_to_one")
    assert joined["season"].notna().all()  # every line is for a player on a roster that night
    played = joined[joined["minutes_played"] > 0]
    assert np.corrcoef(played["points_line"], played["points"])[0, 1] > 0.5
    assert (played["points_line"] - played["points"]).abs().mean() > 2  # a forecast, not the result

    lines_per_player = joined.groupby(["season", "player_lookup"]).size().rename("lines")
    per_player = (
        box[box["minutes_played"] > 0]
        .groupby(["season", "player_lookup"])
        .agg(minutes=("minutes_played", "mean"), games=("points", "size"))
        .join(lines_per_player)
        .fillna({"lines": 0})
    )
    rotation = per_player[(per_player["minutes"] >= 24) & (per_player["games"] >= 20)]
    assert (rotation["lines"] > 0).mean() > 0.9
    assert (per_player.loc[per_player["minutes"] < 8, "lines"] == 0).all()


@pytest.mark.parametrize(("league", "season"), [("one_season", "2021-22"), ("two_seasons", "2022-23")])
def test_synthetic_season_looks_like_a_real_one(
    league: str, season: str, request: pytest.FixtureRequest
) -> None:
    summary = season_summary(_season(request.getfixturevalue(league).box_scores, season))
    assert _outside(summary, REAL_RANGES | FULL_SEASON_RANGES) == {}


def test_season_summary_needs_one_season(two_seasons: SyntheticLeague) -> None:
    with pytest.raises(ValueError, match="one season"):
        season_summary(two_seasons.box_scores)


@pytest.mark.realdata
@requires_real_data
def test_real_seasons_fall_inside_the_ranges() -> None:
    folder = real_data_folder()
    files = sorted(folder.glob("season=*.parquet"))
    assert files, f"no season=*.parquet under {folder}"
    for path in files:
        frame = pd.read_parquet(path)
        season = frame["season"].iloc[0]
        ranges = REAL_RANGES | (FULL_SEASON_RANGES if season in FULL_SEASONS else {})
        assert _outside(season_summary(frame), ranges) == {}, season

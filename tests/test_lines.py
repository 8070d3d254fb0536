"""Lines (SYSTEMS.md §4): real lines by bookmaker priority and latest snapshot, honest estimates, no line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nba_ray.systems.lines import resolve_lines
from nba_ray.systems.settings import LinesSettings
from tests.systems_fixtures import feature_row, features_frame, prop_line


def props(*rows: dict) -> pd.DataFrame:
    columns = ["player_lookup", "bookmaker", "snapshot_ts", "points_line"]
    return pd.DataFrame([{k: r[k] for k in columns} for r in rows], columns=columns)


def resolve(features: pd.DataFrame, prop_rows: pd.DataFrame, **settings: object) -> pd.DataFrame:
    return resolve_lines(features, prop_rows, LinesSettings(**settings))


def test_bookmaker_priority_then_latest_snapshot() -> None:
    features = features_frame([feature_row("a"), feature_row("b"), feature_row("c")])
    lines = resolve(
        features,
        props(
            # a: draftkings outranks fanduel even though fanduel's snapshot is later
            prop_line("a", "fanduel", 12, 21.5),
            prop_line("a", "draftkings", 9, 20.5),
            prop_line("a", "DraftKings", 11, 19.5),  # same book, later snapshot, other spelling → wins
            # b: only unlisted books: ranked alphabetically after the list → "barstool" before "pointsbet"
            prop_line("b", "pointsbet", 10, 11.5),
            prop_line("b", "barstool", 8, 12.5),
            # c: betmgm has only a missing line → ignored; the next book (unlisted) is used
            prop_line("c", "betmgm", 10, None),
            prop_line("c", "caesars", 9, 30.5),
        ),
    )
    assert lines.loc["a", "line_value"] == 19.5
    assert lines.loc["b", "line_value"] == 12.5
    assert lines.loc["c", "line_value"] == 30.5
    assert (lines["line_source"] == "ACTUAL_PROP").all()


def test_custom_priority() -> None:
    features = features_frame([feature_row("a")])
    rows = props(prop_line("a", "fanduel", 9, 21.5), prop_line("a", "draftkings", 10, 20.5))
    assert resolve(features, rows, bookmaker_priority=["fanduel"]).loc["a", "line_value"] == 21.5


@pytest.mark.parametrize(
    ("l5", "expected"),
    [(17.26, 17.5), (17.24, 17.0), (17.25, 17.5), (17.75, 18.0), (17.74, 17.5), (0.0, 0.0), (31.1, 31.0)],
)
def test_estimate_rounds_to_half_points(l5: float, expected: float) -> None:
    # round(L5 × 2) / 2, ties half-up: 17.26 × 2 = 34.52 → 35 → 17.5; 17.25 × 2 = 34.5 → 35 → 17.5
    features = features_frame([feature_row("a", points_avg_last_5=l5, games_in_history=3)])
    lines = resolve(features, props())
    assert lines.loc["a", "line_value"] == expected
    assert lines.loc["a", "line_source"] == "ESTIMATED_AVG"


def test_no_line_with_fewer_than_three_games() -> None:
    features = features_frame(
        [
            feature_row("two", points_avg_last_5=15.0, games_in_history=2),
            feature_row("none", points_avg_last_5=15.0, games_in_history=0),
        ]
    )
    lines = resolve(features, props())
    assert lines["line_value"].isna().all()
    assert (lines["line_source"] == "NONE").all()


def test_real_line_even_without_history_and_never_a_constant() -> None:
    features = features_frame(
        [
            feature_row("rookie", games_in_history=0),
            feature_row("x", points_avg_last_5=8.0),
            feature_row("y", points_avg_last_5=26.2),
        ]
    )
    lines = resolve(features, props(prop_line("rookie", "fanduel", 10, 7.5)))
    assert lines.loc["rookie", "line_source"] == "ACTUAL_PROP"
    assert lines.loc["rookie", "line_value"] == 7.5
    assert list(lines.loc[["x", "y"], "line_value"]) == [8.0, 26.0]
    assert list(lines.index) == ["rookie", "x", "y"]


def test_props_for_other_players_are_ignored_and_columns_checked() -> None:
    features = features_frame([feature_row("a", games_in_history=0)])
    lines = resolve(features, props(prop_line("zz", "fanduel", 10, 7.5)))
    assert np.isnan(lines.loc["a", "line_value"])
    with pytest.raises(ValueError, match="missing column"):
        resolve(features, pd.DataFrame({"player_lookup": ["a"]}))

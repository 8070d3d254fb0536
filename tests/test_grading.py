"""Grading and the accuracy report on a small hand-made set; every expected value is computed by hand in the
comments.

The set. Two systems (S1 = moving_average_baseline_v1, S2 = xgboost_v1), seven players:
    game G1 on 2023-01-10: a 25 pts (30 min), b 12 pts (28 min), c 20 pts (20 min), d DNP ("coach's
    decision"), e has no box-score row at all;
    game G2 on 2023-02-05: f 18 pts (33 min; its predictions have no game_id: matched by date), g 0 min.
Feature rows (L5, L10, season) → blend = 0.5·L5 + 0.3·L10 + 0.2·season:
    a (24, 22, 20) → 12 + 6.6 + 4.0 = 22.6     b (10, 12, 14) → 5 + 3.6 + 2.8 = 11.4
    c (20, 20, 20) → 20.0                      d (16, 14, 12) → 8 + 4.2 + 2.4 = 14.6
    e (8, 8, 8)    → 8.0                       f (20, 18, 16) → 10 + 5.4 + 3.2 = 18.6
    g (6, 6, 6)    → 6.0
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from nba_ray.grading import accuracy_table, by_month, format_table, grade, write_report
from nba_ray.grading.plots import PLOTS
from nba_ray.grading.report import REPORT_FILE
from nba_ray.grading.tables import calls_column, hit_column
from nba_ray.systems.base import (
    ACTUAL_PROP,
    ESTIMATED_AVG,
    NO_LINE,
    NO_LINE_SOURCE,
    OVER,
    PASS,
    SYSTEM_IDS,
    UNDER,
)
from nba_ray.warehouse.schemas import (
    ML_FEATURE_STORE,
    PLAYER_GAME_SUMMARY,
    PLAYER_PROP_PREDICTIONS,
    PREDICTION_ACCURACY,
)

S1, S2 = SYSTEM_IDS[0], SYSTEM_IDS[3]
JAN, FEB = date(2023, 1, 10), date(2023, 2, 5)
GRADED_AT = datetime(2023, 3, 1, 12, 0, tzinfo=UTC)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# (player, game_id, date, minutes, points, dnp, dnp_reason)
BOX = [
    ("a", "G1", JAN, 30.0, 25, False, None),
    ("b", "G1", JAN, 28.0, 12, False, None),
    ("c", "G1", JAN, 20.0, 20, False, None),
    ("d", "G1", JAN, 0.0, 0, True, "coach's decision"),
    ("f", "G2", FEB, 33.0, 18, False, None),
    ("g", "G2", FEB, 0.0, 0, False, None),
]
# (player, date, L5, L10, season)
FEATURES = [
    ("a", JAN, 24, 22, 20),
    ("b", JAN, 10, 12, 14),
    ("c", JAN, 20, 20, 20),
    ("d", JAN, 16, 14, 12),
    ("e", JAN, 8, 8, 8),
    ("f", FEB, 20, 18, 16),
    ("g", FEB, 6, 6, 6),
]
# (system, player, game_id, date, predicted, confidence, recommendation, line, line source)
PREDICTIONS = [
    (S1, "a", "G1", JAN, 27.0, 0.95, OVER, 22.5, ACTUAL_PROP),  # 25 > 22.5: OVER hit
    (S1, "b", "G1", JAN, 10.0, 0.30, UNDER, 14.5, ACTUAL_PROP),  # 12 < 14.5: UNDER hit
    (S1, "c", "G1", JAN, 24.0, 0.00, OVER, 20.0, ESTIMATED_AVG),  # 20 = 20.0: push
    (S1, "d", "G1", JAN, 15.0, 1.00, OVER, 12.5, ACTUAL_PROP),  # DNP: voided
    (S1, "e", "G1", JAN, 8.0, 0.50, PASS, 9.0, ESTIMATED_AVG),  # no box score: voided
    (S1, "f", None, FEB, 24.0, 0.62, OVER, 20.5, ESTIMATED_AVG),  # 18 < 20.5: OVER miss
    (S1, "g", "G2", FEB, 7.0, 0.40, PASS, 6.5, ESTIMATED_AVG),  # 0 minutes: voided
    (S2, "a", "G1", JAN, 21.0, 0.70, PASS, 22.5, ACTUAL_PROP),  # PASS: no call
    (S2, "b", "G1", JAN, 12.0, 0.55, NO_LINE, None, NO_LINE_SOURCE),  # NO_LINE: no call
    (S2, "f", None, FEB, 15.0, 0.80, UNDER, 20.5, ESTIMATED_AVG),  # 18 < 20.5: UNDER hit
]


def _table(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.Table:
    """A table of `schema` from partial rows (columns a row does not name are NULL)."""
    return pa.Table.from_pylist(rows, schema=schema)


def box_scores() -> pa.Table:
    rows = [
        {"game_id": g, "game_date": d, "player_lookup": p, "minutes_played": m, "points": pts, "dnp": dnp,
         "dnp_reason": why, "season": "2022-23"}
        for p, g, d, m, pts, dnp, why in BOX
    ]  # fmt: skip
    return _table(PLAYER_GAME_SUMMARY.schema, rows)


def features() -> pa.Table:
    rows = [
        {"game_date": d, "player_lookup": p, "points_avg_last_5": l5, "points_avg_last_10": l10,
         "points_avg_season": season, "feature_version": "v1_box_25"}
        for p, d, l5, l10, season in FEATURES
    ]  # fmt: skip
    return _table(ML_FEATURE_STORE.schema, rows)


def predictions(order: list[int] | None = None) -> pa.Table:
    chosen = [PREDICTIONS[i] for i in (order or range(len(PREDICTIONS)))]
    rows = [
        {"system_id": s, "player_lookup": p, "game_id": g, "game_date": d, "predicted_points": pred,
         "confidence_score": conf, "recommendation": rec, "line_value": line, "line_source": src,
         "prediction_id": f"{d}_{p}_{s}"}
        for s, p, g, d, pred, conf, rec, line, src in chosen
    ]  # fmt: skip
    return _table(PLAYER_PROP_PREDICTIONS.schema, rows)


@pytest.fixture(scope="module")
def graded() -> pa.Table:
    return grade(predictions(), box_scores(), features(), GRADED_AT)


@pytest.fixture(scope="module")
def rows(graded: pa.Table) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["system_id"], r["player_lookup"]): r for r in graded.to_pylist()}


@pytest.fixture(scope="module")
def table(graded: pa.Table) -> pd.DataFrame:
    return accuracy_table(graded.to_pandas())


# ---- grade() -----------------------------------------------------------------------------------------
def test_grade_conforms_to_the_accuracy_schema_one_row_per_prediction(graded: pa.Table) -> None:
    assert graded.schema == PREDICTION_ACCURACY.schema
    assert graded.num_rows == len(PREDICTIONS)
    keys = list(zip(*(graded.column(k).to_pylist() for k in PREDICTION_ACCURACY.key), strict=True))
    assert keys == sorted(keys)


def test_over_hit(rows: dict) -> None:
    r = rows[S1, "a"]  # 27 vs 25, line 22.5
    assert r["actual_points"] == 25 and r["minutes_played"] == 30
    assert (r["absolute_error"], r["signed_error"]) == (2.0, 2.0)
    assert (r["within_3_points"], r["within_5_points"]) == (True, True)
    assert (r["predicted_margin"], r["actual_margin"]) == (4.5, 2.5)
    assert r["prediction_correct"] is True
    assert r["is_voided"] is False and r["void_reason"] is None
    assert r["graded_at"] == GRADED_AT


def test_under_hit(rows: dict) -> None:
    r = rows[S1, "b"]  # 10 vs 12, line 14.5
    assert (r["absolute_error"], r["signed_error"]) == (2.0, -2.0)
    assert (r["predicted_margin"], r["actual_margin"]) == (-4.5, -2.5)
    assert r["prediction_correct"] is True


def test_miss_matched_by_date_when_the_prediction_has_no_game_id(rows: dict) -> None:
    r = rows[S1, "f"]  # 24 vs 18, line 20.5, OVER
    assert r["game_id"] == "G2"  # from the box score
    assert (r["absolute_error"], r["signed_error"]) == (6.0, 6.0)
    assert (r["within_3_points"], r["within_5_points"]) == (False, False)
    assert r["prediction_correct"] is False
    assert rows[S2, "f"]["prediction_correct"] is True  # UNDER 15 vs 18 < 20.5
    assert rows[S2, "f"]["within_3_points"] is True  # |15 − 18| = 3: inclusive


def test_push_pass_and_no_line_are_not_calls(rows: dict) -> None:
    push = rows[S1, "c"]  # 24 vs 20, line 20.0
    assert push["prediction_correct"] is None
    assert (push["absolute_error"], push["within_3_points"], push["within_5_points"]) == (4.0, False, True)
    assert push["actual_margin"] == 0.0
    passed = rows[S2, "a"]  # 21 vs 25
    assert passed["prediction_correct"] is None and passed["signed_error"] == -4.0
    no_line = rows[S2, "b"]  # 12 vs 12, no line
    assert no_line["prediction_correct"] is None and no_line["absolute_error"] == 0.0
    assert no_line["predicted_margin"] is None and no_line["actual_margin"] is None


@pytest.mark.parametrize(
    ("player", "reason", "minutes"),
    [("d", "dnp: coach's decision", 0.0), ("e", "no box score", None), ("g", "dnp: no minutes played", 0.0)],
)
def test_players_who_did_not_play_are_voided_without_outcomes(
    rows: dict, player: str, reason: str, minutes: float | None
) -> None:
    r = rows[S1, player]
    assert r["is_voided"] is True and r["void_reason"] == reason
    assert r["minutes_played"] == minutes
    outcomes = ("actual_points", "absolute_error", "signed_error", "within_3_points", "within_5_points")
    for name in (*outcomes, "actual_margin", "prediction_correct"):
        assert r[name] is None, name
    assert r["predicted_margin"] == pytest.approx(r["predicted_points"] - r["line_value"])


@pytest.mark.parametrize(
    ("system", "player", "decile"),
    [(S1, "c", 1), (S1, "a", 10), (S1, "d", 10), (S1, "b", 4), (S1, "f", 7), (S2, "b", 6)],
)  # 0.0 → 1, 0.95 → 10, 1.0 → 10, 0.3 → 4, 0.62 → 7, 0.55 → 6
def test_confidence_deciles(rows: dict, system: str, player: str, decile: int) -> None:
    assert rows[system, player]["confidence_decile"] == decile


@pytest.mark.parametrize(
    ("player", "blend"), [("a", 22.6), ("b", 11.4), ("c", 20.0), ("d", 14.6), ("e", 8.0), ("f", 18.6)]
)
def test_blend_points_come_from_the_feature_row(rows: dict, player: str, blend: float) -> None:
    assert rows[S1, player]["blend_points"] == pytest.approx(blend)
    if (S2, player) in rows:
        assert rows[S2, player]["blend_points"] == rows[S1, player]["blend_points"]


def test_grading_is_idempotent_and_independent_of_input_order(graded: pa.Table) -> None:
    later = datetime(2024, 5, 5, 8, 30, tzinfo=UTC)
    shuffled = predictions([9, 3, 0, 7, 5, 1, 8, 2, 6, 4])
    again = grade(shuffled, box_scores(), features(), later)
    assert again.column("graded_at").to_pylist() == [later] * again.num_rows
    assert again.drop_columns(["graded_at"]).equals(graded.drop_columns(["graded_at"]))
    assert grade(predictions(), box_scores(), features(), GRADED_AT).equals(graded)


def test_empty_predictions_give_an_empty_accuracy_table() -> None:
    empty = grade(PLAYER_PROP_PREDICTIONS.schema.empty_table(), box_scores(), features(), GRADED_AT)
    assert empty.num_rows == 0 and empty.schema == PREDICTION_ACCURACY.schema


def test_an_ambiguous_date_match_is_an_error() -> None:
    twice = pa.concat_tables([box_scores(), _table(PLAYER_GAME_SUMMARY.schema, [
        {"game_id": "G3", "game_date": FEB, "player_lookup": "f", "minutes_played": 10.0, "points": 4}
    ])])  # fmt: skip
    with pytest.raises(ValueError, match="more than one row"):
        grade(predictions(), twice, features(), GRADED_AT)


# ---- the report table --------------------------------------------------------------------------------
def test_report_table_per_system(table: pd.DataFrame) -> None:
    assert list(table.index) == [S1, S2]  # pipeline order
    s1 = table.loc[S1]
    # S1 graded rows a, b, c, f: |errors| 2, 2, 4, 6; signed +2, −2, +4, +6; voided d, e, g.
    assert (s1["n"], s1["voided"]) == (4, 3)
    assert s1["mae"] == pytest.approx(3.5) and s1["bias"] == pytest.approx(2.5)
    assert s1["within_3"] == pytest.approx(0.5) and s1["within_5"] == pytest.approx(0.75)
    # blend − actual on a, b, c, f: −2.4, −0.6, 0, +0.6 → MAE 3.6/4 = 0.9, bias −2.4/4 = −0.6
    assert s1["blend_mae"] == pytest.approx(0.9) and s1["blend_bias"] == pytest.approx(-0.6)
    assert s1["mae_ratio"] == pytest.approx(3.5 / 0.9)
    # ACTUAL_PROP calls a ✓ b ✓ (d voided); ESTIMATED_AVG: c is a push, f ✗ (e, g voided PASS)
    assert (s1[hit_column(ACTUAL_PROP)], s1[calls_column(ACTUAL_PROP)]) == (1.0, 2)
    assert (s1[hit_column(ESTIMATED_AVG)], s1[calls_column(ESTIMATED_AVG)]) == (0.0, 1)

    s2 = table.loc[S2]
    # S2 graded a, b, f: |errors| 4, 0, 3; signed −4, 0, −3; blend − actual −2.4, −0.6, +0.6
    assert (s2["n"], s2["voided"]) == (3, 0)
    assert s2["mae"] == pytest.approx(7 / 3) and s2["bias"] == pytest.approx(-7 / 3)
    assert s2["within_3"] == pytest.approx(2 / 3) and s2["within_5"] == pytest.approx(1.0)
    assert s2["blend_mae"] == pytest.approx(1.2) and s2["blend_bias"] == pytest.approx(-0.8)
    assert s2["mae_ratio"] == pytest.approx((7 / 3) / 1.2)
    assert math.isnan(s2[hit_column(ACTUAL_PROP)]) and s2[calls_column(ACTUAL_PROP)] == 0  # a PASSed
    assert (s2[hit_column(ESTIMATED_AVG)], s2[calls_column(ESTIMATED_AVG)]) == (1.0, 1)


def test_report_table_per_month(graded: pa.Table) -> None:
    monthly = by_month(graded.to_pandas())
    assert list(monthly.index) == [(S1, "2023-01"), (S1, "2023-02"), (S2, "2023-01"), (S2, "2023-02")]
    jan, feb = monthly.loc[(S1, "2023-01")], monthly.loc[(S1, "2023-02")]
    assert (jan["n"], jan["voided"], jan["mae"]) == (3, 2, pytest.approx(8 / 3))  # a, b, c; d, e voided
    assert (feb["n"], feb["voided"], feb["mae"]) == (1, 1, pytest.approx(6.0))  # f; g voided
    assert feb["blend_mae"] == pytest.approx(0.6)


def test_format_table_is_aligned_with_three_decimals(table: pd.DataFrame) -> None:
    lines = format_table(table).splitlines()
    assert len({len(line) for line in lines[:2]}) == 1  # header and rule as wide
    assert lines[0].split()[:4] == ["system_id", "n", "voided", "mae"]
    assert lines[2].split()[:5] == [S1, "4", "3", "3.500", "2.500"]
    assert lines[3].split()[:5] == [S2, "3", "0", "2.333", "-2.333"]
    assert "n/a" in lines[3]


# ---- write_report ------------------------------------------------------------------------------------
def test_write_report_writes_markdown_and_plots(
    tmp_path: Path, graded: pa.Table, table: pd.DataFrame
) -> None:
    path = write_report(graded.to_pandas(), tmp_path / "report", "Grading test")
    assert path == tmp_path / "report" / REPORT_FILE
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Grading test")
    for name, *_ in PLOTS:
        png = (tmp_path / "report" / name).read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 1000, name
        assert f"]({name})" in text
    assert len(PLOTS) == 5

    # The Markdown table's cells are accuracy_table's values formatted (counts as ints, others to 3 dp).
    for system in table.index:
        line = next(line for line in text.splitlines() if line.startswith(f"| {system} |"))
        cells = [cell.strip() for cell in line.strip("|").split("|")][1:]
        expected = [
            "n/a" if pd.isna(v) else f"{int(v)}" if re.match(r"^(n|voided|calls_.*)$", c) else f"{v:.3f}"
            for c, v in table.loc[system].items()
        ]
        assert cells == expected
        assert (
            line.strip("| ").split(" | ")
            == format_table(table).splitlines()[2 + list(table.index).index(system)].split()
        )


def test_write_report_with_only_voided_rows_still_draws(tmp_path: Path, graded: pa.Table) -> None:
    voided = graded.to_pandas()
    voided = voided[voided["is_voided"]]
    path = write_report(voided, tmp_path, "Nothing graded")
    assert "0 graded predictions and 3 voided" in path.read_text(encoding="utf-8")
    for name, *_ in PLOTS:
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)

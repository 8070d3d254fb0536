"""The accuracy tables (SYSTEMS.md §6): per-system and per-month tables and their renderings (terminal
and Markdown), which the report (`grading/report.py`) and its plots (`grading/plots.py`) share.

Every number shown comes from one function, `_summary`, applied per system (`accuracy_table`) or per system
× month (`by_month`); the terminal and the Markdown tables are two renderings of the same formatted cells
(`table_cells`), so they cannot disagree.

Definitions (on the rows of `prediction_accuracy`, as `grade` writes them):
- n: graded rows (not voided, with an actual); voided: rows voided because the player did not play.
- mae / bias: mean |pred − actual| and mean (pred − actual) over the n rows; within_3 / within_5: share of
  them with |error| ≤ 3 / ≤ 5.
- blend_mae / blend_bias: the same for the blend baseline (0.5·L5 + 0.3·L10 + 0.2·season) on exactly the
  graded rows that have a blend value (every row, unless a feature row was missing); mae_ratio = the
  system's MAE on those same rows / blend_mae (< 1: the system beats the blend).
- hit_prop / calls_prop (ACTUAL_PROP lines) and hit_est / calls_est (ESTIMATED_AVG lines): share of correct
  OVER/UNDER calls made against lines of that source and the number of such calls; pushes (actual =
  line), PASS and NO_LINE are not calls. ESTIMATED_AVG lines are the player's own rounded L5 average, not
  a sportsbook's: those hit rates are not betting results.
Rates are fractions (0.524, not 52.4 %). Missing values (no rows) show as "n/a".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nba_ray.systems.base import ACTUAL_PROP, ESTIMATED_AVG, SYSTEM_IDS
from nba_ray.warehouse.schemas import MARKET_WINDOWS

# The hit rate that breaks even at the standard −110 price (risk 110 to win 100).
BREAK_EVEN = 110 / 210
REPORTED_LINE_SOURCES: tuple[str, ...] = (ACTUAL_PROP, ESTIMATED_AVG)
# Binned plot points (calibration bins, confidence deciles) with fewer rows than this are not drawn.
MIN_POINT_ROWS = 30
CALIBRATION_BIN_POINTS = 2.5
MISSING = "n/a"


# Short column labels per line source, so the terminal table stays readable.
SOURCE_LABELS: dict[str, str] = {ACTUAL_PROP: "prop", ESTIMATED_AVG: "est"}


def hit_column(source: str) -> str:
    return f"hit_{SOURCE_LABELS[source]}"


def calls_column(source: str) -> str:
    return f"calls_{SOURCE_LABELS[source]}"


COLUMNS: tuple[str, ...] = (
    "n",
    "voided",
    "mae",
    "bias",
    "within_3",
    "within_5",
    "blend_mae",
    "blend_bias",
    "mae_ratio",
    *(name for source in REPORTED_LINE_SOURCES for name in (hit_column(source), calls_column(source))),
)
COUNT_COLUMNS: frozenset[str] = frozenset(
    {"n", "voided", *(calls_column(source) for source in REPORTED_LINE_SOURCES)}
)
# Columns shown as whole numbers: the counts here and in the market tables (`grading/market.py`).
INTEGER_CELLS: frozenset[str] = COUNT_COLUMNS | {
    "calls",
    "priced_calls",
    *(f"calls_{days}d" for days in MARKET_WINDOWS),
}


# ---- tables ------------------------------------------------------------------------------------------
def accuracy_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """One row per system (index `system_id`, systems in pipeline order) with the columns of `COLUMNS`."""
    return _table(prepare(accuracy), ["system_id"])


def by_month(accuracy: pd.DataFrame) -> pd.DataFrame:
    """One row per system × calendar month of the game date (index `system_id`, `month` as "YYYY-MM")."""
    return _table(prepare(accuracy), ["system_id", "month"])


def prepare(accuracy: pd.DataFrame) -> pd.DataFrame:
    """`prediction_accuracy` rows with plain dtypes, whatever nullable types they arrived with: `voided` and
    `graded` as bool, outcome flags as 1.0 / 0.0 / NaN (so a mean is a rate), and `month`."""
    out = pd.DataFrame(
        {
            "system_id": accuracy["system_id"].astype(str),
            "game_date": pd.to_datetime(accuracy["game_date"]),
            "player_lookup": accuracy["player_lookup"].astype(str),
            "line_source": accuracy["line_source"].astype(object),
            "voided": accuracy["is_voided"].eq(True).to_numpy(dtype=bool),
        }
    )
    for name in ("predicted_points", "actual_points", "absolute_error", "signed_error", "blend_points"):
        out[name] = pd.to_numeric(accuracy[name], errors="coerce").astype(float)
    for name, source in (("within_3", "within_3_points"), ("within_5", "within_5_points")):
        out[name] = _flag(accuracy[source])
    out["correct"] = _flag(accuracy["prediction_correct"])
    out["confidence_decile"] = pd.to_numeric(accuracy["confidence_decile"], errors="coerce")
    out["graded"] = ~out["voided"] & out["absolute_error"].notna()
    out["month"] = out["game_date"].dt.strftime("%Y-%m")
    return out


def _flag(values: pd.Series) -> pd.Series:
    return values.astype("boolean").astype("Float64").astype(float)


def _table(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    records = [
        {**dict(zip(keys, group if isinstance(group, tuple) else (group,), strict=True)), **_summary(part)}
        for group, part in rows.groupby(keys, sort=False)
    ]
    table = pd.DataFrame(records, columns=[*keys, *COLUMNS])
    table = table.sort_values(keys, key=_system_rank_key, kind="stable").set_index(keys)
    return table.astype({name: "int64" for name in COUNT_COLUMNS})


def _summary(rows: pd.DataFrame) -> dict[str, float | int]:
    """Every figure of one row of the report, from the accuracy rows of one group."""
    graded = rows[rows["graded"]]
    blended = graded[graded["blend_points"].notna()]
    blend_error = blended["blend_points"] - blended["actual_points"]
    blend_mae = float(blend_error.abs().mean())
    summary: dict[str, float | int] = {
        "n": len(graded),
        "voided": int(rows["voided"].sum()),
        "mae": float(graded["absolute_error"].mean()),
        "bias": float(graded["signed_error"].mean()),
        "within_3": float(graded["within_3"].mean()),
        "within_5": float(graded["within_5"].mean()),
        "blend_mae": blend_mae,
        "blend_bias": float(blend_error.mean()),
        "mae_ratio": _ratio(float(blended["absolute_error"].mean()), blend_mae),
    }
    for source in REPORTED_LINE_SOURCES:
        calls = graded.loc[graded["line_source"].eq(source) & graded["correct"].notna(), "correct"]
        summary[hit_column(source)] = float(calls.mean())
        summary[calls_column(source)] = len(calls)
    return summary


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def system_order(systems: Sequence[str]) -> list[str]:
    """Pipeline order (SYSTEM_IDS) first, then any other system alphabetically: the same everywhere."""
    return sorted(
        set(systems), key=lambda s: (SYSTEM_IDS.index(s) if s in SYSTEM_IDS else len(SYSTEM_IDS), s)
    )


def _system_rank_key(column: pd.Series) -> pd.Series:
    if column.name != "system_id":
        return column
    rank = {s: i for i, s in enumerate(system_order(column.tolist()))}
    return column.map(rank)


# ---- rendering ---------------------------------------------------------------------------------------
def table_cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, formatted cells and which columns are numeric, for any table of this module: index levels
    first, counts as integers, other numbers with 3 decimals, missing as "n/a"."""
    frame = df.reset_index()
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and c not in df.index.names for c in frame.columns]
    rows = [
        [_cell(value, column) for value, column in zip(record, frame.columns, strict=True)]
        for record in frame.itertuples(index=False, name=None)
    ]
    return [str(c) for c in frame.columns], rows, numeric


def _cell(value: object, column: str) -> str:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if pd.isna(value):
            return MISSING
        return f"{int(value):d}" if column in INTEGER_CELLS else f"{float(value):.3f}"
    return MISSING if value is None or value is pd.NA else str(value)


def format_table(df: pd.DataFrame) -> str:
    """The table for the terminal: aligned columns (text left, numbers right), 3 decimals."""
    headers, rows, numeric = table_cells(df)
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if num else cell.ljust(w)
            for cell, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def markdown_table(df: pd.DataFrame) -> str:
    """The same cells as `format_table`, as a Markdown table (numbers right-aligned)."""
    headers, rows, numeric = table_cells(df)
    rule = ["---:" if num else ":---" for num in numeric]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [headers, rule, *rows])

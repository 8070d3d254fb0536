"""The accuracy report (SYSTEMS.md §6): per-system and per-month tables, a terminal rendering, and a
Markdown report with plots.

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

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nba_ray.systems.base import ACTUAL_PROP, ESTIMATED_AVG, SYSTEM_IDS
from nba_ray.warehouse.schemas import MARKET_WINDOWS

if TYPE_CHECKING:  # matplotlib is imported only when a report is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The hit rate that breaks even at the standard −110 price (risk 110 to win 100).
BREAK_EVEN = 110 / 210
REPORTED_LINE_SOURCES: tuple[str, ...] = (ACTUAL_PROP, ESTIMATED_AVG)
# Binned plot points (calibration bins, confidence deciles) with fewer rows than this are not drawn.
MIN_POINT_ROWS = 30
CALIBRATION_BIN_POINTS = 2.5
MISSING = "n/a"
REPORT_FILE = "report.md"


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


# ---- plots -------------------------------------------------------------------------------------------
def _colors(systems: Sequence[str]) -> dict[str, str]:
    """One colour per system, fixed by pipeline position so a system looks the same in every plot."""
    palette = [f"C{i}" for i in range(10)]
    return {
        system: palette[i % len(palette)] for i, system in enumerate(system_order([*SYSTEM_IDS, *systems]))
    }


def _new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure that needs no pyplot state or display (safe in workers and on headless machines)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return figure, figure.add_subplot()


def _legend_below(figure: Figure, columns: int) -> None:
    """The legend under the axes, where it cannot cover bars or their labels."""
    figure.legend(loc="outside lower center", ncols=columns, fontsize=9, frameon=False)


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no graded predictions", ha="center", va="center", transform=ax.transAxes, color="0.4")


def plot_mae_by_system(rows: pd.DataFrame, path: Path) -> None:
    """Horizontal bars: each system's MAE beside the blend's MAE on the same rows."""
    table = _table(rows, ["system_id"]).dropna(subset=["mae"])
    systems = list(table.index)
    figure, ax = _new_figure(9, 1.2 + 0.75 * max(len(systems), 1))
    y, height = np.arange(len(systems)), 0.38
    colors = _colors(systems)
    model = ax.barh(y - height / 2, table["mae"], height, color=[colors[s] for s in systems], label="system")
    blend = ax.barh(
        y + height / 2,
        table["blend_mae"],
        height,
        color="0.82",
        edgecolor="0.45",
        hatch="//",
        label="blend 0.5·L5 + 0.3·L10 + 0.2·season (same rows)",
    )
    ratios = [MISSING if pd.isna(r) else f"{r:.2f}× blend" for r in table["mae_ratio"]]
    ax.bar_label(model, [f"{m:.2f}  ({r})" for m, r in zip(table["mae"], ratios, strict=True)], padding=3)
    ax.bar_label(blend, fmt="%.2f", padding=3, fontsize=9, color="0.3")
    ax.set_yticks(y, systems)
    ax.invert_yaxis()
    ax.set_xlim(0, max(float(np.nanmax(table[["mae", "blend_mae"]].to_numpy())) * 1.3, 1) if systems else 1)
    ax.set_xlabel("Mean absolute error (points) — lower is better")
    ax.set_title("MAE by system vs the blend baseline (same rows)")
    if systems:
        _legend_below(figure, 2)
    else:
        _no_data(ax)
    figure.savefig(path)


def plot_mae_by_month(rows: pd.DataFrame, path: Path) -> None:
    """One line per system over calendar months, with the blend on all graded player-games as reference."""
    monthly = _table(rows, ["system_id", "month"]).reset_index().dropna(subset=["mae"])
    months = sorted(monthly["month"].unique())
    position = {m: i for i, m in enumerate(months)}
    figure, ax = _new_figure(10, 5)
    colors = _colors(monthly["system_id"].tolist())
    for system in system_order(monthly["system_id"].tolist()):
        part = monthly[monthly["system_id"] == system]
        ax.plot(part["month"].map(position), part["mae"], marker="o", color=colors[system], label=system)
    blend = _blend_mae_by_month(rows)
    if not blend.empty:
        ax.plot(
            blend.index.map(position),
            blend.to_numpy(),
            color="0.35",
            linestyle="--",
            marker="s",
            markersize=4,
            label="blend baseline (all graded player-games)",
        )
    ax.set_xticks(
        range(len(months)),
        months,
        rotation=45 if len(months) > 6 else 0,
        ha="right" if len(months) > 6 else "center",
    )
    ax.set_xlabel("Month of game date")
    ax.set_ylabel("Mean absolute error (points)")
    ax.set_title("MAE by month")
    if months:
        ax.legend(fontsize=9, loc="best", framealpha=0.9)
    else:
        _no_data(ax)
    figure.savefig(path)


def _blend_mae_by_month(rows: pd.DataFrame) -> pd.Series:
    """The blend's MAE per month over distinct graded player-games (it is the same for every system)."""
    games = rows[rows["graded"] & rows["blend_points"].notna()].drop_duplicates(
        ["game_date", "player_lookup"]
    )
    error = (games["blend_points"] - games["actual_points"]).abs()
    return error.groupby(games["month"]).mean().sort_index()


def plot_calibration(rows: pd.DataFrame, path: Path) -> None:
    """Mean actual vs mean predicted points in bins of predicted points, per system, with the diagonal."""
    graded = rows[rows["graded"]]
    figure, ax = _new_figure(7.5, 7)
    colors = _colors(graded["system_id"].tolist())
    edges = np.arange(0, 60 + CALIBRATION_BIN_POINTS, CALIBRATION_BIN_POINTS)
    top = 10.0
    for system in system_order(graded["system_id"].tolist()):
        part = graded[graded["system_id"] == system]
        bins = pd.cut(part["predicted_points"], edges, include_lowest=True)
        means = part.groupby(bins, observed=True)[["predicted_points", "actual_points"]].agg(["mean", "size"])
        means = means[means[("predicted_points", "size")] >= MIN_POINT_ROWS]
        x, y = means[("predicted_points", "mean")], means[("actual_points", "mean")]
        ax.plot(x, y, marker="o", markersize=4, color=colors[system], label=system)
        top = max(top, float(np.nanmax([x.max(), y.max(), 0])))
    limit = top * 1.05
    ax.plot([0, limit], [0, limit], color="0.4", linestyle="--", linewidth=1, label="perfect calibration")
    ax.set_xlim(0, limit)
    ax.set_ylim(0, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("Predicted points (bin mean)")
    ax.set_ylabel("Actual points (bin mean)")
    ax.set_title(
        f"Calibration: actual vs predicted points\n(bins of {CALIBRATION_BIN_POINTS:g} predicted points "
        f"with ≥ {MIN_POINT_ROWS} games)",
        fontsize=11,
    )
    ax.legend(fontsize=9, loc="upper left", framealpha=0.9)
    if graded.empty:
        _no_data(ax)
    figure.savefig(path)


def plot_error_by_decile(rows: pd.DataFrame, path: Path) -> None:
    """MAE per confidence decile and system: a useful confidence has error falling as deciles rise."""
    graded = rows[rows["graded"] & rows["confidence_decile"].notna()]
    figure, ax = _new_figure(10, 5)
    colors = _colors(graded["system_id"].tolist())
    for system in system_order(graded["system_id"].tolist()):
        part = graded[graded["system_id"] == system]
        stats = part.groupby("confidence_decile")["absolute_error"].agg(["mean", "size"])
        stats = stats[stats["size"] >= MIN_POINT_ROWS]
        ax.plot(stats.index, stats["mean"], marker="o", color=colors[system], label=system)
    ax.set_xticks(range(1, 11))
    ax.set_xlim(0.5, 10.5)
    ax.set_xlabel("Confidence decile (1: confidence < 0.1 … 10: confidence ≥ 0.9)")
    ax.set_ylabel("Mean absolute error (points)")
    ax.set_title(f"Error by confidence decile (deciles with ≥ {MIN_POINT_ROWS} games)")
    if graded.empty:
        _no_data(ax)
    else:
        ax.legend(fontsize=9, loc="best", framealpha=0.9)
    figure.savefig(path)


def plot_hit_rate(rows: pd.DataFrame, path: Path) -> None:
    """Hit rate of OVER/UNDER calls per system and line source, against the −110 break-even."""
    table = _table(rows, ["system_id"])
    systems = list(table.index)
    figure, ax = _new_figure(10, 1.8 + 0.8 * max(len(systems), 1))
    y, height = np.arange(len(systems)), 0.38
    styles = {
        ACTUAL_PROP: {"color": "C0", "label": f"{ACTUAL_PROP} (sportsbook lines)"},
        ESTIMATED_AVG: {
            "color": "C1",
            "hatch": "//",
            "alpha": 0.75,
            "label": f"{ESTIMATED_AVG} (estimated lines)",
        },
    }
    for offset, source in zip((-height / 2, height / 2), REPORTED_LINE_SOURCES, strict=True):
        rates = table[hit_column(source)] * 100
        bars = ax.barh(y + offset, rates.fillna(0), height, **styles[source])
        labels = [
            "no calls" if calls == 0 else f"{rate:.1f}% (n={calls:,})"
            for rate, calls in zip(rates, table[calls_column(source)], strict=True)
        ]
        ax.bar_label(bars, labels, padding=3, fontsize=8.5)
    ax.axvline(
        BREAK_EVEN * 100,
        color="C3",
        linestyle="--",
        linewidth=1.2,
        label=f"break-even at −110 ({BREAK_EVEN:.1%})",
    )
    ax.set_yticks(y, systems)
    ax.invert_yaxis()
    ax.set_xlim(0, 118)  # room for the labels of bars near 100 %
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("Hit rate on OVER/UNDER calls (%) — pushes, PASS and NO_LINE excluded")
    ax.set_title(
        "Hit rate by line source\n"
        f"{ESTIMATED_AVG} lines are estimated from the player's own average: not betting results",
        fontsize=11,
    )
    if systems:
        _legend_below(figure, 3)
    else:
        _no_data(ax)
    figure.savefig(path)


# File name, heading and what to look for, and how to draw it.
PLOTS: tuple[tuple[str, str, str, Callable[[pd.DataFrame, Path], None]], ...] = (
    (
        "mae_by_system.png",
        "MAE by system",
        "Each system's MAE beside the blend baseline's MAE on the same rows.",
        plot_mae_by_system,
    ),
    (
        "mae_by_month.png",
        "MAE by month",
        "Per system and month; the dashed line is the blend on all graded player-games.",
        plot_mae_by_month,
    ),
    (
        "calibration.png",
        "Calibration",
        "Mean actual vs mean predicted points in bins of predicted points; on the diagonal is calibrated.",
        plot_calibration,
    ),
    (
        "error_by_confidence_decile.png",
        "Error by confidence decile",
        "If confidence means anything, error falls from low to high deciles.",
        plot_error_by_decile,
    ),
    (
        "hit_rate_by_line_source.png",
        "Hit rate by line source",
        f"OVER/UNDER calls only; the dashed line is the {BREAK_EVEN:.1%} break-even at −110. "
        "Estimated-line (ESTIMATED_AVG) hit rates are not betting results.",
        plot_hit_rate,
    ),
)


# ---- the report --------------------------------------------------------------------------------------
def write_report(
    accuracy: pd.DataFrame, directory: Path, title: str, sections: Callable[[Path], str] | None = None
) -> Path:
    """Write `report.md` and the plots it embeds into `directory` (created if needed); return the
    Markdown file's path. `sections` writes its own plots into the directory and returns Markdown placed
    before the monthly table. Deterministic: the same rows give the same files."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = prepare(accuracy)
    for name, _, _, draw in PLOTS:
        draw(rows, directory / name)
    path = directory / REPORT_FILE
    extra = sections(directory) if sections is not None else ""
    path.write_text(report_markdown(rows, title, extra), encoding="utf-8")
    return path


def report_markdown(rows: pd.DataFrame, title: str, extra: str = "") -> str:
    """The Markdown text of the report for prepared accuracy rows."""
    dates = rows["game_date"].dropna()
    span = f"{dates.min():%Y-%m-%d} → {dates.max():%Y-%m-%d}" if not dates.empty else "no dates"
    systems = rows["system_id"].nunique()
    parts = [
        f"# {title}",
        f"{int(rows['graded'].sum()):,} graded predictions and {int(rows['voided'].sum()):,} voided "
        f"(the player did not play) from {systems} system(s), game dates {span}.",
        "## Accuracy by system",
        markdown_table(_table(rows, ["system_id"])),
        _COLUMN_NOTES,
    ]
    for name, heading, caption, _ in PLOTS:
        parts += [f"## {heading}", caption, f"![{heading}]({name})"]
    if extra:
        parts.append(extra)
    parts += ["## By month", markdown_table(_table(rows, ["system_id", "month"]))]
    return "\n\n".join(parts) + "\n"


_COLUMN_NOTES = f"""\
- **n**: graded predictions; **voided**: predictions whose player did not play (no error counted).
- **mae**, **bias**: mean absolute and mean signed error (predicted − actual, points);
  **within_3** / **within_5**: share with |error| ≤ 3 / ≤ 5 points.
- **blend_mae**, **blend_bias**: the baseline 0.5·L5 + 0.3·L10 + 0.2·season on exactly the same rows;
  **mae_ratio** = mae / blend_mae (below 1: better than the blend).
- **hit_prop** / **calls_prop** ({ACTUAL_PROP}: sportsbook lines) and **hit_est** / **calls_est**
  ({ESTIMATED_AVG}: estimated lines): share of correct OVER/UNDER calls and their number; pushes
  (actual = line), PASS and NO_LINE are not calls. Break-even at −110 is {BREAK_EVEN:.1%}.
  **{ESTIMATED_AVG} lines are estimated from the player's own average, not offered by a sportsbook: those
  hit rates are not betting results.**"""

"""The report's plots: one function per figure, each drawing prepared accuracy rows into a PNG.

matplotlib is imported inside the drawing functions, so grading without `--report` never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nba_ray.grading.tables import (
    BREAK_EVEN,
    CALIBRATION_BIN_POINTS,
    MIN_POINT_ROWS,
    MISSING,
    REPORTED_LINE_SOURCES,
    _table,
    calls_column,
    hit_column,
    system_order,
)
from nba_ray.systems.base import ACTUAL_PROP, ESTIMATED_AVG, SYSTEM_IDS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def system_colors(systems: Sequence[str]) -> dict[str, str]:
    """One colour per system, fixed by pipeline position so a system looks the same in every plot."""
    palette = [f"C{i}" for i in range(10)]
    return {
        system: palette[i % len(palette)] for i, system in enumerate(system_order([*SYSTEM_IDS, *systems]))
    }


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure that needs no pyplot state or display (safe in workers and on headless machines)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return figure, figure.add_subplot()


def legend_below(figure: Figure, columns: int) -> None:
    """The legend under the axes, where it cannot cover bars or their labels."""
    figure.legend(loc="outside lower center", ncols=columns, fontsize=9, frameon=False)


def no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no graded predictions", ha="center", va="center", transform=ax.transAxes, color="0.4")


def plot_mae_by_system(rows: pd.DataFrame, path: Path) -> None:
    """Horizontal bars: each system's MAE beside the blend's MAE on the same rows."""
    table = _table(rows, ["system_id"]).dropna(subset=["mae"])
    systems = list(table.index)
    figure, ax = new_figure(9, 1.2 + 0.75 * max(len(systems), 1))
    y, height = np.arange(len(systems)), 0.38
    colors = system_colors(systems)
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
        legend_below(figure, 2)
    else:
        no_data(ax)
    figure.savefig(path)


def plot_mae_by_month(rows: pd.DataFrame, path: Path) -> None:
    """One line per system over calendar months, with the blend on all graded player-games as reference."""
    monthly = _table(rows, ["system_id", "month"]).reset_index().dropna(subset=["mae"])
    months = sorted(monthly["month"].unique())
    position = {m: i for i, m in enumerate(months)}
    figure, ax = new_figure(10, 5)
    colors = system_colors(monthly["system_id"].tolist())
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
        no_data(ax)
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
    figure, ax = new_figure(7.5, 7)
    colors = system_colors(graded["system_id"].tolist())
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
        no_data(ax)
    figure.savefig(path)


def plot_error_by_decile(rows: pd.DataFrame, path: Path) -> None:
    """MAE per confidence decile and system: a useful confidence has error falling as deciles rise."""
    graded = rows[rows["graded"] & rows["confidence_decile"].notna()]
    figure, ax = new_figure(10, 5)
    colors = system_colors(graded["system_id"].tolist())
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
        no_data(ax)
    else:
        ax.legend(fontsize=9, loc="best", framealpha=0.9)
    figure.savefig(path)


def plot_hit_rate(rows: pd.DataFrame, path: Path) -> None:
    """Hit rate of OVER/UNDER calls per system and line source, against the −110 break-even."""
    table = _table(rows, ["system_id"])
    systems = list(table.index)
    figure, ax = new_figure(10, 1.8 + 0.8 * max(len(systems), 1))
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
        legend_below(figure, 3)
    else:
        no_data(ax)
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

"""The market section of the report: each system against the real lines on the same rows, hit rates with
their interval and break-even, returns at the quoted prices, hit rate by confidence decile, the rolling
MAE gap over time (a plot) and each system's model state; estimated lines apart, never as betting
results. The figures are `grading/market.py`'s; this module only renders them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nba_ray.grading.market import decile_table, estimated_table, market_table
from nba_ray.grading.plots import legend_below, new_figure, no_data, system_colors
from nba_ray.grading.tables import markdown_table, system_order
from nba_ray.systems.base import ACTUAL_PROP, ESTIMATED_AVG
from nba_ray.warehouse.schemas import MARKET_WINDOWS

GAP_PLOT = "market_gap_rolling.png"


def plot_rolling_gap(daily: pd.DataFrame, path: Path) -> None:
    """Per system: model MAE − line MAE over the trailing longest window, by game date (below 0: the
    system is ahead of the market)."""
    days = MARKET_WINDOWS[-1]
    figure, ax = new_figure(10, 4.8)
    if daily.empty:
        no_data(ax)
    else:
        colors = system_colors(daily["system_id"].unique().tolist())
        for system in system_order(daily["system_id"].unique().tolist()):
            part = daily[daily["system_id"] == system].sort_values("game_date")
            gap = part[f"model_mae_{days}d"] - part[f"line_mae_{days}d"]
            ax.plot(pd.to_datetime(part["game_date"]), gap, label=system, color=colors[system], linewidth=1.4)
        ax.axhline(0.0, color="0.3", linewidth=1.0, linestyle="--", label="as good as the line")
        ax.set_ylabel(f"MAE gap to the line, trailing {days} days (points)")
        legend_below(figure, 3)
    ax.set_title(f"Model MAE − line MAE on {ACTUAL_PROP} rows (above 0: the market is ahead)", fontsize=11)
    figure.savefig(path)


def market_markdown(accuracy: pd.DataFrame, daily: pd.DataFrame, directory: Path) -> str:
    """The market section (Markdown), writing its plot into `directory`."""
    plot_rolling_gap(daily, directory / GAP_PLOT)
    parts = [
        "## The market",
        f"Rows graded against real sportsbook lines ({ACTUAL_PROP}), the closing line known at tip-off: the "
        "line's own MAE and bias beside each system's on exactly the same rows, the gap (model − line; "
        "above 0 the market is ahead), the hit rate of OVER/UNDER calls with its 95 % Wilson interval "
        "beside the break-even at the quoted prices (52.4 % at −110), and the return per unit staked on "
        "each priced call.",
        markdown_table(market_table(accuracy)),
        "### Hit rate by confidence decile (real lines)",
        "If confidence means anything, higher deciles are right more often.",
        markdown_table(_deciles(accuracy)),
        "### Rolling MAE gap to the line",
        f"![Rolling MAE gap]({GAP_PLOT})",
    ]
    if not daily.empty:
        parts += ["### Model states (after the last graded date)", markdown_table(latest_states(daily))]
    parts += [
        f"### Estimated lines ({ESTIMATED_AVG}): not a market",
        f"{ESTIMATED_AVG} lines are the player's own rounded average, not offered by any sportsbook: these "
        "hit rates are not betting results.",
        markdown_table(estimated_table(accuracy)),
    ]
    return "\n\n".join(parts)


def latest_states(daily: pd.DataFrame) -> pd.DataFrame:
    """Per system and mode, its last graded date's trailing figures and model state."""
    days = MARKET_WINDOWS[-1]
    last = daily.sort_values("game_date").groupby(["system_id", "prediction_mode"]).tail(1)
    table = pd.DataFrame(
        {
            "system_id": last["system_id"],
            "mode": last["prediction_mode"],
            "as_of": last["game_date"].astype(str),
            f"calls_{days}d": last[f"calls_{days}d"].astype("int64"),
            f"hit_rate_{days}d": last[f"hit_rate_{days}d"],
            f"gap_{days}d": last[f"model_mae_{days}d"] - last[f"line_mae_{days}d"],
            "state": last["model_state"],
        }
    ).set_index(["system_id", "mode"])
    return table.loc[
        [k for s in system_order(table.index.get_level_values(0)) for k in table.index if k[0] == s]
    ]


def _deciles(accuracy: pd.DataFrame) -> pd.DataFrame:
    table = decile_table(accuracy)
    if table.empty:
        return table
    rates = table["hit_rate"].unstack("decile")
    calls = table["calls"].unstack("decile").fillna(0).astype("int64")
    cells = pd.DataFrame(index=rates.index)
    for decile in rates.columns:
        cells[f"d{int(decile)}"] = [
            f"{rate:.3f} ({n:,})" if n else "n/a"
            for rate, n in zip(rates[decile], calls[decile], strict=True)
        ]
    return cells.loc[system_order(cells.index.tolist())]


def status_lines(daily: pd.DataFrame) -> list[str]:
    """A few lines for `nba-ray status` / `nba-ray models`: each system's state after its last graded
    date, on what figures."""
    if daily.empty:
        return ["market: no predictions graded against real lines yet (`nba-ray grade`)"]
    short, long = MARKET_WINDOWS[0], MARKET_WINDOWS[-1]
    table = latest_states(daily)
    last = daily.sort_values("game_date").groupby(["system_id", "prediction_mode"]).tail(1)
    short_gap = (last[f"model_mae_{short}d"] - last[f"line_mae_{short}d"]).to_numpy()
    gaps = dict(zip(zip(last["system_id"], last["prediction_mode"], strict=True), short_gap, strict=True))
    lines = [f"market (real lines; state, {long}-day hit rate and MAE gap to the line, {short}-day gap):"]
    for (system, mode), row in table.iterrows():
        rate = "n/a" if pd.isna(row[f"hit_rate_{long}d"]) else f"{row[f'hit_rate_{long}d']:.1%}"
        calls, gap = row[f"calls_{long}d"], row[f"gap_{long}d"]
        lines.append(
            f"  {system:<26} {mode:<9} {row['state']:<9} as of {row['as_of']}: hit {rate} on "
            f"{calls:,} calls, gap {gap:+.2f} ({short}d {gaps[(system, mode)]:+.2f})"
        )
    return lines

"""The market beside each system: graded rows with a real (sportsbook) line, the line itself as a forecast
of the points scored, and the system's OVER/UNDER calls against it.

Definitions (on graded, not voided rows of `prediction_accuracy` with `line_source` = ACTUAL_PROP):
- model_mae / line_mae: mean |predicted − actual| and |line − actual| on the same rows; gap = model_mae −
  line_mae (> 0: the market is ahead); model_bias / line_bias: mean (predicted − actual), (line − actual).
- calls / hits / hit_rate: OVER and UNDER calls that were decided (no push), those right, and their share,
  with a 95 % Wilson interval (ci_low, ci_high); break_even: the hit rate at which the calls' quoted prices
  return nothing (52.4 % at −110; the −110 standard where a call has no price).
- roi: profit per unit staked on every priced call, one unit each (a win pays the American price's
  payout, a loss costs the stake); n/a without prices.
Rows graded against ESTIMATED_AVG lines (the player's own rounded average) are summarised apart by
`estimated_table` and never called betting results.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.clock import TipClock
from nba_ray.grading.tables import system_order
from nba_ray.systems.base import ACTUAL_PROP, ESTIMATED_AVG, OVER, UNDER
from nba_ray.systems.lines import bookmaker_rank
from nba_ray.warehouse.schemas import MARKET_DAILY, MARKET_WINDOWS, conform

STANDARD_PRICE = -110
WILSON_Z = 1.959964  # 95 %
MARKET_COLUMNS: tuple[str, ...] = (
    "n",
    "model_mae",
    "line_mae",
    "gap",
    "model_bias",
    "line_bias",
    "calls",
    "hit_rate",
    "ci_low",
    "ci_high",
    "break_even",
    "priced_calls",
    "roi",
)
MARKET_COUNTS: frozenset[str] = frozenset({"n", "calls", "priced_calls"})


# ---- prices ------------------------------------------------------------------------------------------
def break_even(price: np.ndarray | float) -> np.ndarray:
    """The hit rate at which an American price returns nothing: 110/210 at −110, 100/250 at +150."""
    p = np.asarray(price, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # each branch is computed for every price
        return np.where(p < 0, -p / (100 - p), 100 / (100 + p))


def payout(price: np.ndarray | float) -> np.ndarray:
    """Profit per unit staked on a win at an American price: 100/110 at −110, 1.5 at +150."""
    p = np.asarray(price, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p < 0, 100 / -p, p / 100)


def wilson(hits: float, n: float, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (NaN, NaN without trials)."""
    if n <= 0:
        return float("nan"), float("nan")
    rate = hits / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def closing_lines(snapshots: pa.Table, tips: TipClock, priority: list[str]) -> pd.DataFrame:
    """Per (game_date, player_lookup): the snapshot a prediction of the date used, by the systems' rule
    (highest-priority bookmaker, its latest snapshot known at tip, the lowest line on a tie), with its
    `points_line`, `over_price` and `under_price`."""
    columns = ["game_date", "player_lookup", "points_line", "over_price", "under_price"]
    known = tips.known_by_tip(snapshots).to_pandas()
    known = known[known["points_line"].notna()]
    if known.empty:
        return pd.DataFrame(columns=columns)
    known = known.assign(_rank=bookmaker_rank(known["bookmaker"].to_numpy(), priority))
    known = known.sort_values(
        ["game_date", "player_lookup", "_rank", "snapshot_ts", "points_line"],
        ascending=[True, True, True, False, True],
        kind="stable",
    )
    return known.drop_duplicates(["game_date", "player_lookup"])[columns].reset_index(drop=True)


# ---- per-row outcomes --------------------------------------------------------------------------------
def market_rows(
    accuracy: pd.DataFrame, source: str = ACTUAL_PROP, *, own_calls: bool = False
) -> pd.DataFrame:
    """Graded rows against lines of `source`, with `line_error`, `called`, `hit` and the called side's
    `price` (NaN where unpriced) and `profit` per unit staked. The calls are the recommendations made,
    or with `own_calls` the system's own (`system_recommendation`: a blocked system's calls too, so its
    state can recover on what it would have called)."""
    graded = accuracy[
        ~accuracy["is_voided"].eq(True)
        & accuracy["actual_points"].notna()
        & accuracy["line_value"].notna()
        & accuracy["line_source"].eq(source)
    ]
    actual = graded["actual_points"].astype(float)
    rec = graded["recommendation"].astype(object)
    if own_calls and "system_recommendation" in graded.columns:
        own = graded["system_recommendation"].astype(object)
        rec = own.where(own.notna(), rec)
    line = graded["line_value"].astype(float)
    decided = (rec.isin([OVER, UNDER]) & actual.ne(line)).to_numpy()
    right = np.where(rec.eq(OVER), actual > line, actual < line)
    correct = pd.Series(right, index=graded.index).astype("boolean").where(decided, pd.NA)
    price = np.select(
        [rec.eq(OVER), rec.eq(UNDER)],
        [_numbers(graded, "over_price"), _numbers(graded, "under_price")],
        default=np.nan,
    )
    called = correct.notna().to_numpy(dtype=bool)
    hit = correct.fillna(False).to_numpy(dtype=bool)
    profit = np.where(hit, payout(np.nan_to_num(price, nan=STANDARD_PRICE)), -1.0)
    return pd.DataFrame(
        {
            "game_date": pd.to_datetime(graded["game_date"]).dt.date,
            "system_id": graded["system_id"].astype(str),
            "prediction_mode": graded["prediction_mode"].astype(str),
            "model_error": graded["predicted_points"].astype(float) - actual,
            "line_error": graded["line_value"].astype(float) - actual,
            "called": called,
            "hit": hit & called,
            "price": np.where(called, price, np.nan),
            "profit": np.where(called & ~np.isnan(price), profit, np.nan),
            "confidence_decile": pd.to_numeric(graded["confidence_decile"], errors="coerce"),
        },
        index=graded.index,
    )


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


# ---- tables ------------------------------------------------------------------------------------------
def market_table(accuracy: pd.DataFrame, source: str = ACTUAL_PROP) -> pd.DataFrame:
    """One row per system (index `system_id`) with `MARKET_COLUMNS`, on rows graded against `source`."""
    rows = market_rows(accuracy, source)
    records = [{"system_id": system, **_summary(part)} for system, part in rows.groupby("system_id")]
    table = pd.DataFrame(records, columns=["system_id", *MARKET_COLUMNS]).set_index("system_id")
    return table.astype({name: "int64" for name in MARKET_COUNTS}).loc[system_order(table.index.tolist())]


def estimated_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """The same figures on rows graded against ESTIMATED_AVG lines (not a market: no prices, no
    break-even, no returns)."""
    return market_table(accuracy, ESTIMATED_AVG).drop(columns=["break_even", "priced_calls", "roi"])


def _summary(rows: pd.DataFrame) -> dict[str, float | int]:
    calls = rows[rows["called"]]
    hits = int(calls["hit"].sum())
    low, high = wilson(hits, len(calls))
    priced = calls[calls["price"].notna()]
    prices = calls["price"].fillna(STANDARD_PRICE).to_numpy(dtype=float)
    model_mae, line_mae = float(rows["model_error"].abs().mean()), float(rows["line_error"].abs().mean())
    return {
        "n": len(rows),
        "model_mae": model_mae,
        "line_mae": line_mae,
        "gap": model_mae - line_mae,
        "model_bias": float(rows["model_error"].mean()),
        "line_bias": float(rows["line_error"].mean()),
        "calls": len(calls),
        "hit_rate": hits / len(calls) if len(calls) else float("nan"),
        "ci_low": low,
        "ci_high": high,
        "break_even": float(break_even(prices).mean()) if len(calls) else float("nan"),
        "priced_calls": len(priced),
        "roi": float(priced["profit"].mean()) if len(priced) else float("nan"),
    }


def decile_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Hit rate of calls on real lines per system and confidence decile (index system_id, decile)."""
    calls = market_rows(accuracy)
    calls = calls[calls["called"] & calls["confidence_decile"].notna()]
    grouped = calls.groupby(["system_id", calls["confidence_decile"].astype(int).rename("decile")])["hit"]
    return pd.DataFrame({"calls": grouped.size(), "hit_rate": grouped.mean()})


def daily(accuracy: pd.DataFrame, updated_at: datetime) -> pd.DataFrame:
    """`market_daily` rows (without the model state) for every date, system and mode with graded rows
    against real lines, on the systems' own calls; the trailing windows cover the window's calendar days
    ending on the date."""
    rows = market_rows(accuracy, own_calls=True)
    if rows.empty:
        return pd.DataFrame(
            columns=[c for c in MARKET_DAILY.columns if c not in ("model_state", "state_reason")]
        )
    rows = rows.assign(
        model_abs=rows["model_error"].abs(),
        line_abs=rows["line_error"].abs(),
        hit=rows["hit"].astype(int),
        called=rows["called"].astype(int),
    )
    keys = ["system_id", "prediction_mode", "game_date"]
    sums = rows.groupby(keys).agg(
        n=("model_abs", "size"),
        model_abs=("model_abs", "sum"),
        line_abs=("line_abs", "sum"),
        calls=("called", "sum"),
        hits=("hit", "sum"),
    )
    parts = []
    for (system, mode), part in sums.groupby(level=[0, 1]):
        day = part.droplevel([0, 1])
        day.index = pd.DatetimeIndex(day.index)
        out = _rates(day, "").assign(system_id=system, prediction_mode=mode, hits=day["hits"].to_numpy())
        for days in MARKET_WINDOWS:
            trailing = day.rolling(f"{days}D").sum()
            windowed = _rates(trailing, f"_{days}d")
            out = out.join(windowed.drop(columns=[f"hits_{days}d"]))
        parts.append(out.rename_axis("game_date").reset_index())
    frame = pd.concat(parts, ignore_index=True)
    frame["game_date"] = frame["game_date"].dt.date
    return frame.assign(updated_at=updated_at)


def _rates(sums: pd.DataFrame, suffix: str) -> pd.DataFrame:
    n, calls = sums["n"], sums["calls"]
    return pd.DataFrame(
        {
            f"n{suffix}": n.astype(int),
            f"model_mae{suffix}": sums["model_abs"] / n,
            f"line_mae{suffix}": sums["line_abs"] / n,
            f"calls{suffix}": calls.astype(int),
            f"hits{suffix}": sums["hits"].astype(int),
            f"hit_rate{suffix}": (sums["hits"] / calls).where(calls > 0),
        },
        index=sums.index,
    )


def to_market_daily(frame: pd.DataFrame) -> pa.Table:
    return conform(pa.Table.from_pandas(frame, preserve_index=False), MARKET_DAILY)


def prices_of(preds: pd.DataFrame, closing: pd.DataFrame | None) -> dict[str, pd.Series]:
    """`over_price` / `under_price` of each prediction made against a real line: those of the closing
    snapshot its line came from (same date, player and line), else <NA>."""
    keys = ["game_date", "player_lookup"]
    empty = pd.Series(pd.NA, index=preds.index, dtype="Int64")
    if closing is None or closing.empty:
        return {"over_price": empty, "under_price": empty.copy()}
    joined = preds[[*keys, "line_value", "line_source"]].merge(closing, on=keys, how="left")
    same = (joined["line_source"].eq(ACTUAL_PROP) & joined["points_line"].eq(joined["line_value"])).to_numpy()
    return {
        column: pd.Series(joined[column].where(same).to_numpy(), index=preds.index).astype("Int64")
        for column in ("over_price", "under_price")
    }

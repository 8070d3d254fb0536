"""Prop lines: two books pricing each regular's points around the market's pre-game expectation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# --- Prop lines ---------------------------------------------------------------------------------------
BOOKMAKERS = ("draftkings", "fanduel")
P_BOOK_OFFERS = 0.93
P_SECOND_SNAPSHOT = 0.5
MARKET_SCALE_SD = 0.06
MARKET_SD = 0.9
BOOK_SD = 0.35
LINE_MOVE_SD = 0.5
MIN_LINE = 1.5
SNAPSHOT_WINDOWS_UTC = ((14 * 3600, 17 * 3600), (19 * 3600, 22 * 3600 + 1800))  # before an evening tip-off
PRICE_STEP = 5  # cents of American odds per PRICE_EDGE_STEP points between the book's number and its line
PRICE_EDGE_STEP = 0.125
MAX_TILT = 2
STANDARD_PRICE = -110
EVEN_MONEY = 100


def prop_lines(
    dates: np.ndarray, lookups: np.ndarray, expected: np.ndarray, rng: np.random.Generator
) -> dict[str, pa.Array]:
    """Two books' lines around a shared market view of the pre-game expectation, one or two snapshots.

    The market errs around the simulation's own pre-game expectation (never the realised points); each
    book adds its own opinion and may move its line between snapshots. Prices lean toward the side the
    book's own number favours (e.g. over -120 / under +100).
    """
    n = len(expected)
    market = expected * np.exp(rng.normal(0.0, MARKET_SCALE_SD, n)) + rng.normal(0.0, MARKET_SD, n)
    parts: list[dict[str, np.ndarray]] = []
    for book in range(len(BOOKMAKERS)):
        offered = rng.random(n) < P_BOOK_OFFERS
        opening = market + rng.normal(0.0, BOOK_SD, n)
        moves = offered & (rng.random(n) < P_SECOND_SNAPSHOT)
        moved = opening + rng.normal(0.0, LINE_MOVE_SD, n)
        for snap, (rows, opinions, (earliest, latest)) in enumerate(
            zip((offered, moves), (opening, moved), SNAPSHOT_WINDOWS_UTC, strict=True)
        ):
            idx = np.flatnonzero(rows)
            opinion = opinions[idx]
            line = np.maximum(np.round(opinion * 2) / 2, MIN_LINE)
            tilt = np.clip(np.round((opinion - line) / PRICE_EDGE_STEP), -MAX_TILT, MAX_TILT).astype(np.int64)
            seconds = rng.integers(earliest, latest, len(idx)).astype("timedelta64[s]")
            parts.append(
                {
                    "row": idx,
                    "book": np.full(len(idx), book),
                    "snap": np.full(len(idx), snap),
                    "snapshot_ts": dates[idx].astype("datetime64[us]") + seconds,
                    "points_line": line,
                    "over_price": _american(STANDARD_PRICE - PRICE_STEP * tilt),
                    "under_price": _american(STANDARD_PRICE + PRICE_STEP * tilt),
                }
            )
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    order = np.lexsort((columns["snap"], columns["book"], columns["row"]))
    row = columns["row"][order]
    return {
        "game_date": pa.array(dates[row], pa.date32()),
        "player_lookup": pa.array(lookups[row], pa.string()),
        "bookmaker": pa.array(np.array(BOOKMAKERS, dtype=object)[columns["book"][order]], pa.string()),
        "snapshot_ts": pa.array(columns["snapshot_ts"][order], pa.timestamp("us", tz="UTC")),
        "points_line": pa.array(columns["points_line"][order], pa.float64()),
        "over_price": pa.array(columns["over_price"][order], pa.int64()),
        "under_price": pa.array(columns["under_price"][order], pa.int64()),
    }


def _american(price: np.ndarray) -> np.ndarray:
    """American odds have no -100: even money is written +100."""
    return np.where(price == -EVEN_MONEY, EVEN_MONEY, price)

"""The warehouse's prop lines and market tables, mixed into `Warehouse` (whose `_read`, `_replace_where`
and `_replace_input` they use): line snapshots fingerprinted up to each date's tip, and `market_daily`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.clock import TipClock
from nba_ray.warehouse import sql
from nba_ray.warehouse.schemas import MARKET_DAILY, PROP_LINES, TableSpec


class LinesAndMarket:
    # When each date's games tip off: which line snapshots a prediction may use (`open_warehouse` sets
    # the configured one).
    tips: TipClock = TipClock()

    def replace_prop_lines(self, rows: pa.Table) -> int:
        """Replace every snapshot of the dates in `rows`. Their fingerprints cover only the snapshots
        known by each date's tip: a line filed after tip-off changes no prediction, so no freshness."""
        dates = pc.unique(rows.column("game_date")).to_pylist()
        if not dates:
            return 0
        return self._replace_input(PROP_LINES, rows, {"game_date": dates})

    def usable(self, spec: TableSpec, rows: pa.Table) -> pa.Table:
        """The rows of an input table a prediction can use, which its fingerprints cover: of the lines,
        the snapshots known by their date's tip; of any other input, every row."""
        return self.tips.known_by_tip(rows) if spec is PROP_LINES else rows

    def read_prop_lines(self, dates: Sequence[date]) -> pa.Table:
        """Every stored snapshot of `dates`, in key order."""
        if not dates:
            return PROP_LINES.schema.empty_table()
        return self._read(PROP_LINES, {"game_date": list(dates)}, ", ".join(PROP_LINES.key))

    def replace_market_daily(self, rows: pa.Table, *, mode: str) -> int:
        """Replace every `market_daily` row of `mode` (the table is recomputed whole by each grade)."""
        return self._replace_where(MARKET_DAILY, rows, {"prediction_mode": mode})

    def read_market_daily(self, *, mode: str | None = None) -> pa.Table:
        condition: sql.Condition = {"prediction_mode": mode} if mode else {}
        return self._read(MARKET_DAILY, condition, "game_date, system_id, prediction_mode")

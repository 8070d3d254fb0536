"""Freshness check benchmark; prints one JSON object.

    python bench/bench_freshness.py --box-scores DIR

Imports the four real seasons and builds their features (which writes each date's fingerprints), marks
every game date done as a finished backfill would, rebuilds one date's features from unchanged data (it
must stay fresh), then times the check a resumed backfill makes: `Warehouse.read_freshness` (checkpoints
and fingerprints of the whole range in one query) and the whole `plan_backfill`, counting the warehouse
queries each issues.
Targets: the check of all dates ≤ 1 s on DuckDB, one query (one round trip on BigQuery).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from nba_ray.backfill.checkpoints import DONE, DateOutcome
from nba_ray.backfill.driver import plan_backfill
from nba_ray.commands import refresh_features
from nba_ray.config import Settings, WarehouseSettings
from nba_ray.data.importer import read_box_scores
from nba_ray.importing import store_box_scores
from nba_ray.systems.settings import SystemsSettings
from nba_ray.warehouse import sql
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

FIRST, LAST = date(2019, 10, 1), date(2023, 6, 30)
RUNS = 5


class CountingWarehouse(DuckDBWarehouse):
    """The real DuckDB warehouse, counting the queries it runs."""

    queries = 0

    def _run(self, query: sql.Query, timeout: float | None = None):  # type: ignore[no-untyped-def]
        type(self).queries += 1
        return super()._run(query, timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--box-scores", type=Path, required=True, help="folder of season=*.parquet")
    args = parser.parse_args()
    files = sorted(args.box_scores.glob("season=*.parquet"))
    # Systems without a model: the check is the same for every system, and no model needs training.
    systems = SystemsSettings(enabled=["moving_average_baseline_v1", "zone_matchup_v1"])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(warehouse=WarehouseSettings(path=Path(tmp) / "nba.duckdb"), systems=systems)
        with CountingWarehouse(settings.warehouse.path, settings.batching) as warehouse:
            store_box_scores(warehouse, read_box_scores(files))
            refresh_features(warehouse, FIRST, LAST)
            dates = warehouse.feature_dates()
            plan = plan_backfill(warehouse, settings, dates, resume=True)
            assert plan.checkpoints is not None
            plan.checkpoints.mark([DateOutcome(d, DONE) for d in plan.game_dates])  # a finished run
            middle = dates[len(dates) // 2]
            refresh_features(warehouse, middle, middle)  # the same rows again: the date stays fresh
            checks, plans = [], []
            for _ in range(RUNS):
                CountingWarehouse.queries = 0
                started = time.perf_counter()
                warehouse.read_freshness(plan.run_key, dates[0], dates[-1])
                checks.append(time.perf_counter() - started)
                check_queries = CountingWarehouse.queries
                CountingWarehouse.queries = 0
                started = time.perf_counter()
                again = plan_backfill(warehouse, settings, dates, resume=True)
                plans.append(time.perf_counter() - started)
                plan_queries = CountingWarehouse.queries
    result = {
        "benchmark": "freshness_check",
        "backend": "duckdb",
        "game_dates": len(dates),
        "dates_to_redo_after_an_unchanged_rebuild": len(again.game_dates),
        "freshness_check_seconds_median": round(sorted(checks)[RUNS // 2], 4),
        "freshness_check_queries": check_queries,
        "plan_backfill_seconds_median": round(sorted(plans)[RUNS // 2], 4),
        "plan_backfill_queries": plan_queries,
        "target": "freshness check of all dates <= 1 s on DuckDB, one query",
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()

"""Freshness-check benchmark: what deciding which dates a resume must redo costs, on the embedded default.

    python bench/bench_freshness.py --box-scores DIR

Real box scores (import → features over all four seasons; the three season models trained with small
parameters, as Ray tasks), every game date from 2020-21's first to 2022-23's last marked done with its
inputs, then one date's features changed. Timed: `plan_backfill` over the whole range (game dates,
registry, season bounds, the range's fingerprints and checkpoints: five small queries, whatever the
number of dates) — the check every resume and `nba-ray catch-up` run makes. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import ray

from nba_ray.backfill.checkpoints import DONE, Checkpoints, DateOutcome
from nba_ray.backfill.driver import connect_ray, plan_backfill
from nba_ray.backfill.freshness import expected_inputs
from nba_ray.backfill.planner import plan_models, provide_models
from nba_ray.commands import refresh_features
from nba_ray.config import ModelSettings, RaySettings, Settings, WarehouseSettings
from nba_ray.data.importer import read_box_scores
from nba_ray.systems.settings import XGBoostTrainParams
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

RANGE = (date(2020, 12, 22), date(2023, 4, 9))
QUICK = XGBoostTrainParams(
    max_rounds=20, early_stopping_rounds=5, objectives=("reg:squarederror",), nthread=1
)


def bench(box_scores: Path, directory: Path, repeats: int) -> dict[str, Any]:
    settings = Settings(
        warehouse=WarehouseSettings(path=directory / "nba.duckdb"), model=ModelSettings(training=QUICK)
    )
    with contextlib.redirect_stdout(sys.stderr), DuckDBWarehouse(settings.warehouse.path) as warehouse:
        warehouse.replace_box_scores(read_box_scores(sorted(box_scores.glob("season=*.parquet"))))
        every = warehouse.game_dates(date(1900, 1, 1), date(2100, 1, 1))
        refresh_features(warehouse, every[0], every[-1])
        dates = warehouse.game_dates(*RANGE)
        plan = provide_models(warehouse, settings, plan_models(warehouse, settings, dates))
        report = plan_backfill(warehouse, settings, dates, resume=True)
        checkpoints = Checkpoints(
            warehouse, report.run_key, "bench", expected_inputs(warehouse, dates, plan.versions)
        )
        checkpoints.mark([DateOutcome(d, DONE) for d in dates])
        changed = dates[len(dates) // 2]  # one date's features rewritten with one value changed
        rows = warehouse.read_features(changed, changed)
        column = rows.schema.get_field_index("points_avg_last_5")
        bumped = pc.add(rows.column(column), pa.scalar(0.5))
        warehouse.replace_features(rows.set_column(column, "points_avg_last_5", bumped), changed, changed)
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            report = plan_backfill(warehouse, settings, dates, resume=True)
            timings.append(time.perf_counter() - started)
    return {
        "dates": len(dates),
        "stale": {str(d): why for d, why in report.reasons.items()},
        "plan_seconds_min": round(min(timings), 3),
        "plan_seconds_median": round(sorted(timings)[len(timings) // 2], 3),
        "target_seconds": 1.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--box-scores", type=Path, default=os.environ.get("NBA_RAY_REAL_DATA"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.box_scores:
        parser.error("--box-scores (or NBA_RAY_REAL_DATA) is required")
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__},
        "ray_start_seconds": round(connect_ray(RaySettings()), 2),
    }
    with tempfile.TemporaryDirectory(prefix="nba-ray-bench-") as tmp:
        results["freshness_check"] = bench(Path(args.box_scores), Path(tmp), args.repeats)
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Season-model training benchmark: three walk-forward season models (2020-21, 2021-22, 2022-23, each on
every game before its season) trained as Ray tasks in parallel vs one after another in the driver.

    python bench/bench_training.py --box-scores DIR [--nthread 1,2]

Real box scores (import → features over all four seasons), the production training parameters. For each
`nthread` (threads per model = CPUs per task) it times: `sequential` (the three models one after another,
in this process) and `ray_tasks` (`nba_ray.models.training.train_on_ray`, the backfill's own path, one
task per season). The models are checked equal bit for bit across the two ways. Prints one JSON object;
logs go to stderr.

What 2 cores allow: with 1 thread per model at most 2 of the 3 tasks run at once, so the best possible
speed-up over one-after-another is 3 / 2 = 1.5× (less Ray's start of the worker processes and one copy
of the rows into the object store); with 2 threads per model each task takes both cores and tasks run
one at a time, so the comparison measures only the overhead of the task path. Larger clusters train
every season at once.
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

import ray

from nba_ray.backfill.driver import connect_ray
from nba_ray.commands import refresh_features
from nba_ray.config import RaySettings, Settings, WarehouseSettings
from nba_ray.data.importer import read_box_scores
from nba_ray.models.policy import plan_models
from nba_ray.models.training import train_on_ray, train_one, training_rows
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

RANGE = (date(2020, 12, 22), date(2023, 4, 9))  # 2020-21's first game day … 2022-23's last


def bench(box_scores: Path, nthreads: list[int], directory: Path) -> dict[str, Any]:
    settings = Settings(warehouse=WarehouseSettings(path=directory / "nba.duckdb"))
    with contextlib.redirect_stdout(sys.stderr), DuckDBWarehouse(settings.warehouse.path) as warehouse:
        warehouse.replace_box_scores(read_box_scores(sorted(box_scores.glob("season=*.parquet"))))
        every = warehouse.game_dates(date(1900, 1, 1), date(2100, 1, 1))
        refresh_features(warehouse, every[0], every[-1])
        plan = plan_models(warehouse, settings, warehouse.game_dates(*RANGE))
        specs = [need.spec(settings.systems.mode) for need in plan.missing]
        rows = training_rows(warehouse, specs)
    out: dict[str, Any] = {
        "models": [{"label": s.label, "train_end": s.train_end.isoformat()} for s in specs],
        "training_rows_read": rows.num_rows,
    }
    for nthread in nthreads:
        params = settings.model.training.model_copy(update={"nthread": nthread})
        started = time.perf_counter()
        sequential = [train_one(rows, spec, params) for spec in specs]
        sequential_s = time.perf_counter() - started
        started = time.perf_counter()
        parallel = train_on_ray(rows, specs, params)
        parallel_s = time.perf_counter() - started
        out[f"nthread_{nthread}"] = {
            "sequential_seconds": round(sequential_s, 2),
            "ray_tasks_seconds": round(parallel_s, 2),
            "speedup": round(sequential_s / parallel_s, 2),
            "max_tasks_at_once": int(ray.cluster_resources().get("CPU", 0) // nthread),
            "rows_per_model": [a.metadata.rows for a in sequential],
            "identical_models": [a.raw == b.raw for a, b in zip(sequential, parallel, strict=True)],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--box-scores", type=Path, default=os.environ.get("NBA_RAY_REAL_DATA"))
    parser.add_argument(
        "--nthread", default="1,2", help="threads per model (= CPUs per task), comma-separated"
    )
    args = parser.parse_args(argv)
    if not args.box_scores:
        parser.error("--box-scores (or NBA_RAY_REAL_DATA) is required")
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__},
        "ray_start_seconds": round(connect_ray(RaySettings()), 2),
    }
    with tempfile.TemporaryDirectory(prefix="nba-ray-bench-") as tmp:
        nthreads = [int(n) for n in args.nthread.split(",")]
        results["three_season_models"] = bench(Path(args.box_scores), nthreads, Path(tmp))
    results["note"] = (
        "2 cores: at most 2 one-thread models train at once (ideal 1.5x for 3 seasons); a two-thread "
        "model takes both cores, so its tasks run one at a time"
    )
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

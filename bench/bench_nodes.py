"""Benchmark: backfill throughput on a local cluster of 1, 2 and 3 nodes, and a cloud projection; prints JSON.

    python bench/bench_nodes.py [--box-scores DIR] [--dates 165] [--nodes 1,2,3]

The same game dates (by default a whole season) are backfilled into a fresh copy of one warehouse on a
local `ray.cluster_utils` cluster that grows from one node to three, each node with one logical CPU
(so one 1-CPU predictor actor per node). Throughput is player-predictions written per second: over the
whole run (the pool's actor start-up included, Ray's start-up not), and steady, from the first
finished date to the last.

The per-date costs — load, predict, write, from the `backfill_checkpoints` timings of a sequential run
on one node (`in_flight_dates: 1`, so no date waits behind another) — feed a projection of the
first implementation's workload (571 dates, ~3 hours) on an autoscaling Google Cloud cluster
(`cluster.yaml`); every assumption it needs is printed with it, and docs/clusters.md explains it.

Data: the real box scores (import → features → a model trained through 2022-06-30, dates from the
2022-23 season) when `--box-scores` or NBA_RAY_REAL_DATA names them, else the synthetic league.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import ray
from ray.cluster_utils import Cluster

from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.commands import refresh_features, seed_league, train_and_register
from nba_ray.config import BatchingSettings, ModelSettings, RaySettings, Settings, WarehouseSettings
from nba_ray.data.importer import read_box_scores
from nba_ray.models import registry
from nba_ray.systems.settings import XGBoostTrainParams
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

REAL_TRAIN_END, REAL_FIRST_DATE = date(2022, 6, 30), date(2022, 10, 1)
SYNTHETIC_SEASON, SYNTHETIC_TRAIN_END = "2022-23", date(2023, 1, 15)
BASELINE: dict[str, Any] = {
    "dates": 571,
    "hours": 3.0,
    "what": "the first implementation's backfill (per-player loads)",
}

# What the projection assumes about the cloud (stated in the output and in docs/clusters.md).
CLOUD: dict[str, Any] = {
    "region": "us-central1",
    "head": {"machine": "n2-standard-4", "usd_per_hour": 0.194},
    "worker": {"machine": "n2-standard-8", "vcpus": 8, "usd_per_hour": 0.389},
    "prices": "on-demand list prices, us-central1, without sustained-use or Spot discounts",
    "vcpu_vs_this_machine": "one n2 vCPU predicts as fast as one core of this machine (both ~2.x GHz)",
    "bigquery_load_seconds_per_date": 3.0,  # three batch queries of ~1 s each, as in bench_backfill's latency
    "bigquery_write_seconds_per_group": 6.0,  # load job into staging + MERGE, per group of dates
    "in_flight_dates": [8, 16],  # configs/bigquery.yaml has 8: loads and writes overlap this many dates
    "cluster_start_seconds": 300,  # worker VM boot + docker pull + pip install of nba-ray
    "idle_timeout_seconds": 300,  # cluster.yaml: workers stay this long after the run
}


def settings_for(directory: Path, **batching: Any) -> Settings:
    return Settings(
        warehouse=WarehouseSettings(path=directory / "nba.duckdb"),
        model=ModelSettings(
            training=XGBoostTrainParams(
                max_rounds=60, early_stopping_rounds=10, objectives=("reg:squarederror",)
            ),
        ),
        ray=RaySettings(num_actors=None, max_actors=64),
        batching=BatchingSettings(**batching),
    )


def build(directory: Path, box_scores: Path | None, dates: int) -> tuple[list[date], str]:
    """A warehouse with features and a walk-forward model; returns the dates to backfill."""
    settings = settings_for(directory)
    with contextlib.redirect_stdout(sys.stderr), DuckDBWarehouse(settings.warehouse.path) as warehouse:
        if box_scores:
            warehouse.replace_box_scores(read_box_scores(sorted(box_scores.glob("season=*.parquet"))))
            train_end, first, source = REAL_TRAIN_END, REAL_FIRST_DATE, f"real box scores ({box_scores})"
        else:
            seed_league(warehouse, [SYNTHETIC_SEASON], seed_value=11)
            train_end, first = SYNTHETIC_TRAIN_END, SYNTHETIC_TRAIN_END
            source = f"synthetic league {SYNTHETIC_SEASON}"
        every = warehouse.game_dates(date(1900, 1, 1), date(2100, 1, 1))
        refresh_features(warehouse, every[0], every[-1])
        train_and_register(warehouse, settings, None, train_end)
    return [d for d in every if d > first][:dates], source


def fresh_copy(base: Path, target: Path, **batching: Any) -> Settings:
    """A copy of the built warehouse whose backfills pin its one registered model."""
    shutil.copytree(base, target)
    settings = settings_for(target, **batching)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        (entry,) = registry.entries(warehouse)
    model = settings.model.model_copy(update={"policy": "pinned", "version": entry.model_version})
    return settings.model_copy(update={"model": model})


def backfill(settings: Settings, dates: Sequence[date]) -> tuple[BackfillReport, list[float]]:
    """The run's report, and when each date finished (seconds since the run started)."""
    finished: list[float] = []
    started = time.perf_counter()
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        report = run_backfill(
            settings,
            warehouse,
            list(dates),
            resume=False,
            on_date=lambda _: finished.append(time.perf_counter() - started),
        )
    if report.failed:
        raise SystemExit(f"backfill failed on {len(report.failed)} date(s): {report.failed[0].error}")
    return report, finished


def wait_for_idle_cpus(timeout: float = 60) -> None:
    """The previous run's actors are released asynchronously; start the next run on free CPUs."""
    deadline = time.monotonic() + timeout
    while ray.available_resources().get("CPU", 0) < ray.cluster_resources().get("CPU", 0):
        if time.monotonic() > deadline:
            return
        time.sleep(0.2)


def throughput(report: BackfillReport, finished: list[float], nodes: int) -> dict[str, Any]:
    """Over the whole run (actor start-up included), and steady: from the first finished date to the
    last (the dates after the first, once the actors are up)."""
    predictions = sum(o.predictions for o in report.outcomes)
    after_first = predictions - report.outcomes[0].predictions
    return {
        "nodes": nodes,
        "dates": len(report.outcomes),
        "players": sum(o.players for o in report.outcomes),
        "predictions": predictions,
        "wall_seconds": round(report.wall_seconds, 2),
        "predictions_per_second": round(predictions / report.wall_seconds, 1),
        "first_date_done_seconds": round(finished[0], 2),
        "steady_predictions_per_second": round(after_first / (finished[-1] - finished[0]), 1),
    }


def per_date_costs(report: BackfillReport) -> dict[str, float]:
    """Means over the sequential run's dates, as `backfill_checkpoints` recorded them."""
    outcomes = report.outcomes
    players = sum(o.players for o in outcomes)
    return {
        "dates": len(outcomes),
        "players_per_date": round(players / len(outcomes), 1),
        "load_seconds": round(statistics.mean(o.load_seconds for o in outcomes), 4),
        "predict_seconds": round(statistics.mean(o.predict_seconds for o in outcomes), 4),
        "write_seconds": round(statistics.mean(o.write_seconds for o in outcomes), 4),
        # One 1-CPU actor predicting one date at a time: CPU-seconds of the five systems per player.
        "predict_cpu_seconds_per_player": round(sum(o.predict_seconds for o in outcomes) / players, 5),
    }


def project(costs: dict[str, float], workers: int, window: int) -> dict[str, Any]:
    """The baseline's 571 dates on `workers` n2-standard-8 workers with BigQuery. Loads and writes
    overlap `window` dates and predicting spreads over every worker vCPU, so the slowest of the three
    stages bounds the run; the workers' start-up comes first. Cost is VM time only (BigQuery's bytes
    scanned are billed apart and do not depend on the cluster)."""
    dates = BASELINE["dates"]
    vcpus = workers * CLOUD["worker"]["vcpus"]
    predict_cpu = costs["predict_cpu_seconds_per_player"] * costs["players_per_date"] * dates
    stages = {
        "load_seconds": dates * CLOUD["bigquery_load_seconds_per_date"] / window,
        "write_seconds": math.ceil(dates / window) * CLOUD["bigquery_write_seconds_per_group"],
        "predict_seconds": predict_cpu / vcpus,
    }
    wall = CLOUD["cluster_start_seconds"] + max(stages.values())
    worker_hours = workers * (wall + CLOUD["idle_timeout_seconds"]) / 3600
    cost = wall / 3600 * CLOUD["head"]["usd_per_hour"] + worker_hours * CLOUD["worker"]["usd_per_hour"]
    return {
        "workers": workers,
        "vcpus": vcpus,
        "in_flight_dates": window,
        **{stage: round(seconds, 1) for stage, seconds in stages.items()},
        "bound_by": max(stages, key=lambda stage: stages[stage]).removesuffix("_seconds"),
        "wall_minutes": round(wall / 60, 1),
        "vm_cost_usd": round(cost, 2),
        "speedup_vs_baseline": round(BASELINE["hours"] * 3600 / wall, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--box-scores", type=Path, default=os.environ.get("NBA_RAY_REAL_DATA") or None)
    parser.add_argument("--dates", type=int, default=165, help="game dates per run (165: a season)")
    parser.add_argument("--nodes", default="1,2,3", help="cluster sizes, each node with one logical CPU")
    args = parser.parse_args(argv)
    sizes = sorted({int(n) for n in args.nodes.split(",")})
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    results: dict[str, Any] = {
        "machine": {
            "physical_cores": psutil.cpu_count(logical=False),
            "logical_cpus": os.cpu_count(),
            "python": platform.python_version(),
            "ray": ray.__version__,
        },
        "note": (
            f"each node has 1 logical CPU, but all nodes share this machine's {os.cpu_count()} cores: "
            "three 1-CPU nodes share 2 physical cores, so scaling flattens past 2 nodes. The driver "
            "(loads, writes, checkpoints) keeps much of one core busy too, so on 2 cores even one "
            "actor per core oversubscribes the machine; the figures show Ray's overhead per node, "
            "not what nodes with cores of their own would add"
        ),
    }
    with tempfile.TemporaryDirectory(prefix="nbr-bench-", dir="/tmp") as tmp:
        base = Path(tmp) / "base"
        dates, results["data"] = build(base, args.box_scores, args.dates)
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "include_dashboard": False, "temp_dir": str(Path(tmp) / "ray")},
        )
        try:
            ray.init(address=cluster.address, log_to_driver=False)
            sequential, _ = backfill(fresh_copy(base, Path(tmp) / "sequential", in_flight_dates=1), dates)
            results["per_date_costs_one_cpu"] = per_date_costs(sequential)
            runs = []
            for size in range(1, max(sizes) + 1):
                while len(cluster.list_all_nodes()) < size:
                    cluster.add_node(num_cpus=1)
                cluster.wait_for_nodes()
                wait_for_idle_cpus()
                if size in sizes:
                    report, finished = backfill(fresh_copy(base, Path(tmp) / f"n{size}"), dates)
                    runs.append(throughput(report, finished, size))
            results["throughput"] = runs
            results["speedup_vs_fewest_nodes"] = {
                key: {r["nodes"]: round(r[key] / runs[0][key], 2) for r in runs}
                for key in ("predictions_per_second", "steady_predictions_per_second")
            }
        finally:
            ray.shutdown()
            cluster.shutdown()
    costs = results["per_date_costs_one_cpu"]
    results["projection"] = {
        "baseline": BASELINE,
        "assumptions": CLOUD,
        "clusters": [
            project(costs, workers, window) for window in CLOUD["in_flight_dates"] for workers in (1, 2, 4)
        ],
    }
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

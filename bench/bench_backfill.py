"""Backfill benchmarks; prints one JSON object.

    python bench/bench_backfill.py --box-scores DIR [--only season,whole_process,ray_vs_loop,latency,memory]
                                   [--baseline-bin OTHER_CHECKOUT/.venv/bin/nba-ray] [--rounds 5]

- season:      the real 2022-23 season end to end (import, features, train on 2019-20…2021-22, backfill),
               with the time of every stage and the per-date load / predict / write sums.
- whole_process: `nba-ray backfill` of the real 2022-23 season as a whole process from the shell, in
               interleaved pairs against `--baseline-bin` (another checkout's executable, e.g. the
               previous release) on copies of the same warehouse: medians, the median of the per-pair
               ratios (target ≤ 0.50) and checksums of both prediction tables (identical predictions);
               and the one-process date-by-date floor (load → predict → write, no Ray) in the same run,
               which the whole process must beat.
- ray_vs_loop: the Ray path vs a plain in-process loop (load → predict → write → checkpoint) over the same
               dates and warehouse; Ray start-up reported separately. Target ratio ≤ 1.15 on 2 cores.
- latency:     every warehouse call delayed by 1 s (BigQuery's round trips); pipelined amortised time per
               date (target ≤ 0.06 s: round trips per block, not per date) vs the sequential loop's.
- memory:      a three-season synthetic backfill; driver peak RSS and object-store use sampled per date,
               reported at each tenth of the run to show they stay flat.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psutil
import ray

from nba_ray.backfill.checkpoints import DONE, Checkpoints, DateOutcome
from nba_ray.backfill.driver import connect_ray, run_backfill
from nba_ray.commands import refresh_features, seed_league
from nba_ray.config import BatchingSettings, ModelSettings, RaySettings, Settings, WarehouseSettings
from nba_ray.data.importer import read_box_scores
from nba_ray.importing import store_box_scores
from nba_ray.models import registry
from nba_ray.models.policy import ModelPlan, plan_models, provide_models
from nba_ray.systems.runner import Predictor
from nba_ray.warehouse import sql
from nba_ray.warehouse.base import Replacement
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

REAL_SEASON = (date(2022, 10, 1), date(2023, 6, 30))


def settings_for(directory: Path, **batching: Any) -> Settings:
    return Settings(
        warehouse=WarehouseSettings(path=directory / "nba.duckdb"),
        model=ModelSettings(),
        ray=RaySettings(),
        batching=BatchingSettings(**batching),
    )


def timed(step: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = step()
    return result, round(time.perf_counter() - started, 3)


def stage_sums(outcomes: Sequence[DateOutcome]) -> dict[str, float]:
    return {
        "load_seconds_sum": round(sum(o.load_seconds for o in outcomes), 2),
        "predict_seconds_sum": round(sum(o.predict_seconds for o in outcomes), 2),
        "write_seconds_sum": round(sum(o.write_seconds for o in outcomes), 2),
    }


def build_real(directory: Path, box_scores: Path) -> tuple[Settings, dict[str, float]]:
    settings = settings_for(directory)
    files = sorted(box_scores.glob("season=*.parquet"))
    # The commands' own summary lines go to stderr: a bench prints only its JSON on stdout.
    with DuckDBWarehouse(settings.warehouse.path) as warehouse, contextlib.redirect_stdout(sys.stderr):
        _, import_s = timed(lambda: store_box_scores(warehouse, read_box_scores(files)))
        dates = warehouse.game_dates(date(1900, 1, 1), date(2100, 1, 1))
        _, features_s = timed(lambda: refresh_features(warehouse, dates[0], dates[-1]))
        season = warehouse.game_dates(*REAL_SEASON)
        _, train_s = timed(lambda: train_season_models(warehouse, settings, season))
    return settings, {"import_seconds": import_s, "features_seconds": features_s, "train_seconds": train_s}


def train_season_models(warehouse: DuckDBWarehouse, settings: Settings, dates: Sequence[date]) -> ModelPlan:
    """The per-season models `dates` need, trained as Ray tasks and registered (as a backfill would)."""
    connect_ray(settings.ray)
    return provide_models(warehouse, settings, plan_models(warehouse, settings, dates))


def season_dates() -> list[date]:
    start, end = REAL_SEASON
    return [date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)]


def bench_season(settings: Settings, build: dict[str, float]) -> dict[str, Any]:
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        report = run_backfill(settings, warehouse, season_dates(), resume=False)
    predictions = sum(o.predictions for o in report.outcomes)
    return {
        **build,
        "ray_start_seconds": round(report.ray_start_seconds, 2),
        "backfill_seconds": round(report.wall_seconds, 2),
        "dates": len(report.outcomes),
        "failed_dates": len(report.failed),
        "players": sum(o.players for o in report.outcomes),
        "predictions": predictions,
        "predictions_per_second": round(predictions / report.wall_seconds, 1),
        "seconds_per_date": round(report.wall_seconds / max(1, len(report.outcomes)), 3),
        **stage_sums(report.outcomes),
        "target": "a season well under 60 s on 2 cores",
    }


def in_process_loop(settings: Settings, warehouse: DuckDBWarehouse, dates: Sequence[date]) -> float:
    """The plain loop the Ray path must not be much slower than: same steps, one process, no overlap."""
    started = time.perf_counter()
    plan = plan_models(warehouse, settings, warehouse.game_dates(min(dates), max(dates)))
    models = registry.fetch(warehouse, plan.model_versions)
    predictor = Predictor(settings.systems, [model.build() for model in models.values()])
    checkpoints = Checkpoints(warehouse, "bench-in-process", "bench", {}, {})
    systems = list(settings.systems.enabled_in_order)
    for game_date in warehouse.game_dates(min(dates), max(dates)):
        batch = warehouse.load_date(game_date)
        result = predictor.predict(
            game_date,
            batch.features,
            batch.history,
            batch.lines,
            batch.players,
            "bench",
            datetime.now(UTC),
            plan.versions[game_date],
        )
        warehouse.write_predictions(result.predictions, [game_date], systems)
        checkpoints.mark([DateOutcome(game_date, DONE, players=batch.num_players)])
    return time.perf_counter() - started


def bench_ray_vs_loop(settings: Settings, dates: Sequence[date]) -> dict[str, Any]:
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        loop_s = in_process_loop(settings, warehouse, dates)
        report = run_backfill(settings, warehouse, dates, resume=False)
    ray_s = report.wall_seconds
    return {
        "dates": len(report.outcomes),
        "in_process_seconds": round(loop_s, 2),
        "ray_seconds": round(ray_s, 2),
        "ratio_ray_over_loop": round(ray_s / loop_s, 3),
        "ray_start_seconds_separate": round(report.ray_start_seconds, 2),
        "cpus": os.cpu_count(),
        "target_ratio": 1.15,
    }


class SlowWarehouse(DuckDBWarehouse):
    """The real DuckDB warehouse with a fixed delay before every call, as BigQuery's round trips add."""

    latency = 1.0

    def _run(self, query: sql.Query, timeout: float | None = None) -> Any:
        time.sleep(self.latency)
        return super()._run(query, timeout)

    def _replace(self, replacements: Sequence[Replacement]) -> None:
        time.sleep(self.latency)
        super()._replace(replacements)


def bench_latency(settings: Settings, dates: Sequence[date], window: int) -> dict[str, Any]:
    piped = settings.model_copy(update={"batching": BatchingSettings(in_flight_dates=window)})
    with SlowWarehouse(settings.warehouse.path, piped.batching) as warehouse:
        game_days = warehouse.game_dates(min(dates), max(dates))
        sequential_dates = game_days[:3]
        sequential_s = in_process_loop(settings, warehouse, sequential_dates)
        report = run_backfill(piped, warehouse, game_days, resume=False)
    return {
        "latency_per_call_seconds": SlowWarehouse.latency,
        "in_flight_dates": window,
        "dates": len(report.outcomes),
        "pipelined_seconds": round(report.wall_seconds, 2),
        "amortised_seconds_per_date": round(report.wall_seconds / len(report.outcomes), 3),
        "sequential_seconds_per_date": round(sequential_s / len(sequential_dates), 3),
        "target_amortised": 0.06,
    }


def bench_memory(directory: Path) -> dict[str, Any]:
    settings = settings_for(directory)
    seasons = ["2020-21", "2021-22", "2022-23", "2023-24"]
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        seed_league(warehouse, seasons, seed_value=3)
        dates = warehouse.game_dates(date(1900, 1, 1), date(2100, 1, 1))
        refresh_features(warehouse, dates[0], dates[-1])
        first_season_end = max(d for d in dates if d < date(2021, 7, 1))
        run_dates = [d for d in dates if d > first_season_end]
        train_season_models(warehouse, settings, run_dates)
        process = psutil.Process()
        samples: list[tuple[float, float]] = []

        def sample(_: DateOutcome) -> None:
            total = ray.cluster_resources().get("object_store_memory", 0.0)
            free = ray.available_resources().get("object_store_memory", total)
            samples.append((process.memory_info().rss / 2**20, (total - free) / 2**20))

        report = run_backfill(settings, warehouse, run_dates, resume=False, on_date=sample)
    tenths = [samples[min(len(samples) - 1, round(i * (len(samples) - 1) / 10))] for i in range(11)]
    return {
        "seasons": seasons[1:],
        "dates": len(report.outcomes),
        "predictions": sum(o.predictions for o in report.outcomes),
        "driver_rss_mib_at_tenths": [round(rss) for rss, _ in tenths],
        "object_store_mib_at_tenths": [round(store, 1) for _, store in tenths],
        "driver_peak_rss_mib": round(max(rss for rss, _ in samples)),
        "object_store_peak_mib": round(max(store for _, store in samples), 1),
        "rss_growth_second_half_mib": round(tenths[10][0] - tenths[5][0], 1),
    }


def backfill_command(binary: Path) -> list[str]:
    start, end = REAL_SEASON
    return [str(binary), "backfill", "--start", str(start), "--end", str(end), "--no-resume", "--no-progress"]


def run_whole(command: Sequence[str], warehouse: Path) -> float:
    """One backfill as a process of its own, wall seconds; its output goes to stderr."""
    env = dict(os.environ, NBA_RAY_WAREHOUSE__PATH=str(warehouse), RAY_USAGE_STATS_ENABLED="0")
    started = time.perf_counter()
    # Run from the warehouse's folder: Ray puts the driver's working directory on its workers' path,
    # and a checkout's own folder there would give the other version's workers this one's code.
    subprocess.run(command, env=env, cwd=warehouse.parent, stdout=sys.stderr, stderr=sys.stderr, check=True)
    return time.perf_counter() - started


def predictions_checksum(path: Path) -> dict[str, Any]:
    """sha256 of the prediction table without run_id / created_at, in a canonical order."""
    with DuckDBWarehouse(path) as warehouse:
        table = warehouse.read_predictions(date(1900, 1, 1), date(2999, 12, 31))
    kept = table.drop_columns(["run_id", "created_at"])
    kept = kept.sort_by([(c, "ascending") for c in ("game_date", "player_lookup", "system_id")])
    digest = hashlib.sha256(json.dumps(kept.to_pydict(), default=str).encode())
    return {"rows": kept.num_rows, "sha256": digest.hexdigest()[:16]}


def build_with_cli(binary: Path, path: Path, box_scores: Path) -> None:
    """The real warehouse built by `binary`'s own commands (import, features, a first backfill that
    trains the season's model): an older nba-ray reads only a warehouse of its own version, a newer
    one migrates it."""
    env = dict(os.environ, NBA_RAY_WAREHOUSE__PATH=str(path), RAY_USAGE_STATS_ENABLED="0")
    files = [str(f) for f in sorted(box_scores.glob("season=*.parquet"))]
    for command in (
        ["import", "--box-scores", *files],
        ["features", "--start", "2019-01-01", "--end", "2023-12-31"],
        backfill_command(binary)[1:],
    ):
        subprocess.run(
            [str(binary), *command],
            env=env,
            cwd=path.parent,
            stdout=sys.stderr,
            stderr=sys.stderr,
            check=True,
        )


def bench_whole_process(
    settings: Settings, baseline: Path | None, rounds: int, box_scores: Path, prepared: bool
) -> dict[str, Any]:
    this = Path(sys.executable).with_name("nba-ray")
    source = settings.warehouse.path
    if baseline is not None and not prepared:
        source = source.with_name("built-by-baseline.duckdb")
        build_with_cli(baseline, source, box_scores)
    copies = {name: source.with_name(f"{name}.duckdb") for name in ("this", "baseline")}
    for copy in copies.values():
        shutil.copy(source, copy)
    commands = {"this": backfill_command(this)}
    if baseline is not None:
        commands["baseline"] = backfill_command(baseline)
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for name in commands:  # warm-up: page cache, compiled bytecode
        run_whole(commands[name], copies[name])
    for _ in range(rounds):
        for name in commands:  # interleaved: A B A B …, so drift in the machine's speed hits both
            seconds[name].append(run_whole(commands[name], copies[name]))
    with DuckDBWarehouse(copies["this"], settings.batching) as warehouse:
        floor = in_process_loop(settings_for(copies["this"].parent), warehouse, season_dates())
    out: dict[str, Any] = {
        "rounds": rounds,
        "this_median_seconds": round(statistics.median(seconds["this"]), 2),
        "this_seconds": [round(x, 2) for x in seconds["this"]],
        "one_process_date_by_date_floor_seconds": round(floor, 2),
        "ratio_this_over_floor": round(statistics.median(seconds["this"]) / floor, 3),
        "checksum_this": predictions_checksum(copies["this"]),
    }
    if baseline is not None:
        ratios = [a / b for a, b in zip(seconds["this"], seconds["baseline"], strict=True)]
        out |= {
            "baseline_median_seconds": round(statistics.median(seconds["baseline"]), 2),
            "baseline_seconds": [round(x, 2) for x in seconds["baseline"]],
            "ratio_this_over_baseline_median_of_pairs": round(statistics.median(ratios), 3),
            "ratios_per_pair": [round(r, 3) for r in ratios],
            "checksum_baseline": predictions_checksum(copies["baseline"]),
            "target_ratio": 0.50,
        }
        out["identical_predictions"] = out["checksum_this"] == out["checksum_baseline"]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--box-scores", type=Path, default=os.environ.get("NBA_RAY_REAL_DATA"))
    parser.add_argument("--only", default="season,whole_process,ray_vs_loop,latency,memory")
    parser.add_argument("--baseline-bin", type=Path, default=None, help="the nba-ray to compare against")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved pairs of whole-process runs")
    parser.add_argument("--latency-window", type=int, default=24)
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="whole_process/latency: a real-season warehouse already built (import, features, the "
        "season model registered; by the baseline's commands when comparing) instead of building one",
    )
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__}
    }
    with tempfile.TemporaryDirectory(prefix="nba-ray-bench-") as tmp:
        results["ray_start_seconds"] = round(connect_ray(RaySettings()), 2)
        if wanted & {"season", "whole_process", "ray_vs_loop", "latency"}:
            if not args.box_scores:
                parser.error("--box-scores (or NBA_RAY_REAL_DATA) is required for season/ray_vs_loop/latency")
            if args.warehouse is not None and not wanted & {"season", "ray_vs_loop"}:
                (Path(tmp) / "real").mkdir()
                shutil.copy(args.warehouse, Path(tmp) / "real" / "nba.duckdb")
                settings, build = settings_for(Path(tmp) / "real"), {}
            else:
                settings, build = build_real(Path(tmp) / "real", Path(args.box_scores))
            if "season" in wanted:
                results["season_2022_23"] = bench_season(settings, build)
            if "whole_process" in wanted:
                ray.shutdown()  # the processes start their own
                results["whole_process_2022_23"] = bench_whole_process(
                    settings,
                    args.baseline_bin,
                    args.rounds,
                    Path(args.box_scores),
                    args.warehouse is not None,
                )
                connect_ray(RaySettings())
            if "ray_vs_loop" in wanted:
                results["ray_vs_loop"] = bench_ray_vs_loop(settings, season_dates())
            if "latency" in wanted:
                results["latency"] = bench_latency(
                    settings, [date(2022, 11, 1), date(2023, 1, 31)], args.latency_window
                )
        if "memory" in wanted:
            results["memory_three_seasons"] = bench_memory(Path(tmp) / "memory")
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

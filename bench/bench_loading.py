"""Benchmark: batch loading vs per-player (N+1) loading of one date, and print one JSON object.

    python bench/bench_loading.py [--backend duckdb|bigquery|both] [--sizes 118,360,1000,5000]
                                  [--repeat 3] [--sample-duckdb 200] [--sample-bigquery 20]
                                  [--api-endpoint URL --storage-endpoint HOST:PORT --project P]

For each size N a fresh warehouse gets N synthetic players with a feature row on the benchmark date,
30 played games each in the 90 days before it (box scores, no feature rows: the history query's
context join then finds nothing, which does not change how much it scans) and prop lines for half of
them, all written through the Warehouse interface. Then, on the same warehouse:

- batch: `warehouse.load_date(date)`, what the backfill does (player list, then features, history and
  lines for every player in a few chunked, concurrent queries). Best of `--repeat` runs.
- per player: the first system's N+1 pattern, `date_players(date)` once, then
  `load_players(date, [player])` for each player. On large N (more players than `--sample-*`) the
  per-player time is measured on an evenly spaced sample and multiplied by N; the JSON says so
  (`per_player.extrapolated`, `per_player.measured_players`).

`ratio` = per-player seconds / batch seconds; `linearity` = batch seconds per player at the largest
size / at the smallest (≤ 1 means batch time grows at most linearly). Targets (DESIGN.md): ratio ≥ 25
at 360 players; 360 players in well under 10 s on the emulator.

BigQuery runs against the `local-bigquery` emulator: started here from its virtualenv
(`.ci/install-bigquery-emulator`; `NBA_RAY_EMULATOR_VENV` overrides the path) unless `--api-endpoint`
points at one already running. The emulator is much slower per query than DuckDB (and than BigQuery's
throughput, though not its latency), so its absolute figures are not BigQuery's; the ratio is the point.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from nba_ray.config import BatchingSettings, WarehouseSettings
from nba_ray.features.contract import FEATURE_DEFAULTS, FEATURE_VERSION, ZONE_CONTEXT_COLUMNS
from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.schemas import ML_FEATURE_STORE, PLAYER_GAME_SUMMARY, PROP_LINES, STAT_COLUMNS

REPO = Path(__file__).resolve().parents[1]
SIZES = (118, 360, 1000, 5000)
GAME_DATE = date(2024, 2, 1)
HISTORY_GAMES = 30
HISTORY_EVERY_DAYS = 3  # 30 games over 87 days: all inside the loader's 90-day window
PLAYERS_PER_GAME = 20
TARGET_RATIO_AT_360 = 25.0
TARGET_BIGQUERY_SECONDS_AT_360 = 10.0

warnings.filterwarnings(
    "ignore", category=PendingDeprecationWarning
)  # google-cloud-bigquery's pandas-gbq hint


# ---- synthetic data ------------------------------------------------------------------------------------


def players_for(size: int) -> list[str]:
    return [f"benchplayer{i:05d}" for i in range(size)]


def feature_rows(players: list[str], rng: np.random.Generator) -> pa.Table:
    base: dict[str, Any] = {**FEATURE_DEFAULTS, **dict.fromkeys(ZONE_CONTEXT_COLUMNS, 0.0)}
    columns: dict[str, Any] = {
        "game_date": [GAME_DATE] * len(players),
        "player_lookup": players,
        "feature_version": [FEATURE_VERSION] * len(players),
        "season": ["2023-24"] * len(players),
        "game_id": [f"G{GAME_DATE:%Y%m%d}-{i // PLAYERS_PER_GAME}" for i in range(len(players))],
        "player_id": [f"id-{p}" for p in players],
        "team_abbr": ["BOS"] * len(players),
        "opponent_team_abbr": ["NYK"] * len(players),
        "feature_quality_score": [90.0] * len(players),
        "games_in_history": [HISTORY_GAMES] * len(players),
        "data_source": ["current_season"] * len(players),
    }
    for name, value in base.items():
        columns[name] = np.full(len(players), float(value))
    columns["points_avg_last_5"] = rng.uniform(2, 30, len(players))
    return pa.Table.from_pydict(
        {n: columns[n] for n in ML_FEATURE_STORE.schema.names}, ML_FEATURE_STORE.schema
    )


def box_score_rows(players: list[str], rng: np.random.Generator) -> pa.Table:
    """HISTORY_GAMES played games per player before GAME_DATE; a game's id covers PLAYERS_PER_GAME players."""
    count = len(players) * HISTORY_GAMES
    dates = [GAME_DATE - timedelta(days=HISTORY_EVERY_DAYS * (g + 1)) for g in range(HISTORY_GAMES)]
    game_dates = [d for d in dates for _ in players]
    index = np.tile(np.arange(len(players)), HISTORY_GAMES)
    points = rng.integers(0, 40, count)
    columns: dict[str, Any] = {
        "season": ["2023-24"] * count,
        "game_id": [f"B{d:%Y%m%d}-{i // PLAYERS_PER_GAME}" for d, i in zip(game_dates, index, strict=True)],
        "game_date": game_dates,
        "team_abbr": ["BOS"] * count,
        "opponent_team_abbr": ["NYK"] * count,
        "is_home": (index % 2 == 0).tolist(),
        "player_id": [f"id-{players[i]}" for i in index],
        "player_name": [players[i] for i in index],
        "player_lookup": [players[i] for i in index],
        "starter": (index % 5 == 0).tolist(),
        "minutes_played": rng.uniform(5, 40, count),
        "dnp": [False] * count,
        "dnp_reason": [None] * count,
    }
    for name in STAT_COLUMNS:
        columns[name] = points if name == "points" else rng.integers(0, 10, count)
    return pa.Table.from_pydict(
        {n: columns[n] for n in PLAYER_GAME_SUMMARY.schema.names}, PLAYER_GAME_SUMMARY.schema
    )


def line_rows(players: list[str], rng: np.random.Generator) -> pa.Table:
    """Two bookmakers × two snapshots for every other player."""
    rows = [
        {
            "game_date": GAME_DATE,
            "player_lookup": player,
            "bookmaker": book,
            "snapshot_ts": datetime(2024, 2, 1, hour, tzinfo=UTC),
            "points_line": float(rng.integers(5, 30)) + 0.5,
            "over_price": -110,
            "under_price": -110,
        }
        for player in players[::2]
        for book in ("draftkings", "fanduel")
        for hour in (12, 18)
    ]
    return pa.Table.from_pylist(rows, schema=PROP_LINES.schema)


def seed(warehouse: Warehouse, size: int) -> dict[str, int]:
    rng = np.random.default_rng(size)
    players = players_for(size)
    features, box, lines = feature_rows(players, rng), box_score_rows(players, rng), line_rows(players, rng)
    warehouse.replace_features(features, GAME_DATE, GAME_DATE)
    warehouse.replace_box_scores(box)
    warehouse.replace_prop_lines(lines)
    return {"feature_rows": features.num_rows, "box_score_rows": box.num_rows, "line_rows": lines.num_rows}


# ---- timing ---------------------------------------------------------------------------------------------


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def measure(warehouse: Warehouse, size: int, repeat: int, sample: int) -> dict[str, Any]:
    seed_seconds, rows = timed(lambda: seed(warehouse, size))
    warehouse.load_date(GAME_DATE)  # warm-up: connections, caches, the emulator's first plan
    runs = []
    for _ in range(repeat):
        seconds, batch = timed(lambda: warehouse.load_date(GAME_DATE))
        assert batch.num_players == size and batch.history.num_rows == size * HISTORY_GAMES, "bad batch"
        runs.append(seconds)
    batch_seconds = min(runs)

    list_seconds, players = timed(lambda: warehouse.date_players(GAME_DATE))
    measured = (
        players if size <= sample else [players[i] for i in np.linspace(0, size - 1, sample, dtype=int)]
    )
    per_call = []
    for player in measured:
        seconds, one = timed(lambda p=player: warehouse.load_players(GAME_DATE, [p]))
        assert one.num_players == 1 and one.history.num_rows == HISTORY_GAMES, "bad per-player batch"
        per_call.append(seconds)
    per_player_seconds = list_seconds + statistics.fmean(per_call) * size
    return {
        "players": size,
        "rows": rows,
        "seed_seconds": round(seed_seconds, 3),
        "batch": {"seconds": round(batch_seconds, 4), "runs": [round(r, 4) for r in runs]},
        "per_player": {
            "seconds": round(per_player_seconds, 3),
            "seconds_per_player": round(statistics.fmean(per_call), 5),
            "player_list_seconds": round(list_seconds, 4),
            "measured_players": len(measured),
            "extrapolated": len(measured) < size,
        },
        "ratio": round(per_player_seconds / batch_seconds, 1),
        "batch_seconds_per_player": batch_seconds / size,
    }


def run_backend(
    open_warehouse: Callable[[int], Warehouse], sizes: list[int], repeat: int, sample: int
) -> dict:
    results = []
    for size in sizes:
        warehouse = open_warehouse(size)
        try:
            results.append(measure(warehouse, size, repeat, sample))
        finally:
            warehouse.close()
        print(
            f"  {size} players: {json.dumps(results[-1]['batch'])} ratio {results[-1]['ratio']}",
            file=sys.stderr,
        )
    first, last = results[0], results[-1]
    summary: dict[str, Any] = {
        "sizes": {
            str(r["players"]): {k: v for k, v in r.items() if k != "batch_seconds_per_player"}
            for r in results
        },
        "linearity": round(last["batch_seconds_per_player"] / first["batch_seconds_per_player"], 3),
        "linearity_between": [first["players"], last["players"]],
    }
    at_360 = next((r for r in results if r["players"] == 360), None)
    if at_360:
        summary["ratio_at_360"] = at_360["ratio"]
        summary["batch_seconds_at_360"] = at_360["batch"]["seconds"]
        summary["meets_ratio_target"] = at_360["ratio"] >= TARGET_RATIO_AT_360
    return summary


# ---- backends ----------------------------------------------------------------------------------------------


def duckdb_opener(workdir: Path, batching: BatchingSettings) -> Callable[[int], Warehouse]:
    from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

    return lambda size: DuckDBWarehouse(workdir / f"bench-{size}.duckdb", batching)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def local_emulator(workdir: Path, project: str) -> Iterator[tuple[str, str]]:
    """`local-bigquery serve` on free loopback ports until the block ends: (REST URL, gRPC host:port)."""
    venv = Path(os.environ.get("NBA_RAY_EMULATOR_VENV") or REPO / ".emulator" / "venv")
    executable = venv / "bin" / "local-bigquery"
    if not os.access(executable, os.X_OK):
        raise SystemExit(
            f"no emulator at {executable}: run .ci/install-bigquery-emulator or pass --api-endpoint"
        )
    port, grpc_port = _free_ports(2)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    command = [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--grpc-port", str(grpc_port), "--project", project, "--data-dir", str(workdir / "bq")]
    with open(workdir / "emulator.log", "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        probe = f"http://127.0.0.1:{port}/bigquery/v2/projects/{project}/datasets"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"emulator exited with {process.returncode}; see {workdir / 'emulator.log'}")
            try:
                with (
                    urllib.request.urlopen(probe, timeout=2),
                    socket.create_connection(("127.0.0.1", grpc_port), 1),
                ):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("emulator did not start within 60 s") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", f"127.0.0.1:{grpc_port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def bigquery_opener(
    api_endpoint: str, storage_endpoint: str | None, project: str, batching: BatchingSettings
) -> Callable[[int], Warehouse]:
    from nba_ray.warehouse.bigquery_backend import BigQueryWarehouse

    def open_one(size: int) -> Warehouse:
        settings = WarehouseSettings(
            kind="bigquery",
            project=project,
            dataset=f"bench_{size}_{uuid.uuid4().hex[:8]}",
            api_endpoint=api_endpoint,
            storage_endpoint=storage_endpoint,
        )
        return BigQueryWarehouse(settings, batching)

    return open_one


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("duckdb", "bigquery", "both"), default="both")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample-duckdb", type=int, default=360, help="players timed one by one on DuckDB")
    parser.add_argument(
        "--sample-bigquery", type=int, default=20, help="players timed one by one on BigQuery"
    )
    parser.add_argument("--api-endpoint", help="a running emulator's REST URL (default: start one)")
    parser.add_argument("--storage-endpoint", help="its Storage Read gRPC host:port")
    parser.add_argument("--project", default="bench-proj")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    batching = BatchingSettings()  # production defaults: 250-player chunks, 4 at a time, 30 s timeout
    workdir = Path(tempfile.mkdtemp(prefix="nba-ray-bench-"))
    report: dict[str, Any] = {
        "benchmark": "batch load_date vs per-player load_players (N+1)",
        "game_date": GAME_DATE.isoformat(),
        "history_games_per_player": HISTORY_GAMES,
        "batching": batching.model_dump(),
        "repeat": args.repeat,
        "batch_seconds": "best of repeat runs, after one warm-up",
        "per_player_seconds": "date_players once + N × mean load_players([p]); extrapolated from a sample "
        "of evenly spaced players when N exceeds the sample size",
        "targets": {
            "ratio_at_360": TARGET_RATIO_AT_360,
            "bigquery_seconds_at_360": TARGET_BIGQUERY_SECONDS_AT_360,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "backends": {},
    }
    try:
        if args.backend in ("duckdb", "both"):
            print("duckdb:", file=sys.stderr)
            opener = duckdb_opener(workdir, batching)
            report["backends"]["duckdb"] = run_backend(opener, sizes, args.repeat, args.sample_duckdb)
        if args.backend in ("bigquery", "both"):
            print("bigquery (emulator):", file=sys.stderr)
            if args.api_endpoint:
                opener = bigquery_opener(args.api_endpoint, args.storage_endpoint, args.project, batching)
                report["backends"]["bigquery"] = run_backend(opener, sizes, args.repeat, args.sample_bigquery)
            else:
                with local_emulator(workdir, args.project) as (rest, grpc_endpoint):
                    opener = bigquery_opener(rest, grpc_endpoint, args.project, batching)
                    report["backends"]["bigquery"] = run_backend(
                        opener, sizes, args.repeat, args.sample_bigquery
                    )
            bigquery = report["backends"]["bigquery"]
            if "batch_seconds_at_360" in bigquery:
                bigquery["meets_seconds_target"] = (
                    bigquery["batch_seconds_at_360"] < TARGET_BIGQUERY_SECONDS_AT_360
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

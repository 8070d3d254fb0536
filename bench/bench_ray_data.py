"""The honest peer: the same backfill written the way a Ray user would write it first, with Ray Data.

    python bench/bench_ray_data.py --warehouse PATH [--rounds 2]

`PATH` is a warehouse with features and the season's registered model (what `nba-ray import`,
`nba-ray features` and one `nba-ray backfill` leave, e.g. the real 2022-23 season). Both versions run
over every game date of 2022-23, in turn, on copies of it:

- nba-ray:  `run_backfill` (blocks, the actor pool, the writer thread), Ray started once beforehand;
- Ray Data: game dates → `map_batches` load (one date per batch, a read-only connection per loader
            actor) → `map_batches` with an actor pool holding the five systems → the driver writes
            each group of finished dates (predictions, then their checkpoints) to a DuckDB file of its
            own (DuckDB lets no process write a file others hold open).

Prints one JSON object: each version's seconds (median of the rounds), the ratio (target: nba-ray
≥ 1.5× faster) and the checksums of both prediction tables, which must be equal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray

from nba_ray.backfill.checkpoints import DONE, Checkpoints, DateOutcome
from nba_ray.backfill.driver import connect_ray, run_backfill
from nba_ray.config import BatchingSettings, ModelSettings, RaySettings, Settings, WarehouseSettings
from nba_ray.models import registry
from nba_ray.models.policy import plan_models
from nba_ray.models.registry import StoredModel
from nba_ray.systems.runner import Predictor
from nba_ray.systems.settings import SystemsSettings
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

SEASON = (date(2022, 10, 1), date(2023, 6, 30))
# Finished dates the peer's driver writes at once (nba-ray's default in-flight window is 3 blocks).
WRITE_GROUP_DATES = 8


def settings_for(path: Path) -> Settings:
    return Settings(
        warehouse=WarehouseSettings(path=path),
        model=ModelSettings(),
        ray=RaySettings(),
        batching=BatchingSettings(),
    )


class LoadDate:
    """A loader actor: a read-only connection, one date's tables per call, as Arrow IPC bytes."""

    def __init__(self, path: str) -> None:
        self.warehouse = DuckDBWarehouse(path, read_only=True)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"game_date": [], "features": [], "history": [], "lines": []}
        for game_date in batch["game_date"]:
            loaded = self.warehouse.load_date(game_date)
            if loaded.num_players == 0:
                continue
            out["game_date"].append(game_date)
            for name in ("features", "history", "lines"):
                out[name].append(_to_bytes(getattr(loaded, name)))
        return out


class PredictDate:
    """A predictor actor holding the five systems; one date's predictions per call."""

    def __init__(
        self, systems: SystemsSettings, models: dict[str, StoredModel], versions: dict[date, str]
    ) -> None:
        self.predictor = Predictor(systems, [model.build() for model in models.values()])
        self.versions = versions

    def __call__(self, batch: dict[str, Any]) -> pa.Table:
        tables = []
        for i, game_date in enumerate(batch["game_date"]):
            features = _from_bytes(batch["features"][i])
            result = self.predictor.predict(
                game_date,
                features,
                _from_bytes(batch["history"][i]),
                _from_bytes(batch["lines"][i]),
                features.column("player_lookup").to_pylist(),
                "ray-data",
                datetime.now(UTC),
                self.versions.get(game_date),
            )
            tables.append(result.predictions)
        return pa.concat_tables(tables)


def _to_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_bytes(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def ray_data_backfill(source: Path, output: Path, settings: Settings, actors: int) -> float:
    started = time.perf_counter()
    with DuckDBWarehouse(source, read_only=True) as warehouse:
        game_days = warehouse.game_dates(*SEASON)
        plan = plan_models(warehouse, settings, game_days)
        models = registry.fetch(warehouse, plan.model_versions)
    dates = ray.data.from_items([{"game_date": d} for d in game_days])
    loaded = dates.map_batches(LoadDate, fn_constructor_args=(str(source),), batch_size=1, concurrency=actors)
    predicted = loaded.map_batches(
        PredictDate,
        fn_constructor_args=(settings.systems, models, plan.versions),
        batch_size=1,
        concurrency=actors,
        batch_format="pyarrow",
    )
    systems = list(settings.systems.enabled_in_order)
    with DuckDBWarehouse(output) as target:
        checkpoints = Checkpoints(target, "ray-data", "ray-data", {}, {})
        group: list[pa.Table] = []
        for batch in predicted.iter_batches(batch_size=None, batch_format="pyarrow"):
            group.append(batch)
            if len(group) == WRITE_GROUP_DATES:
                _write(target, checkpoints, group, systems)
                group = []
        if group:
            _write(target, checkpoints, group, systems)
    return time.perf_counter() - started


def _write(
    target: DuckDBWarehouse, checkpoints: Checkpoints, group: list[pa.Table], systems: list[str]
) -> None:
    rows = pa.concat_tables(group)
    dates = sorted(set(rows.column("game_date").to_pylist()))
    target.write_predictions(rows, dates, systems)
    checkpoints.mark([DateOutcome(d, DONE) for d in dates])


def nba_ray_backfill(path: Path) -> float:
    settings = settings_for(path)
    start, end = SEASON
    days = [date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)]
    started = time.perf_counter()
    with DuckDBWarehouse(path, settings.batching) as warehouse:
        run_backfill(settings, warehouse, days, resume=False)
    return time.perf_counter() - started


def checksum(path: Path) -> dict[str, Any]:
    with DuckDBWarehouse(path, read_only=True) as warehouse:
        table = warehouse.read_predictions(*SEASON)
    kept = table.drop_columns(["run_id", "created_at"])
    kept = kept.sort_by([(c, "ascending") for c in ("game_date", "player_lookup", "system_id")])
    digest = hashlib.sha256(json.dumps(kept.to_pydict(), default=str).encode())
    return {"rows": kept.num_rows, "sha256": digest.hexdigest()[:16]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    connect_ray(RaySettings())
    actors = max(1, int(ray.cluster_resources().get("CPU", 1)))
    seconds: dict[str, list[float]] = {"nba_ray": [], "ray_data": []}
    with tempfile.TemporaryDirectory(prefix="nba-ray-peer-") as tmp:
        ours, peer_out = Path(tmp) / "ours.duckdb", Path(tmp) / "peer-out.duckdb"
        shutil.copy(args.warehouse, ours)
        for _ in range(args.rounds):  # in turn, so drift in the machine's speed hits both
            seconds["nba_ray"].append(nba_ray_backfill(ours))
            peer_out.unlink(missing_ok=True)
            seconds["ray_data"].append(ray_data_backfill(ours, peer_out, settings_for(ours), actors))
        sums = {"nba_ray": checksum(ours), "ray_data": checksum(peer_out)}
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    json.dump(
        {
            "rounds": args.rounds,
            "seconds": {name: [round(x, 2) for x in values] for name, values in seconds.items()},
            "median_seconds": {name: round(value, 2) for name, value in medians.items()},
            "ray_data_over_nba_ray": round(medians["ray_data"] / medians["nba_ray"], 3),
            "target": "nba-ray at least 1.5x faster",
            "checksums": sums,
            "identical_predictions": sums["nba_ray"] == sums["ray_data"],
        },
        sys.stdout,
        indent=2,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

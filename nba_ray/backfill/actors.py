"""The predictor actors: the five systems built once per actor, fed a date's tables by reference.

The driver puts each of a date's Arrow tables in the object store once and passes the ObjectRefs to
every chunk call; Ray hands the actor zero-copy views of those tables, so the tables are never
serialised per call. Actors are restarted by Ray when they die and their in-flight chunk is retried
(`max_restarts`, `max_task_retries`); predictions are deterministic, so a retry changes nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray

from nba_ray.config import RaySettings
from nba_ray.systems.runner import SKIPS_SCHEMA, ChunkResult, Predictor
from nba_ray.systems.settings import SystemsSettings
from nba_ray.warehouse.schemas import PLAYER_PROP_PREDICTIONS

log = logging.getLogger(__name__)


class PredictorWorker:
    """What runs inside each actor (a plain class, so tests can wrap it to inject faults)."""

    def __init__(self, systems: SystemsSettings, model_path: str | None) -> None:
        self.predictor = Predictor(systems, model_path)

    def predict(
        self,
        game_date: date,
        features: pa.Table,
        history: pa.Table,
        lines: pa.Table,
        players: Sequence[str],
        run_id: str,
        created_at: datetime,
    ) -> ChunkResult:
        return self.predictor.predict(game_date, features, history, lines, players, run_id, created_at)

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()


class PredictorPool:
    """A pool of predictor actors sized to the cluster, growing as nodes join (never shrinking mid-run)."""

    def __init__(
        self,
        ray_settings: RaySettings,
        systems: SystemsSettings,
        model_path: Path | None,
        worker_class: type[PredictorWorker] = PredictorWorker,
    ) -> None:
        self.settings = ray_settings
        self._make_actor = ray.remote(worker_class).options(  # type: ignore[attr-defined]
            num_cpus=ray_settings.cpus_per_actor,
            max_restarts=ray_settings.actor_max_restarts,
            max_task_retries=ray_settings.actor_max_task_retries,
        )
        self._args: tuple[Any, ...] = (systems, str(model_path) if model_path else None)
        self.actors: list[Any] = []
        self.resize()

    def target_size(self) -> int:
        if self.settings.num_actors is not None:
            return self.settings.num_actors
        cpus = ray.cluster_resources().get("CPU", 1.0)
        return max(1, min(self.settings.max_actors, math.floor(cpus / self.settings.cpus_per_actor)))

    def resize(self) -> int:
        """Add actors up to the cluster's current capacity; returns the pool size."""
        target = self.target_size()
        while len(self.actors) < target:
            self.actors.append(self._make_actor.remote(*self._args))
        if len(self.actors) == target:
            log.debug("predictor pool: %d actors", target)
        return len(self.actors)

    def predict_date(
        self,
        game_date: date,
        refs: Sequence[ray.ObjectRef],
        players: Sequence[str],
        run_id: str,
        created_at: datetime,
    ) -> ChunkResult:
        """Split the date's players into a few chunks per actor, run them in parallel, gather Arrow."""
        if not players:
            return ChunkResult(PLAYER_PROP_PREDICTIONS.schema.empty_table(), SKIPS_SCHEMA.empty_table())
        self.resize()
        chunk_count = min(len(players), len(self.actors) * self.settings.chunks_per_actor)
        size = math.ceil(len(players) / chunk_count)
        chunks = [players[i : i + size] for i in range(0, len(players), size)]
        pending = [
            self.actors[i % len(self.actors)].predict.remote(game_date, *refs, chunk, run_id, created_at)
            for i, chunk in enumerate(chunks)
        ]
        results: list[ChunkResult] = ray.get(pending)
        return ChunkResult(
            pa.concat_tables([r.predictions for r in results]), pa.concat_tables([r.skips for r in results])
        )

    def nodes(self) -> set[str]:
        """The node ids the actors run on (for placement checks)."""
        return set(ray.get([actor.node_id.remote() for actor in self.actors]))

"""The predictor actors, and the pool that feeds them player chunks on a cluster that changes under it.

Each actor builds the five systems once. The driver puts each of a block's Arrow tables (a block of
consecutive dates) in the object store once and passes the ObjectRefs to every chunk call; Ray hands
the actor zero-copy views of those tables, so the tables are never serialised per call. A chunk is a
run of the block's rows across its dates: one call predicts many small dates.

The pool is elastic, and assumes nodes come and go:

- **Size.** On creation, on a cluster with an autoscaler, it asks for room for the actors a catch-up
  run wants (`ray.num_actors`, else `ray.max_actors`), and before every block it grows to what the
  cluster holds now (one actor per `cpus_per_actor` CPUs, at most `max_actors`). An actor is sent
  work only once it has answered a readiness probe, so while nodes boot the pool keeps working with
  the actors it has.
  `close()` withdraws the request so that the autoscaler can scale the cluster back.
- **Failure.** Ray restarts a dead actor where there is room (`actor_max_restarts`) and retries its
  call (`actor_max_task_retries`). When there is no room that call would wait forever, so the pool
  watches for trouble — a call failing with an actor error, an actor's node leaving the cluster, or a
  date finishing no chunk for `ray.stall_seconds` — and then stops sending work to that actor (it becomes
  a *suspect*) and sends its unfinished chunks again to an actor that answers. Predictions are
  deterministic, so the first copy of a chunk to finish is used and a late duplicate changes nothing.
  A suspect gets work again once it answers a fresh probe; one whose probe fails is dead for good
  (restarts used up) and leaves the pool; one that the shrunken cluster cannot hold is killed. A
  chunk that has lost `MAX_SENDS_PER_CHUNK` actors fails its date, which a resume retries, and so
  do dates after `MAX_START_FAILURES` actors in a row failed to start (say, a model that does not
  load): the run never waits on a cause that will not pass.
- **Threads.** The driver predicts several dates at once from different threads. The pool's
  membership is guarded by one lock; everything else `predict_date` touches is local to the call.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any

import pyarrow as pa
import ray
from ray.exceptions import RayActorError

from nba_ray.backfill.scaling import CapacityRequest, alive_node_ids
from nba_ray.config import RaySettings
from nba_ray.models.registry import ModelBundle
from nba_ray.systems.runner import ChunkResult, Predictor, of_date
from nba_ray.systems.settings import SystemsSettings

log = logging.getLogger(__name__)

# A chunk sent this many times without a result fails its date (a chunk that kills every actor it
# lands on must not take the whole cluster down with it).
MAX_SENDS_PER_CHUNK = 4
# This many actors failing to start in a row (none starting in between) means the cause is not
# passing — a model that does not load, a class that does not import — and the dates fail with it.
MAX_START_FAILURES = 3
# How often a waiting date looks at the cluster (probes, node table) when nothing has finished.
POLL_SECONDS = 1.0


class PredictorWorker:
    """What runs inside each actor (a plain class, so tests can wrap it to inject faults).

    `models` (the registry rows the run needs, put in the object store once by the driver) come with
    every call, not with the constructor: Ray does not keep object-store constructor arguments for actor
    restarts (ray-project/ray#53727), so a restarted actor rebuilds them on its next call. An actor on
    any node builds every model it serves without a shared filesystem or a model path: each model's
    bytes are checked against their sha256 and the feature contract here, on the actor."""

    def __init__(self, systems: SystemsSettings) -> None:
        self.systems = systems
        self._predictor: Predictor | None = None

    def predictor(self, models: ModelBundle | None) -> Predictor:
        """The systems, built on the first call (one pool serves one bundle for its whole life)."""
        if self._predictor is None:
            self._predictor = Predictor(self.systems, list(models.artifacts().values()) if models else [])
        return self._predictor

    def predict(
        self,
        game_date: date,
        features: pa.Table,
        history: pa.Table,
        lines: pa.Table,
        players: Sequence[str],
        run_id: str,
        created_at: datetime,
        model_version: str | None,
        models: ModelBundle | None,
    ) -> ChunkResult:
        return self.predictor(models).predict(
            game_date, features, history, lines, players, run_id, created_at, model_version
        )

    def predict_block(
        self,
        features: pa.Table,
        history: pa.Table,
        lines: pa.Table,
        chunk: Sequence[tuple[date, Sequence[str]]],
        run_id: str,
        created_at: datetime,
        model_versions: Mapping[date, str],
        models: ModelBundle | None,
    ) -> dict[date, ChunkResult]:
        """A chunk of a block: (date, players) pairs over the block's tables, in one call."""
        results: dict[date, ChunkResult] = {}
        for game_date, players in chunk:
            day = of_date(features, history, lines, game_date)
            results[game_date] = self.predict(
                game_date,
                day.features,
                day.history,
                day.lines,
                players,
                run_id,
                created_at,
                model_versions.get(game_date),
                models,
            )
        return results

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()


class PredictorUnavailable(RuntimeError):
    """No actor could finish a chunk in time: the date fails (with this message) and a resume retries it."""


@dataclass(eq=False)
class _Member:
    """One actor of the pool. While `probe` (a `node_id()` call) is unanswered the actor gets no work:
    it is starting, restarting, or suspected of being gone. Its answer says which node it is on."""

    actor: Any
    probe: ray.ObjectRef | None
    node_id: str | None = None

    @property
    def ready(self) -> bool:
        return self.probe is None


class PredictorPool:
    """Predictor actors sized to the cluster, growing as nodes join, surviving actors and nodes dying.
    See the module docstring for the rules; `predict_date` is the only call the driver needs."""

    def __init__(
        self,
        ray_settings: RaySettings,
        systems: SystemsSettings,
        models: ModelBundle | None,
        model_versions: Mapping[date, str] | None = None,
        worker_class: type[PredictorWorker] = PredictorWorker,
        *,
        ask_autoscaler: bool,
    ) -> None:
        """`models` are the `xgboost_v1` models every actor preloads; `model_versions` says which
        predicts each date (see `nba_ray.models.policy`)."""
        self.settings = ray_settings
        self._make_actor = ray.remote(worker_class).options(  # type: ignore[attr-defined]
            num_cpus=ray_settings.cpus_per_actor,
            max_restarts=ray_settings.actor_max_restarts,
            max_task_retries=ray_settings.actor_max_task_retries,
        )
        self._systems = systems
        self._models = models
        self._model_versions = dict(model_versions or {})
        self._lock = threading.Lock()
        self._members: list[_Member] = []
        self._turn = itertools.count()  # round-robin over ready actors, shared by all dates
        self._start_failures: list[RayActorError] = []  # since an actor last started
        self.capacity = CapacityRequest(self.wanted_size(), ray_settings.cpus_per_actor)
        if ask_autoscaler:
            self.capacity.submit()
        # Withdraw the request even if no one calls close(): when the pool is collected, or at exit.
        self._withdraw_at_end = weakref.finalize(self, self.capacity.withdraw)
        self.resize()

    # -- size ---------------------------------------------------------------------------------------

    def wanted_size(self) -> int:
        """How many actors a catch-up run asks the autoscaler room for."""
        return self.settings.num_actors or self.settings.max_actors

    def target_size(self) -> int:
        """How many actors the cluster holds now (`num_actors` when it is set)."""
        if self.settings.num_actors is not None:
            return self.settings.num_actors
        cpus = ray.cluster_resources().get("CPU", 0.0)
        return max(1, min(self.settings.max_actors, math.floor(cpus / self.settings.cpus_per_actor)))

    def resize(self) -> int:
        """Bring the pool to the cluster's current capacity; returns the pool size.

        Answered probes are taken in first (dead actors leave). The pool grows to `target_size()`;
        if the cluster shrank below the pool, only actors that are not answering are killed — an actor
        that works is never taken away mid-run."""
        self._take_answers()
        target = self.target_size()
        with self._lock:
            surplus = len(self._members) - target
            for member in [m for m in self._members if not m.ready][: max(0, surplus)]:
                self._members.remove(member)
                ray.kill(member.actor, no_restart=True)
                log.warning("predictor actor not answering and no room for it: killed")
            while len(self._members) < target:
                actor = self._make_actor.remote(self._systems)
                self._members.append(_Member(actor, probe=actor.node_id.remote()))
            return len(self._members)

    def nodes(self) -> set[str]:
        """The node ids the ready actors run on, as their probes reported (for placement checks)."""
        self._take_answers()
        with self._lock:
            return {m.node_id for m in self._members if m.ready and m.node_id is not None}

    def close(self) -> None:
        """End of run: withdraw the autoscaler request, so that idle workers can be scaled away, and
        release the actors' CPUs now rather than whenever the pool is garbage-collected (the next run,
        or another job, may be waiting for them). Without a call both happen when the pool is
        collected."""
        self._withdraw_at_end()
        with self._lock:
            members, self._members = self._members, []
        for member in members:
            ray.kill(member.actor, no_restart=True)

    def __enter__(self) -> PredictorPool:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # -- predicting ---------------------------------------------------------------------------------

    def predict_block(
        self,
        refs: Sequence[ray.ObjectRef],
        players: Mapping[date, Sequence[str]],
        run_id: str,
        created_at: datetime,
    ) -> dict[date, ChunkResult]:
        """Split a block's rows (its dates' players, in order) into a few chunks per actor, run them in
        parallel, gather Arrow per date. `refs` are the block's tables in the object store.

        Each chunk goes to a ready actor; a chunk whose actor falls into trouble is sent again to
        another one, and the first result for each chunk is kept."""
        rows = sum(len(p) for p in players.values())
        if not rows:
            return {}
        size = self.resize()
        by_size = max(1, rows // self.settings.min_players_per_chunk)
        chunks = _chunks(players, math.ceil(rows / min(size * self.settings.chunks_per_actor, by_size)))
        versions = {d: v for d, v in self._model_versions.items() if d in players}
        results: dict[int, dict[date, ChunkResult]] = {}
        calls: dict[ray.ObjectRef, tuple[int, _Member]] = {}
        sends: Counter[int] = Counter()

        def send(index: int) -> None:
            if sends[index] == MAX_SENDS_PER_CHUNK:
                rows = sum(len(p) for _, p in chunks[index])
                raise PredictorUnavailable(
                    f"a chunk of {rows} players lost {sends[index]} actors without a result"
                )
            member = self._next_ready()
            ref = member.actor.predict_block.remote(
                *refs, chunks[index], run_id, created_at, versions, self._models
            )
            calls[ref] = (index, member)
            sends[index] += 1

        for index in range(len(chunks)):
            send(index)
        last_progress = time.monotonic()
        while len(results) < len(chunks):
            finished, _ = ray.wait(list(calls), num_returns=1, timeout=POLL_SECONDS)
            for ref in finished:
                index, member = calls.pop(ref)
                try:
                    results.setdefault(index, ray.get(ref))
                    last_progress = time.monotonic()
                except RayActorError:
                    self._suspect(member, "lost a call")
            if not finished:  # a quiet second: look at the cluster
                self._take_answers()
                self._suspect_actors_on_lost_nodes()
                if time.monotonic() - last_progress > self.settings.stall_seconds:
                    for index, member in calls.values():
                        if index not in results:
                            self._suspect(
                                member, f"finished nothing of the block from {min(players)} in time"
                            )
                    last_progress = time.monotonic()
            for index in _stranded(len(chunks), calls, results):
                send(index)
        parts = [part for i in range(len(chunks)) for part in results[i].items()]
        return {
            game_date: ChunkResult(
                pa.concat_tables([r.predictions for d, r in parts if d == game_date]),
                pa.concat_tables([r.skips for d, r in parts if d == game_date]),
            )
            for game_date in players
            if players[game_date]
        }

    # -- membership ---------------------------------------------------------------------------------

    def _next_ready(self) -> _Member:
        """A ready actor, round-robin. While none is ready (nodes still booting, or every actor in
        trouble) wait for a probe to answer, re-sizing as nodes join, up to
        `ray.actor_start_timeout_seconds`."""
        started = time.monotonic()
        warned = False
        while True:
            with self._lock:
                ready = [m for m in self._members if m.ready]
                if ready:
                    return ready[next(self._turn) % len(ready)]
                probes = [m.probe for m in self._members if m.probe is not None]
                failures = list(self._start_failures)
            if len(failures) >= MAX_START_FAILURES:
                raise PredictorUnavailable(
                    f"{len(failures)} predictor actors in a row failed to start; the last: "
                    f"{_last_line(failures[-1])}"
                ) from failures[-1]
            waited = time.monotonic() - started
            if waited > self.settings.actor_start_timeout_seconds:
                raise PredictorUnavailable(
                    f"no predictor actor answered within {waited:.0f} s: the cluster has "
                    f"no free CPUs for one (asked the autoscaler for room for {self.wanted_size()})"
                )
            if waited > 10 * POLL_SECONDS and not warned:  # starting an actor takes a few seconds
                log.warning("no predictor actor is ready yet: waiting for the cluster to place one")
                warned = True
            if probes:
                ray.wait(probes, num_returns=1, timeout=POLL_SECONDS)
            self.resize()

    def _take_answers(self) -> None:
        """Actors whose probe answered become ready, at the node they reported. A probe that fails means
        the actor is dead for good (its restarts are used up, or its constructor failed): it leaves the
        pool, and `resize()` starts another while the cluster has room."""
        with self._lock:
            waiting = {m.probe: m for m in self._members if m.probe is not None}
        if not waiting:
            return
        answered, _ = ray.wait(list(waiting), num_returns=len(waiting), timeout=0)
        for probe in answered:
            member = waiting[probe]
            try:
                node_id = ray.get(probe)
            except RayActorError as err:
                with self._lock:
                    if member in self._members:
                        self._members.remove(member)
                        log.warning("predictor actor dead for good: removed from the pool")
                        if err.actor_init_failed:
                            self._start_failures.append(err)
                            log.error("a predictor actor failed to start: %s", err)
                continue
            with self._lock:
                if member.probe is probe:
                    member.probe, member.node_id = None, node_id
                    self._start_failures.clear()

    def _suspect(self, member: _Member, why: str) -> None:
        """Send `member` no more work until it answers a fresh probe (queued behind its pending calls)."""
        with self._lock:
            if member.ready and member in self._members:
                member.probe = member.actor.node_id.remote()
                log.warning("predictor actor on node %s %s: its chunks go elsewhere", member.node_id, why)

    def _suspect_actors_on_lost_nodes(self) -> None:
        alive = alive_node_ids()
        with self._lock:
            lost = [m for m in self._members if m.ready and m.node_id not in alive]
        for member in lost:
            self._suspect(member, "lost its node")


def _last_line(error: BaseException) -> str:
    """An actor's creation error ends with the exception raised in its constructor."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _chunks(
    players: Mapping[date, Sequence[str]], rows_per_chunk: int
) -> list[list[tuple[date, Sequence[str]]]]:
    """The block's (date, players) in order, cut into chunks of `rows_per_chunk` rows (a date may be
    cut between two chunks)."""
    chunks: list[list[tuple[date, Sequence[str]]]] = [[]]
    room = rows_per_chunk
    for game_date, names in players.items():
        start = 0
        while start < len(names):
            if room == 0:
                chunks.append([])
                room = rows_per_chunk
            piece = names[start : start + room]
            chunks[-1].append((game_date, piece))
            start += len(piece)
            room -= len(piece)
    return chunks


def _stranded(
    chunk_count: int, calls: dict[ray.ObjectRef, tuple[int, _Member]], results: Mapping[int, object]
) -> list[int]:
    """Chunks without a result and without a call on a ready actor: they must be sent again."""
    covered = {index for index, member in calls.values() if member.ready}
    return [i for i in range(chunk_count) if i not in results and i not in covered]

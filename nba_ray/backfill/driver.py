"""The backfill driver: for each game date, load → put → predict → write → checkpoint.

    for each game date D (a window of dates in flight):
        Warehouse.load_date(D)          a few batch queries, chunked and concurrent     (prefetch threads)
        ray.put(each Arrow table)       once per date
        PredictorPool.predict_date      player chunks over the actor pool, Arrow back
        Warehouse.write_predictions     one bulk load per group of finished dates       (writer thread)
        Checkpoints.mark                per date: status, counts, timings, error

Loads of the next dates run while the actors predict the current ones (several dates' chunks may be
queued on the actors at once, so they never wait for the driver between dates), and finished dates are
written by a writer thread while the next ones predict. Each stage holds at most
`batching.in_flight_dates` dates, so memory stays flat over any range. A date that fails is recorded
as failed with its error and the run goes on; the caller turns failures into a non-zero exit.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import ray

from nba_ray.backfill.actors import PredictorPool, PredictorWorker
from nba_ray.backfill.checkpoints import DONE, FAILED, Checkpoints, DateOutcome, run_key
from nba_ray.backfill.planner import ModelPlan, model_identity, plan_models, provide_models, refuse_missing
from nba_ray.config import RaySettings, Settings
from nba_ray.models import registry
from nba_ray.models.registry import ModelBundle
from nba_ray.systems.runner import ChunkResult
from nba_ray.warehouse import Warehouse, WarehouseError
from nba_ray.warehouse.errors import one_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedDate:
    """A date whose tables are in the object store."""

    game_date: date
    refs: tuple[ray.ObjectRef, ray.ObjectRef, ray.ObjectRef]  # features, history, lines
    players: list[str]
    load_seconds: float


@dataclass(frozen=True)
class PredictedDate:
    game_date: date
    result: ChunkResult
    players: int
    load_seconds: float
    predict_seconds: float


@dataclass
class BackfillReport:
    run_key: str
    run_id: str
    requested_dates: int
    game_dates: list[date]
    already_done: list[date]
    outcomes: list[DateOutcome] = field(default_factory=list)
    dry_run: bool = False
    models: ModelPlan = field(default_factory=ModelPlan)
    wall_seconds: float = 0.0
    ray_start_seconds: float = 0.0

    @property
    def failed(self) -> list[DateOutcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def connect_ray(settings: RaySettings) -> float:
    """Join the configured cluster (or the job's), else start a local Ray; returns the seconds it took."""
    if ray.is_initialized():
        return 0.0
    started = time.perf_counter()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = settings.address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(
            include_dashboard=settings.include_dashboard,
            dashboard_host=settings.dashboard_host,
            log_to_driver=False,
        )
    return time.perf_counter() - started


def plan_backfill(
    warehouse: Warehouse, settings: Settings, dates: Sequence[date], resume: bool
) -> BackfillReport:
    """Which dates are game days, which of them still need work under this run key, and which model
    predicts each of those (`planner.plan_models`: nothing is trained or written here)."""
    requested = sorted(set(dates))
    game_days = warehouse.game_dates(requested[0], requested[-1]) if requested else []
    game_days = [d for d in game_days if d in set(requested)]
    key = run_key(settings.systems, model_identity(settings))
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    checkpoints = Checkpoints(warehouse, key, run_id)
    todo = checkpoints.pending(game_days, resume)
    done = [d for d in game_days if d not in set(todo)]
    models = plan_models(warehouse, settings, todo)
    return BackfillReport(key, run_id, len(requested), todo, done, models=models)


def run_backfill(
    settings: Settings,
    warehouse: Warehouse,
    dates: Sequence[date],
    *,
    resume: bool = True,
    dry_run: bool = False,
    train: bool = True,
    on_date: Callable[[DateOutcome], None] | None = None,
    worker_class: type[PredictorWorker] = PredictorWorker,
) -> BackfillReport:
    """Backfill `dates`; models the range needs and the registry lacks are trained first (on Ray),
    unless `train` is False, which refuses the run (`MissingModels`) instead."""
    started = time.perf_counter()
    report = plan_backfill(warehouse, settings, dates, resume)
    report.dry_run = dry_run
    if not train:
        refuse_missing(report.models)
    if dry_run or not report.game_dates:
        return report
    report.ray_start_seconds = connect_ray(settings.ray)
    models = provide_models(warehouse, settings, report.models)
    bundle = ModelBundle.put(registry.fetch(warehouse, models.model_versions)) if models.versions else None
    with PredictorPool(settings.ray, settings.systems, bundle, models.versions, worker_class) as pool:
        checkpoints = Checkpoints(warehouse, report.run_key, report.run_id)
        pipeline = DatePipeline(warehouse, pool, checkpoints, settings, on_date or (lambda _: None))
        report.outcomes = pipeline.run(report.game_dates)
    report.wall_seconds = time.perf_counter() - started
    return report


class DatePipeline:
    """The per-date flow with prefetching and a writer thread (see the module docstring)."""

    def __init__(
        self,
        warehouse: Warehouse,
        pool: PredictorPool,
        checkpoints: Checkpoints,
        settings: Settings,
        on_date: Callable[[DateOutcome], None],
    ) -> None:
        self.warehouse = warehouse
        self.pool = pool
        self.checkpoints = checkpoints
        self.systems = list(settings.systems.enabled_in_order)
        self.window = settings.batching.in_flight_dates
        self.on_date = on_date

    def run(self, dates: Sequence[date]) -> list[DateOutcome]:
        created_at = datetime.now(UTC)
        writer = DateWriter(self.warehouse, self.checkpoints, self.systems, self.window, self.on_date)
        with (
            writer,
            ThreadPoolExecutor(self.window, thread_name_prefix="prefetch") as loaders,
            ThreadPoolExecutor(self.window, thread_name_prefix="predict") as predictors,
        ):
            predicting: deque[tuple[date, Future[PredictedDate]]] = deque()
            for game_date, loaded in self._prefetched(dates, loaders):
                if isinstance(loaded, BaseException):
                    writer.put_failure(game_date, "load", loaded)
                    continue
                predicting.append((game_date, predictors.submit(self._predict, loaded, created_at)))
                if len(predicting) > self.window:
                    writer.put_predicted(*predicting.popleft())
            while predicting:
                writer.put_predicted(*predicting.popleft())
        return writer.outcomes

    def _prefetched(
        self, dates: Sequence[date], loaders: ThreadPoolExecutor
    ) -> Iterator[tuple[date, LoadedDate | BaseException]]:
        """Dates in order with their loaded tables, keeping up to `window` loads running ahead."""
        in_flight: deque[tuple[date, Future[LoadedDate]]] = deque()
        for game_date in dates:
            in_flight.append((game_date, loaders.submit(self._load, game_date)))
            if len(in_flight) > self.window:
                yield _resolved(*in_flight.popleft())
        while in_flight:
            yield _resolved(*in_flight.popleft())

    def _load(self, game_date: date) -> LoadedDate:
        started = time.perf_counter()
        batch = self.warehouse.load_date(game_date)
        if batch.num_players == 0:
            raise WarehouseError(f"no feature rows for {game_date}: run `nba-ray features` for it")
        refs = (ray.put(batch.features), ray.put(batch.history), ray.put(batch.lines))
        return LoadedDate(game_date, refs, batch.players, time.perf_counter() - started)

    def _predict(self, loaded: LoadedDate, created_at: datetime) -> PredictedDate:
        started = time.perf_counter()
        result = self.pool.predict_date(
            loaded.game_date, loaded.refs, loaded.players, self.checkpoints.run_id, created_at
        )
        return PredictedDate(
            loaded.game_date, result, len(loaded.players), loaded.load_seconds, time.perf_counter() - started
        )


def _resolved(game_date: date, future: Future[LoadedDate]) -> tuple[date, LoadedDate | BaseException]:
    try:
        return game_date, future.result()
    except Exception as err:
        return game_date, err


_STOP = object()


class DateWriter:
    """The writer thread: every finished date queued by the time it is free goes out in one bulk load,
    then the group's checkpoints in one write. The queue is bounded, so predicting can run at most
    `window` dates ahead of writing."""

    def __init__(
        self,
        warehouse: Warehouse,
        checkpoints: Checkpoints,
        systems: Sequence[str],
        window: int,
        on_date: Callable[[DateOutcome], None],
    ) -> None:
        self.warehouse = warehouse
        self.checkpoints = checkpoints
        self.systems = list(systems)
        self.max_group = window
        self.on_date = on_date
        self.outcomes: list[DateOutcome] = []
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=window)
        self._thread = threading.Thread(target=self._loop, name="date-writer", daemon=True)

    def __enter__(self) -> DateWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def put_predicted(self, game_date: date, predicted: Future[PredictedDate]) -> None:
        """Queue a date once its predictions are gathered (an actor lost beyond retries fails the date)."""
        try:
            self._queue.put(predicted.result())
        except Exception as err:
            self.put_failure(game_date, "predict", err)

    def put_failure(self, game_date: date, stage: str, error: BaseException) -> None:
        log.debug("%s: %s failed", game_date, stage, exc_info=error)
        self._queue.put(DateOutcome(game_date, FAILED, error=f"{stage}: {root_cause(error)}"))

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            group = [self._queue.get()]
            while len(group) < self.max_group and not self._queue.empty():
                group.append(self._queue.get())
            stopping = any(item is _STOP for item in group)
            items = [item for item in group if item is not _STOP]
            if items:
                self._write_group(items)

    def _write_group(self, items: list[PredictedDate | DateOutcome]) -> None:
        outcomes = [item for item in items if isinstance(item, DateOutcome)]
        predicted = [item for item in items if isinstance(item, PredictedDate)]
        if predicted:
            outcomes += self._write_predictions(predicted)
        try:
            self.checkpoints.mark(outcomes)
        except Exception as err:  # the rows are written; a resume redoes these dates, replacing them
            log.error("checkpoint write failed for %d date(s): %s", len(outcomes), root_cause(err))
            for outcome in outcomes:
                outcome.status, outcome.error = FAILED, f"checkpoint: {root_cause(err)}"
        for outcome in sorted(outcomes, key=lambda o: o.game_date):
            self.outcomes.append(outcome)
            self.on_date(outcome)

    def _write_predictions(self, predicted: list[PredictedDate]) -> list[DateOutcome]:
        started = time.perf_counter()
        dates = [p.game_date for p in predicted]
        rows = pa.concat_tables([p.result.predictions for p in predicted])
        try:
            self.warehouse.write_predictions(rows, dates, self.systems)
        except Exception as err:
            log.error("write of %d date(s) failed: %s", len(dates), root_cause(err))
            return [DateOutcome(d, FAILED, error=f"write: {root_cause(err)}") for d in dates]
        seconds = (time.perf_counter() - started) / len(predicted)
        return [_outcome(p, seconds) for p in predicted]


def root_cause(error: BaseException) -> str:
    """One line for the root cause (a Ray task error's own text is a whole remote traceback)."""
    return one_line(getattr(error, "cause", None) or error, limit=500)


def _outcome(predicted: PredictedDate, write_seconds: float) -> DateOutcome:
    result = predicted.result
    per_system = Counter(result.predictions.column("system_id").to_pylist())
    reasons = Counter(
        f"{system}:{reason}"
        for system, reason in zip(
            result.skips.column("system_id").to_pylist(),
            result.skips.column("reason").to_pylist(),
            strict=True,
        )
    )
    return DateOutcome(
        predicted.game_date,
        DONE,
        players=predicted.players,
        predictions=result.predictions.num_rows,
        skipped=result.skips.num_rows,
        load_seconds=predicted.load_seconds,
        predict_seconds=predicted.predict_seconds,
        write_seconds=write_seconds,
        per_system=dict(per_system),
        skip_reasons=dict(reasons),
    )

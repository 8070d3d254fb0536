"""The backfill driver: for each block of consecutive game dates, load → put → predict → write.

    for each block B of dates to do (`blocks.py`; a window of blocks in flight):
        Warehouse.load_block(B)         one query per input for the whole block      (prefetch threads)
        ray.put(each Arrow table)       once per block
        PredictorPool.predict_block     chunks of the block's rows over the actor pool, Arrow back
        Warehouse.write_predictions     one atomic replace of the block's predictions
                                        together with its dates' checkpoints         (writer thread)

Loads of the next blocks run while the actors predict the current ones, and finished blocks are
written by a writer thread (`writer.py`) while the next ones predict. Each stage holds at most
`batching.in_flight_dates` blocks, so memory stays flat over any range. Freshness, resume and
exactly-once stay per date: a crash loses at most the blocks in flight, and a resume redoes exactly
their dates. A date that fails is recorded as failed with its error and the run goes on; the caller
turns failures into a non-zero exit. A date whose players have no history yet (the first game dates
of the data) is skipped with that reason.

SIGINT / SIGTERM stop the run at a block boundary (`stopping.py`): no block is started after the
signal, the blocks in flight are finished, and the report says which signal stopped it. A local Ray
the run started is shut down when it ends, however it ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import NoReturn

import ray

from nba_ray.backfill.actors import PredictorPool, PredictorWorker
from nba_ray.backfill.blocks import group_blocks
from nba_ray.backfill.checkpoints import DONE, FAILED, SKIPPED, Checkpoints, DateOutcome, run_key
from nba_ray.backfill.freshness import DateState, date_inputs, settings_digest
from nba_ray.backfill.local_ray import LOOPBACK, loopback_only
from nba_ray.backfill.scaling import has_autoscaler
from nba_ray.backfill.stopping import StopSignals
from nba_ray.backfill.writer import DateWriter, PredictedDate, root_cause
from nba_ray.config import RaySettings, Settings
from nba_ray.grading.state import ModelStates
from nba_ray.models.policy import ModelPlan, models_for_dates, plan_models, refuse_missing
from nba_ray.warehouse import Warehouse, WarehouseError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedBlock:
    """A block whose tables are in the object store; `players` has its dates with feature rows,
    `settled` the others (skipped: no history yet; or failed)."""

    dates: tuple[date, ...]
    refs: tuple[ray.ObjectRef, ray.ObjectRef, ray.ObjectRef]  # features, history, lines
    players: dict[date, list[str]]
    settled: list[DateOutcome]
    load_seconds: float


NO_HISTORY = "no player of the date has a played game before it (nothing to predict from)"


@dataclass
class BackfillReport:
    """`game_dates` are the dates this run works on; `states` says what every game date in the range
    was when it was planned (missing / failed / stale with reasons / done)."""

    run_key: str
    run_id: str
    requested_dates: int
    game_dates: list[date]
    states: list[DateState] = field(default_factory=list)
    checkpoints: Checkpoints | None = None
    outcomes: list[DateOutcome] = field(default_factory=list)
    dry_run: bool = False
    models: ModelPlan = field(default_factory=ModelPlan)
    rows: dict[date, int] = field(default_factory=dict)  # feature rows of the dates to do
    wall_seconds: float = 0.0
    ray_start_seconds: float = 0.0
    stopped_by: int | None = None  # the signal that stopped the run before its last date

    @property
    def done(self) -> list[DateOutcome]:
        return [o for o in self.outcomes if o.status == DONE]

    @property
    def already_done(self) -> list[date]:
        todo = set(self.game_dates)
        return [s.game_date for s in self.states if s.game_date not in todo]

    @property
    def failed(self) -> list[DateOutcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    @property
    def skipped(self) -> list[DateOutcome]:
        return [o for o in self.outcomes if o.status == SKIPPED]

    @property
    def not_run(self) -> int:
        """Dates left for a rerun to do because a signal stopped this one first."""
        return len(self.game_dates) - len(self.outcomes)

    @property
    def exit_code(self) -> int:
        """128 + the signal when one stopped the run (130 SIGINT, 143 SIGTERM), else 1 if a date failed."""
        if self.stopped_by is not None:
            return 128 + self.stopped_by
        return 1 if self.failed else 0

    @property
    def stopped_by_name(self) -> str:
        return signal.Signals(self.stopped_by).name if self.stopped_by is not None else ""


def connect_ray(settings: RaySettings) -> float:
    """Join the configured cluster (or the job's), else start a local Ray; returns the seconds it took."""
    global _started_local
    if ray.is_initialized():
        return 0.0
    started = time.perf_counter()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = ray_address(settings)
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        logging.getLogger(RAY_AUTH_LOGGER).addFilter(_default_token_auth_notice)
        with loopback_only():
            ray.init(  # "local": a Ray of this run's own, never a `ray start` cluster found on the machine
                address="local",
                _node_ip_address=LOOPBACK,
                include_dashboard=settings.include_dashboard,
                dashboard_host=settings.dashboard_host,
                log_to_driver=False,
            )
        _started_local = True
    return time.perf_counter() - started


# Ray's notice that a new local Ray uses token authentication, its default, at warning level: kept out
# of a healthy run's log (token authentication stays on).
RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


def _default_token_auth_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Token authentication is enabled for this Ray cluster")


# A local Ray this process started, and whether it ends with the process (`end_ray_with_process`).
_started_local = False
_ends_with_process = False


def end_ray_with_process() -> None:
    """For a one-shot command line: a local Ray a backfill starts is not shut down when the run ends
    (`ray.shutdown` gives every Ray process a second to exit) but killed by `exit_now`."""
    global _ends_with_process
    _ends_with_process = True


def exit_now(code: int) -> NoReturn:
    """Exit with `code` at once, killing the processes of the local Ray this process started (Ray
    server, agents, workers: everything the run wrote is in the warehouse already)."""
    import psutil

    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    logging.shutdown()
    if _started_local:
        ray_processes = psutil.Process().children(recursive=True)
        for process in ray_processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(ray_processes, timeout=5)
    os._exit(code)


def ray_address(settings: RaySettings) -> str | None:
    """The cluster to join (config, else the job's RAY_ADDRESS); None starts a local Ray."""
    return settings.address or os.environ.get("RAY_ADDRESS")


def plan_backfill(
    warehouse: Warehouse, settings: Settings, dates: Sequence[date], resume: bool
) -> BackfillReport:
    """Which dates are game days, what each would be predicted from now (its inputs' fingerprints, its
    season's model, the systems' settings), which need work (with resume: missing, failed or stale;
    without: all) and the models those need (`models.policy.plan_models`: nothing is trained or written)."""
    requested = sorted(set(dates))
    game_days = warehouse.game_dates(requested[0], requested[-1]) if requested else []
    wanted = set(requested)
    game_days = [d for d in game_days if d in wanted]
    key = run_key(settings.systems)
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    previous, fingerprints = (
        warehouse.read_freshness(key, game_days[0], game_days[-1]) if game_days else ({}, {})
    )
    versions = plan_models(warehouse, settings, game_days).versions
    digest = settings_digest(settings.systems)
    model_states = ModelStates(warehouse.read_market_daily(mode=settings.systems.mode))
    inputs = {
        d: date_inputs({**fingerprints.get(d, {}), **model_states.fingerprint(d)}, versions.get(d), digest)
        for d in game_days
    }
    checkpoints = Checkpoints(warehouse, key, run_id, previous, inputs)
    states = checkpoints.states(game_days)
    todo = [s.game_date for s in states if s.needs_work or not resume]
    models = plan_models(warehouse, settings, todo)  # only the seasons still to do are trained
    rows = warehouse.feature_counts(todo[0], todo[-1]) if todo else {}
    return BackfillReport(
        key, run_id, len(requested), todo, states=states, checkpoints=checkpoints, models=models, rows=rows
    )


def run_backfill(
    settings: Settings,
    warehouse: Warehouse,
    dates: Sequence[date],
    *,
    resume: bool = True,
    dry_run: bool = False,
    train: bool = True,
    on_plan: Callable[[BackfillReport], None] | None = None,
    on_date: Callable[[DateOutcome], None] | None = None,
    worker_class: type[PredictorWorker] = PredictorWorker,
) -> BackfillReport:
    """Plan, then run the pending game dates. The season models they need and the registry lacks are
    trained first, on Ray (with `train` False the run is refused instead: `MissingModels`). `on_plan`
    sees the plan before any date runs (the progress bar sizes itself from it); `on_date` sees each
    date as the writer finishes it."""
    started = time.perf_counter()
    connected_here = not ray.is_initialized()
    local = connected_here and not ray_address(settings.ray)
    with StopSignals() as stop, ThreadPoolExecutor(1, thread_name_prefix="plan") as planning:
        planned = planning.submit(plan_backfill, warehouse, settings, dates, resume)
        try:
            if not dry_run:  # Ray starts while the plan is read (in this thread: its signal handlers)
                ray_start_seconds = connect_ray(settings.ray)
                stop.install()  # ray.init replaced the SIGTERM handler
            report = planned.result()
            report.dry_run = dry_run
            if not dry_run:
                report.ray_start_seconds = ray_start_seconds
            if not train:
                refuse_missing(report.models, settings.systems.mode)
            if on_plan is not None:
                on_plan(report)
            if dry_run or not report.game_dates or stop.requested:
                report.stopped_by = stop.signal
                return report
            assert report.checkpoints is not None
            models = models_for_dates(warehouse, settings, report.models)
            report.checkpoints.record_models(models.versions)
            ask = not local and has_autoscaler()
            with PredictorPool(
                settings.ray,
                settings.systems,
                models.bundle,
                models.versions,
                worker_class,
                ask_autoscaler=ask,
            ) as pool:
                pipeline = DatePipeline(
                    warehouse, pool, report.checkpoints, settings, on_date or (lambda _: None)
                )
                game_days = [state.game_date for state in report.states]
                blocks = group_blocks(
                    report.game_dates, game_days, report.rows, models.versions, settings.batching.block_rows
                )
                report.outcomes = pipeline.run(blocks, stop)
        finally:
            # A local Ray stops (unless it ends with the process); a cluster is only disconnected from.
            if connected_here and ray.is_initialized() and not (local and _ends_with_process):
                ray.shutdown()
        report.stopped_by = stop.signal if report.not_run else None
    report.wall_seconds = time.perf_counter() - started
    return report


class DatePipeline:
    """The per-block flow with prefetching and a writer thread (see the module docstring)."""

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
        self.mode = settings.systems.mode
        self.window = settings.batching.in_flight_dates
        self.on_date = on_date
        self.model_states = ModelStates(warehouse.read_market_daily(mode=self.mode))

    def run(self, blocks: Sequence[tuple[date, ...]], stop: StopSignals) -> list[DateOutcome]:
        """The blocks in order, until `stop` is requested; returns the outcomes of the dates finished."""
        created_at = datetime.now(UTC)
        writer = DateWriter(
            self.warehouse, self.checkpoints, self.systems, self.mode, self.window, self.on_date
        )
        with (
            writer,
            ThreadPoolExecutor(self.window, thread_name_prefix="prefetch") as loaders,
            ThreadPoolExecutor(self.window, thread_name_prefix="predict") as predictors,
        ):
            predicting: deque[tuple[tuple[date, ...], Future[list[PredictedDate]]]] = deque()
            for block, loaded in self._prefetched(blocks, loaders, stop):
                if isinstance(loaded, BaseException):
                    for game_date in block:
                        writer.put_failure(game_date, "load", loaded)
                    continue
                for outcome in loaded.settled:
                    writer.put_outcome(outcome)
                if not loaded.players:
                    continue
                dates = tuple(loaded.players)
                predicting.append((dates, predictors.submit(self._predict, loaded, created_at)))
                if len(predicting) > self.window:
                    writer.put_predicted(*predicting.popleft())
            while predicting:
                writer.put_predicted(*predicting.popleft())
        return writer.outcomes

    def _prefetched(
        self, blocks: Sequence[tuple[date, ...]], loaders: ThreadPoolExecutor, stop: StopSignals
    ) -> Iterator[tuple[tuple[date, ...], LoadedBlock | BaseException]]:
        """Blocks in order with their loaded tables, keeping up to `window` loads running ahead. Once a
        stop is requested no load starts; those already running are finished and yielded."""
        in_flight: deque[tuple[tuple[date, ...], Future[LoadedBlock]]] = deque()
        for block in blocks:
            if stop.requested:
                break
            in_flight.append((block, loaders.submit(self._load, block)))
            if len(in_flight) > self.window:
                yield _resolved(*in_flight.popleft())
        while in_flight:
            yield _resolved(*in_flight.popleft())

    def _load(self, block: tuple[date, ...]) -> LoadedBlock:
        started = time.perf_counter()
        batch = self.warehouse.load_block(block)
        players = {d: names for d, names in batch.players().items() if names}
        settled = [
            DateOutcome(d, FAILED, error=f"load: {root_cause(batch.failed[d])}")
            if d in batch.failed
            else self._without_rows(d)
            for d in block
            if d not in players
        ]
        refs = (ray.put(batch.features), ray.put(batch.history), ray.put(batch.lines))
        return LoadedBlock(block, refs, players, settled, time.perf_counter() - started)

    def _without_rows(self, game_date: date) -> DateOutcome:
        """A date of the block without feature rows: skipped when none of its players has history yet."""
        try:
            if self.warehouse.players_with_history(game_date) == 0:
                return DateOutcome(game_date, SKIPPED, error=NO_HISTORY)
            error: BaseException = WarehouseError(
                f"no feature rows for {game_date}: run `nba-ray features` for it"
            )
        except Exception as err:
            error = err
        return DateOutcome(game_date, FAILED, error=f"load: {root_cause(error)}")

    def _predict(self, loaded: LoadedBlock, created_at: datetime) -> list[PredictedDate]:
        started = time.perf_counter()
        results = self.pool.predict_block(loaded.refs, loaded.players, self.checkpoints.run_id, created_at)
        results = {
            d: replace(r, predictions=self.model_states.apply(d, r.predictions)) for d, r in results.items()
        }
        share = len(loaded.players)
        predict_seconds = (time.perf_counter() - started) / share
        return [
            PredictedDate(d, results[d], len(names), loaded.load_seconds / share, predict_seconds)
            for d, names in loaded.players.items()
        ]


def _resolved(
    block: tuple[date, ...], future: Future[LoadedBlock]
) -> tuple[tuple[date, ...], LoadedBlock | BaseException]:
    try:
        return block, future.result()
    except Exception as err:
        return block, err

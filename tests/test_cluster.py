"""The backfill on clusters, proven on one machine.

- `cluster.yaml` is valid for the autoscaler that ships with the pinned Ray.
- A 3-node local cluster (`ray.cluster_utils.Cluster`, one logical CPU per node): the pool spreads its
  actors over the nodes and the rows equal a single-node run's; a worker node killed mid-run, or an
  actor that cannot restart, loses and duplicates nothing.
- Ray's fake multi-node autoscaler behind a real `ray start --head` with 0 CPUs: a `ray job submit`ted
  backfill makes the autoscaler launch workers and, once it ends, remove them; `ray job stop` and a
  resubmission resume from the warehouse checkpoints.

Clusters are torn down by killing their own processes by pid (found through their temp dir): `ray stop
--force` kills every Ray process on the machine, including other people's on a shared one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config
from ray.cluster_utils import Cluster
from ray.job_submission import JobStatus, JobSubmissionClient
from ray.util.state import list_nodes

from nba_ray.backfill import driver
from nba_ray.backfill.actors import PredictorPool, PredictorWorker
from nba_ray.backfill.checkpoints import DONE, DateOutcome
from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.config import Settings
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.backfill_fixtures import (
    BACKFILL_END,
    BACKFILL_START,
    League,
    backfill_dates,
    checkpoints,
    content,
    crash_once_worker,
    predictions,
)
from tests.ray_processes import (
    BIN,
    free_port,
    kill_cluster_processes,
    node_port_flags,
    ray_env,
    wait_for_job_agent,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[1]
SEASON_END = date(2023, 4, 9)  # the synthetic season's last game day
KEY = ["game_date", "player_lookup", "system_id"]


# -- cluster.yaml ---------------------------------------------------------------------------------------


def test_cluster_yaml_is_valid_for_the_autoscaler_and_keeps_the_cluster_private() -> None:
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    jsonschema.validate(config, schema)
    validate_config(prepare_config(config))  # what `ray up` checks after filling in the GCP defaults

    assert config["provider"]["type"] == "gcp"
    workers = [t for name, t in config["available_node_types"].items() if name != config["head_node_type"]]
    assert workers and all(t["min_workers"] == 0 and t["resources"]["CPU"] > 0 for t in workers)
    assert config["idle_timeout_minutes"] > 0
    assert f"rayproject/ray:{ray.__version__}-py311" in config["docker"]["image"]
    head_start = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_start and "0.0.0.0" not in json.dumps(config)
    assert any("pip install" in c and "nba-ray" in c for c in config["setup_commands"])
    # Credentials come from the VMs' service accounts: no key, token or credentials file in the config.
    text = (ROOT / "cluster.yaml").read_text()
    for secret in ("ssh_private_key", "gcp_credentials", "RAY_AUTH_TOKEN=", "BEGIN PRIVATE KEY"):
        assert secret not in text


# -- a 3-node local cluster -----------------------------------------------------------------------------


@dataclass
class LocalCluster:
    cluster: Cluster
    workers: list[Any]
    single_node: Settings  # a backfill of the standard range run while the head was the only node


def elastic(settings: Settings, **ray_settings: object) -> Settings:
    """The pool sized by the cluster's CPUs (the fixture league pins two actors)."""
    update = {"num_actors": None, "max_actors": 3, **ray_settings}
    return settings.model_copy(update={"ray": settings.ray.model_copy(update=update)})


def backfill(settings: Settings, dates: list[date] | None = None, **kwargs: Any) -> BackfillReport:
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        return run_backfill(settings, warehouse, dates or backfill_dates(), **kwargs)


def short_temp_dir() -> Path:
    """Ray's Unix sockets live under its temp dir and their paths must stay under ~107 characters."""
    return Path(tempfile.mkdtemp(prefix="nbr-", dir="/tmp"))


@pytest.fixture(scope="module")
def local_cluster(league: League, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Head alone first (for the single-node reference run), then two workers: three 1-CPU nodes."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.shutdown()  # the run's shared local Ray, if an earlier module started it (`local_ray` restarts it)
    temp_dir = short_temp_dir()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": False,
            "temp_dir": str(temp_dir),
            # Notice a dead node in ~3 s instead of the default ~30 s.
            "_system_config": {"health_check_period_ms": 1000, "health_check_failure_threshold": 3},
        },
    )
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        single = elastic(league.copy_to(tmp_path_factory.mktemp("single") / "w"))
        assert backfill(single).exit_code == 0
        workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
        cluster.wait_for_nodes()
        yield LocalCluster(cluster, workers, single)
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


class Placements:
    """Where the run's actors were, as `PredictorPool.nodes()` said after each finished date."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pools: list[PredictorPool] = []
        self.after_each_date: list[set[str]] = []
        self.sizes: list[int] = []  # pool members (ready or starting) after each date
        pools = self.pools

        class RecordingPool(PredictorPool):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                pools.append(self)

        monkeypatch.setattr(driver, "PredictorPool", RecordingPool)

    def on_date(self, outcome: DateOutcome) -> None:
        self.after_each_date.append(self.pools[-1].nodes())
        self.sizes.append(self.pools[-1].resize())

    def release(self) -> None:
        for pool in self.pools:
            pool.close()  # the next test's actors get the CPUs at once
        self.pools.clear()


@pytest.fixture
def placements(monkeypatch: pytest.MonkeyPatch) -> Iterator[Placements]:
    recorded = Placements(monkeypatch)
    yield recorded
    recorded.release()


def assert_exactly_like(settings: Settings, reference: Settings) -> None:
    rows = predictions(settings)
    assert not rows.duplicated(KEY).any()
    assert content(rows).equals(content(predictions(reference)))


@pytest.mark.e2e
def test_three_nodes_spread_the_actors_and_give_the_single_node_rows(
    local_cluster: LocalCluster, league: League, placements: Placements, tmp_path: Path
) -> None:
    settings = elastic(league.copy_to(tmp_path / "w"))
    report = backfill(settings, on_date=placements.on_date)
    assert report.exit_code == 0
    assert len(placements.after_each_date[-1]) == 3  # one 1-CPU actor on each node
    assert_exactly_like(settings, local_cluster.single_node)


@pytest.mark.e2e
def test_worker_node_killed_mid_run_loses_and_duplicates_nothing(
    local_cluster: LocalCluster,
    league: League,
    placements: Placements,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = elastic(league.copy_to(tmp_path / "w", block_rows=1))  # a date per block: dates to come
    victim = local_cluster.workers[0]
    finished: list[DateOutcome] = []

    def kill_a_node_after_two_dates(outcome: DateOutcome) -> None:
        finished.append(outcome)
        placements.on_date(outcome)
        if len(finished) == 2:  # later dates are loaded or predicting on all three nodes right now
            pool = placements.pools[-1]
            wait_until(lambda: victim.node_id in pool.nodes(), 60, "an actor on the node to kill")
            local_cluster.cluster.remove_node(victim, allow_graceful=False)

    caplog.set_level(logging.WARNING, logger="nba_ray.backfill.actors")
    try:
        report = backfill(settings, on_date=kill_a_node_after_two_dates)
    finally:
        if victim in local_cluster.workers:  # the next test gets three nodes again
            local_cluster.workers.remove(victim)
            local_cluster.workers.append(local_cluster.cluster.add_node(num_cpus=1))
            local_cluster.cluster.wait_for_nodes()
    assert len(finished) == len(report.outcomes) > 2 and report.exit_code == 0
    assert "lost its node" in caplog.text  # the pool noticed and sent the node's chunks elsewhere
    assert victim.node_id not in placements.after_each_date[-1]  # its actor left the pool
    assert set(checkpoints(settings)["status"]) == {DONE}
    assert_exactly_like(settings, local_cluster.single_node)


@pytest.mark.e2e
def test_chunk_of_an_actor_that_cannot_restart_goes_to_a_live_actor(
    local_cluster: LocalCluster,
    league: League,
    placements: Placements,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    marker = tmp_path / "crash-once"
    marker.touch()
    settings = elastic(league.copy_to(tmp_path / "w"), actor_max_restarts=0)
    caplog.set_level(logging.WARNING, logger="nba_ray.backfill.actors")
    report = backfill(settings, worker_class=crash_once_worker(marker), on_date=placements.on_date)
    assert not marker.exists(), "no actor crashed: the fault was not injected"
    assert report.exit_code == 0
    assert "dead for good" in caplog.text  # dropped from the pool, not kept forever
    assert placements.sizes[-1] == 3  # and replaced (the new actor may still be starting: runs are short)
    assert_exactly_like(settings, local_cluster.single_node)


def failing_start_worker(marker: Path | None) -> type[PredictorWorker]:
    """An actor whose constructor raises: once (while a marker file exists), or always (no marker)."""

    class FailingStartWorker(PredictorWorker):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if marker is None or marker.exists():
                if marker is not None:
                    marker.unlink()
                raise RuntimeError("injected: the systems cannot be built here")
            super().__init__(*args, **kwargs)

    return FailingStartWorker


@pytest.mark.e2e
def test_an_actor_that_fails_to_start_is_replaced(
    local_cluster: LocalCluster, league: League, placements: Placements, tmp_path: Path
) -> None:
    marker = tmp_path / "fail-once"
    marker.touch()
    settings = elastic(league.copy_to(tmp_path / "w"))
    report = backfill(settings, worker_class=failing_start_worker(marker))
    assert not marker.exists() and report.exit_code == 0
    assert_exactly_like(settings, local_cluster.single_node)


@pytest.mark.e2e
def test_actors_that_never_start_fail_the_dates_instead_of_hanging(
    local_cluster: LocalCluster, league: League, placements: Placements, tmp_path: Path
) -> None:
    settings = elastic(league.copy_to(tmp_path / "w"))
    started = time.monotonic()
    report = backfill(settings, worker_class=failing_start_worker(None))
    assert time.monotonic() - started < 120
    assert report.exit_code == 1 and len(report.failed) == len(report.outcomes)
    assert all("injected: the systems cannot be built here" in (o.error or "") for o in report.failed)
    assert predictions(settings).empty


# -- the fake multi-node autoscaler behind `ray start --head` + `ray job submit` -----------------------


def fake_autoscaler_config(gcs_address: str) -> dict[str, Any]:
    """Ray's fake multi-node provider (what `AutoscalingCluster` in ray.cluster_utils generates): a
    head with no CPU for actors and one worker type, min 0, that the autoscaler launches as local
    processes; workers idle for 6 s are removed."""
    return {
        "cluster_name": "nba-ray-fake",
        "max_workers": 2,
        "provider": {
            "type": "fake_multinode",
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
            "gcs_address": gcs_address,  # the provider assumes port 6379 otherwise
        },
        "available_node_types": {
            "ray.head.default": {"resources": {"CPU": 0}, "node_config": {}, "max_workers": 0},
            "cpu_worker": {"resources": {"CPU": 1}, "node_config": {}, "min_workers": 0, "max_workers": 2},
        },
        "head_node_type": "ray.head.default",
        "idle_timeout_minutes": 0.1,
        "upscaling_speed": 1.0,
        "auth": {},
        "docker": {},
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }


@dataclass
class AutoscalingHead:
    address: str  # the dashboard, where jobs are submitted
    jobs: JobSubmissionClient
    first_run: dict[str, Any] = field(default_factory=dict)

    def workers(self, state: str | None = None) -> list[Any]:
        nodes = list_nodes(address=self.address, limit=1000, raise_on_missing_output=False)
        return [n for n in nodes if not n.is_head_node and (state is None or n.state == state)]


def start_autoscaling_head(temp_dir: Path) -> str:
    """`ray start --head` with the fake provider on fresh ports; returns the dashboard address."""
    port, dashboard = free_port(), free_port()
    node_ip = ray.util.get_node_ip_address()
    config = temp_dir / "autoscaler.json"
    config.write_text(json.dumps(fake_autoscaler_config(f"{node_ip}:{port}")))
    command = [
        str(BIN / "ray"), "start", "--head", f"--port={port}", "--num-cpus=0",
        f"--autoscaling-config={config}", f"--temp-dir={temp_dir}", "--include-dashboard=true",
        "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}", "--disable-usage-stats",
        *node_port_flags(),
    ]  # fmt: skip
    # `ray job stop` waits for the blocks in flight to finish (Ray's default grace, 3 s, is shorter than a
    # block on busy cores; past it the driver is killed before its "stopped by" line).
    env = ray_env(RAY_FAKE_CLUSTER="1", AUTOSCALER_UPDATE_INTERVAL_S="1", RAY_JOB_STOP_WAIT_TIME_S="60")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise RuntimeError(f"ray start failed: {(result.stderr or result.stdout)[-1500:]}")
    return f"http://127.0.0.1:{dashboard}"


@pytest.fixture(scope="module")
def autoscaling_head() -> Iterator[AutoscalingHead]:
    temp_dir = short_temp_dir()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RAY_AUTH_MODE", "disabled")  # this process's job and state clients, too
            try:
                address = start_autoscaling_head(temp_dir)
            except RuntimeError:  # a port taken between choosing and binding it: once more, new ports
                kill_cluster_processes(temp_dir)
                address = start_autoscaling_head(temp_dir)
            yield AutoscalingHead(address, wait_for_job_agent(address))
    finally:
        kill_cluster_processes(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def write_config(settings: Settings, path: Path) -> Path:
    path.write_text(
        f"warehouse:\n  path: {settings.warehouse.path}\n"
        f"model:\n  policy: pinned\n  version: {settings.model.version}\n"
        "ray:\n  max_actors: 2\n"  # room for two 1-CPU actors: the request that launches the workers
    )
    return path


def submit(head: AutoscalingHead, config: Path, end: date, *options: str) -> subprocess.CompletedProcess[str]:
    """`ray job submit` of jobs/backfill.py, as the README shows it."""
    return subprocess.run(
        [str(BIN / "ray"), "job", "submit", f"--address={head.address}", "--working-dir", str(ROOT),
         *options, "--", "python", "jobs/backfill.py", "--config", str(config),
         "--start", str(BACKFILL_START), "--end", str(end), "--no-progress"],
        env=ray_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def first_submission(
    autoscaling_head: AutoscalingHead, league: League, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, subprocess.CompletedProcess[str]]:
    settings = league.copy_to(tmp_path_factory.mktemp("submitted") / "w")
    config = write_config(settings, settings.warehouse.path.parent / "config.yaml")
    assert autoscaling_head.workers() == []
    return settings, submit(autoscaling_head, config, BACKFILL_END)


@pytest.mark.e2e
def test_submitted_backfill_scales_a_zero_cpu_head_out_and_back(
    autoscaling_head: AutoscalingHead, first_submission: tuple[Settings, subprocess.CompletedProcess[str]]
) -> None:
    settings, result = first_submission
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "succeeded" in result.stdout
    assert "asked the autoscaler for room for 2 × 1.0 CPU" in result.stdout
    assert len(autoscaling_head.workers()) >= 1  # launched by the autoscaler for the pool's request
    # The pool withdrew its request when the run ended, so the idle workers are removed.
    wait_until(lambda: not autoscaling_head.workers("ALIVE"), 120, "the idle workers to be removed")
    marks = checkpoints(settings)
    assert len(marks) > 5 and set(marks["status"]) == {DONE}
    assert not predictions(settings).duplicated(KEY).any()


@pytest.mark.e2e
def test_ray_job_stop_then_resubmit_resumes_from_the_checkpoints(
    autoscaling_head: AutoscalingHead,
    first_submission: tuple[Settings, subprocess.CompletedProcess[str]],
    league: League,
    tmp_path: Path,
) -> None:
    settings = league.copy_to(tmp_path / "w")
    config = write_config(settings, tmp_path / "config.yaml")
    with config.open("a") as yaml:  # a date per block, one in flight: the stop lands soon, mid-run
        yaml.write("batching:\n  block_rows: 1\n  in_flight_dates: 1\n")
    job_id = f"nba-ray-resume-{os.getpid()}"
    started = submit(autoscaling_head, config, SEASON_END, "--no-wait", f"--submission-id={job_id}")
    assert started.returncode == 0, started.stderr[-3000:]
    jobs = autoscaling_head.jobs
    wait_until(lambda: jobs.get_job_logs(job_id).count(" done: ") >= 2, 300, "two dates to be done")
    assert jobs.get_job_status(job_id) == JobStatus.RUNNING  # stopped mid-run, not after the end
    subprocess.run(
        [str(BIN / "ray"), "job", "stop", f"--address={autoscaling_head.address}", job_id],
        env=ray_env(), check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    wait_until(lambda: jobs.get_job_status(job_id).is_terminal(), 60, "the job to stop")
    assert jobs.get_job_status(job_id) == JobStatus.STOPPED
    logs = jobs.get_job_logs(job_id)  # stopped at a date boundary within `ray job stop`'s grace period
    assert "stopped by SIGTERM: " in logs and "rerun the same command to resume" in logs, logs[-3000:]
    assert "Traceback" not in logs and "*** SIGTERM" not in logs, logs[-3000:]

    partial = checkpoints(settings)
    done_first = partial[partial["status"] == DONE].set_index("game_date")["run_id"]
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        game_days = warehouse.game_dates(BACKFILL_START, SEASON_END)
    assert 2 <= len(done_first) < len(game_days)

    resumed = submit(autoscaling_head, config, SEASON_END)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"already done    {len(done_first):>8,}" in resumed.stdout
    marks = checkpoints(settings).set_index("game_date")
    assert sorted(marks.index) == game_days and (marks["status"] == DONE).all()
    assert marks.loc[done_first.index, "run_id"].equals(done_first)  # done dates were not redone
    rows = predictions(settings)
    assert not rows.duplicated(KEY).any()
    assert rows.groupby("game_date").size().to_dict() == marks["predictions"].to_dict()
    first_settings, _ = first_submission  # the same dates submitted in one go give the same rows
    first_rows = predictions(first_settings)
    assert content(rows[rows["game_date"].isin(set(first_rows["game_date"]))]).equals(content(first_rows))

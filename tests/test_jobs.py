"""`ray job submit` of the backfill against a real local `ray start --head`, and a SIGKILLed driver."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nba_ray.backfill.checkpoints import DONE
from nba_ray.config import Settings
from tests.backfill_fixtures import (
    BACKFILL_END,
    BACKFILL_START,
    BackfilledLeague,
    League,
    checkpoints,
    content,
    predictions,
)
from tests.ray_processes import (
    BIN,
    free_port,
    kill_cluster_processes,
    node_port_flags,
    ray_env,
    wait_for_job_agent,
)

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e


def write_config(settings: Settings, path: Path) -> Path:
    path.write_text(
        f"warehouse:\n  path: {settings.warehouse.path}\n"
        f"model:\n  policy: pinned\n  version: {settings.model.version}\n"
        "ray:\n  num_actors: 2\n"
        f"batching:\n  in_flight_dates: {settings.batching.in_flight_dates}\n"
        f"  block_rows: {settings.batching.block_rows}\n"
    )
    return path


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real head node, started as users start one; yields the job-submission address."""
    temp_dir = tmp_path_factory.mktemp("ray-head")
    dashboard = free_port()
    subprocess.run(
        [str(BIN / "ray"), "start", "--head", f"--port={free_port()}", "--num-cpus=2",
         "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}", f"--temp-dir={temp_dir}",
         "--include-dashboard=true", "--disable-usage-stats", *node_port_flags()],
        check=True, env=ray_env(), capture_output=True, timeout=120,
    )  # fmt: skip
    try:
        address = f"http://127.0.0.1:{dashboard}"
        wait_for_job_agent(address)
        yield address
    finally:
        kill_cluster_processes(temp_dir)


def test_ray_job_submit_runs_the_backfill(league: League, ray_head: str, tmp_path: Path) -> None:
    settings = league.copy_to(tmp_path / "w")
    config = write_config(settings, tmp_path / "config.yaml")
    result = subprocess.run(
        [str(BIN / "ray"), "job", "submit", f"--address={ray_head}", "--working-dir", str(ROOT), "--",
         "python", "jobs/backfill.py", "--config", str(config), "--start", str(BACKFILL_START),
         "--end", str(BACKFILL_END), "--no-progress"],
        env=ray_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "succeeded" in result.stdout
    assert "asked the autoscaler" not in result.stdout  # a plain `ray start --head` has none
    marks = checkpoints(settings)
    assert len(marks) > 5 and set(marks["status"]) == {DONE}
    rows = predictions(settings)
    assert len(rows) > 0 and not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()


def test_driver_sigkill_then_resume_is_exactly_once(
    league: League, backfilled: BackfilledLeague, tmp_path: Path
) -> None:
    # A date per block (the fortnight is one block by default), so the kill lands between dates to come.
    settings = league.copy_to(tmp_path / "w", in_flight_dates=1, block_rows=1)
    config = write_config(settings, tmp_path / "config.yaml")
    command = [str(BIN / "nba-ray"), "-v", "backfill", "--config", str(config),
               "--start", str(BACKFILL_START), "--end", str(BACKFILL_END), "--no-progress"]  # fmt: skip
    driver = subprocess.Popen(
        command,
        env=ray_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    done_lines = 0
    deadline = time.monotonic() + 300
    assert driver.stdout is not None
    for line in driver.stdout:
        done_lines += " done: " in line
        if done_lines >= 3 or time.monotonic() > deadline:
            break
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and everything it started, mid-run
    driver.wait(timeout=60)
    assert done_lines >= 3

    partial = checkpoints(settings)
    finished_first = set(partial.loc[partial["status"] == DONE, "game_date"])
    first_run_ids = partial.set_index("game_date")["run_id"]
    assert finished_first and len(finished_first) < 10

    resumed = subprocess.run(command, env=ray_env(), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    marks = checkpoints(settings).set_index("game_date")
    assert (marks["status"] == DONE).all()
    for day in finished_first:  # done dates were not redone
        assert marks.loc[day, "run_id"] == first_run_ids.loc[day]
    rows = predictions(settings)
    assert not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()
    assert set(rows["game_date"]) == set(marks.index)
    # the same rows as one uninterrupted run over the range (the session's, made in process)
    assert content(rows).equals(content(predictions(backfilled.settings())))

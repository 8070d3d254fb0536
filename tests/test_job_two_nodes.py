"""`ray job submit` of `jobs/backfill.py` on an empty embedded warehouse, against a two-node local
cluster, five times in a row (the repeats are `slow`: CI runs them): every run provisions, trains and
predicts with two one-CPU actors, so one on each node, and no node needs a model file of its own (each
job's working directory is a fresh copy, so a model written to a relative path on one node is on no
other)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nba_ray.backfill.checkpoints import DONE
from nba_ray.config import Settings, WarehouseSettings
from nba_ray.systems.base import SYSTEM_IDS
from tests.backfill_fixtures import TEST_TRAINING, checkpoints, predictions
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
RUNS = 5
DATES = "2022-11-01,2022-11-02,2022-11-03"
KEY = ["game_date", "player_lookup", "system_id"]


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A head and a second node (one CPU each), started with `ray start` as users start them."""
    temp_dir = tmp_path_factory.mktemp("ray-2n")
    port, dashboard = free_port(), free_port()
    common = ["--num-cpus=1", "--disable-usage-stats"]
    subprocess.run(
        [str(BIN / "ray"), "start", "--head", f"--port={port}", f"--temp-dir={temp_dir}",
         "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}", "--include-dashboard=true",
         *common, *node_port_flags()],
        check=True, env=ray_env(), capture_output=True, timeout=120,
    )  # fmt: skip
    try:
        subprocess.run(
            [str(BIN / "ray"), "start", f"--address=127.0.0.1:{port}", *common, *node_port_flags()],
            check=True, env=ray_env(), capture_output=True, timeout=120,
        )  # fmt: skip
        address = f"http://127.0.0.1:{dashboard}"
        wait_for_job_agent(address)
        yield address
    finally:
        kill_cluster_processes(temp_dir)


@pytest.mark.parametrize(
    "attempt", [pytest.param(n, marks=[pytest.mark.slow] if n else []) for n in range(RUNS)]
)  # the first run in every test run, the repeats in CI (`-m slow`)
def test_job_on_an_empty_warehouse_passes_on_two_nodes(two_nodes: str, tmp_path: Path, attempt: int) -> None:
    settings = Settings(warehouse=WarehouseSettings(path=tmp_path / "w" / "nba.duckdb"))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"warehouse:\n  path: {settings.warehouse.path}\nray:\n  num_actors: 2\n"
        f"model:\n  training: {json.dumps(TEST_TRAINING.model_dump(mode='json'))}\n"
    )  # the tests' smaller training: what is tested is where the model goes, not how good it is
    result = subprocess.run(
        [str(BIN / "ray"), "job", "submit", f"--address={two_nodes}", "--working-dir", str(ROOT), "--",
         "python", "jobs/backfill.py", "--config", str(config), "--dates", DATES, "--no-progress"],
        env=ray_env(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "is empty: provisioning a synthetic league" in result.stdout
    marks = checkpoints(settings)
    assert len(marks) == 3 and set(marks["status"]) == {DONE}
    rows = predictions(settings)
    assert set(rows["game_date"].astype(str)) == set(DATES.split(","))
    assert not rows.duplicated(KEY).any()
    counts = rows.groupby("system_id").size()
    assert set(counts.index) == set(SYSTEM_IDS)
    assert counts["xgboost_v1"] == counts["moving_average_baseline_v1"] == len(rows.drop_duplicates(KEY[:2]))

"""Ctrl-C and SIGTERM stop a real `nba-ray backfill` at a date boundary, cleanly, and a rerun resumes.

Ctrl-C is SIGINT to the terminal's whole process group; `ray job stop` sends SIGTERM to the driver. Each
run is a subprocess on a local Ray of its own (its own RAY_TMPDIR, so that the test can tell that Ray's
processes are gone afterwards and kill only those if something went wrong).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from nba_ray.backfill.checkpoints import DONE
from tests.backfill_fixtures import League, checkpoints, content, predictions
from tests.ray_processes import BIN, kill_cluster_processes, ray_env
from tests.test_jobs import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

START, END = "2023-01-16", "2023-02-10"  # long enough that the signal lands mid-run


@pytest.fixture
def ray_tmpdir() -> Iterator[Path]:
    """A short private temp root for the run's local Ray (Unix socket paths must stay short)."""
    path = Path(tempfile.mkdtemp(prefix="nbr-", dir="/tmp"))
    try:
        yield path
    finally:
        kill_cluster_processes(path)
        shutil.rmtree(path, ignore_errors=True)


def ray_processes(temp_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if str(temp_dir) in " ".join(proc.info["cmdline"] or ()):
            found.append(proc)
    return found


@pytest.mark.parametrize(
    ("number", "to_group", "exit_code"),
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
    ids=["ctrl-c", "sigterm"],
)
def test_signal_stops_at_a_date_boundary_and_a_rerun_resumes(
    league: League, tmp_path: Path, ray_tmpdir: Path, number: int, to_group: bool, exit_code: int
) -> None:
    settings = league.copy_to(tmp_path / "w")
    config = write_config(settings, tmp_path / "config.yaml")
    command = [str(BIN / "nba-ray"), "backfill", "--config", str(config), "--start", START, "--end", END,
               "--no-progress"]  # fmt: skip
    # Blocks of a date or two, so that blocks are still to start when the signal lands.
    env = ray_env(RAY_TMPDIR=str(ray_tmpdir), NBA_RAY_BATCHING__BLOCK_ROWS="300")
    driver = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert driver.stderr is not None
    seen: list[str] = []
    for line in driver.stderr:
        seen.append(line)
        if sum(" done: " in s for s in seen) >= 3:
            break
    assert sum(" done: " in s for s in seen) >= 3, "".join(seen)[-3000:]
    if to_group:
        os.killpg(driver.pid, number)
    else:
        os.kill(driver.pid, number)
    out, rest = driver.communicate(timeout=300)
    err = "".join(seen) + rest

    assert driver.returncode == exit_code, out[-2000:] + err[-3000:]
    name = signal.Signals(number).name
    stop_lines = [line for line in (out + err).splitlines() if "rerun the same command to resume" in line]
    assert len(stop_lines) == 1 and stop_lines[0].startswith(f"stopped by {name}: "), out[-2000:]
    assert out.rstrip().splitlines()[-1] == stop_lines[0]
    for noise in ("Traceback", "*** SIG", "logging.cc", "KeyboardInterrupt"):
        assert noise not in err, err[-3000:]
    assert "asked the autoscaler" not in err  # a local Ray has none to ask

    deadline = time.monotonic() + 60  # the local Ray the run started is shut down with it
    while ray_processes(ray_tmpdir) and time.monotonic() < deadline:
        time.sleep(1)
    assert ray_processes(ray_tmpdir) == []

    partial = checkpoints(settings)
    assert set(partial["status"]) == {DONE}  # in-flight dates were finished, none failed
    done = len(partial)
    assert f": {done} of " in stop_lines[0]
    first_rows = predictions(settings)
    assert set(first_rows["game_date"]) == set(partial["game_date"])  # no row without its checkpoint

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert f"already done    {done:>8,}" in resumed.stdout
    marks = checkpoints(settings).set_index("game_date")
    assert (marks["status"] == DONE).all() and len(marks) > done
    rows = predictions(settings)
    assert not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()
    assert rows.groupby("game_date").size().to_dict() == marks["predictions"].to_dict()


def test_sigkill_in_the_middle_of_a_block_then_resume_ends_identical_to_an_uninterrupted_run(
    league: League, tmp_path: Path, ray_tmpdir: Path
) -> None:
    """SIGKILL (no handler runs) to the driver and its Ray while a block is in flight; the resumed run
    redoes exactly the dates not written, and ends with the rows of a run never interrupted."""
    blocks = {"NBA_RAY_BATCHING__BLOCK_ROWS": "300", "NBA_RAY_BATCHING__IN_FLIGHT_DATES": "2"}
    env = ray_env(RAY_TMPDIR=str(ray_tmpdir), **blocks)
    runs = {}
    for name in ("killed", "uninterrupted"):
        settings = league.copy_to(tmp_path / name)
        config = write_config(settings, tmp_path / f"{name}.yaml")
        command = [str(BIN / "nba-ray"), "backfill", "--config", str(config), "--start", START, "--end", END,
                   "--no-progress"]  # fmt: skip
        runs[name] = (settings, command)
    reference, command = runs["uninterrupted"]
    assert subprocess.run(command, env=env, capture_output=True, text=True, timeout=600).returncode == 0

    settings, command = runs["killed"]
    driver = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    assert driver.stderr is not None
    seen: list[str] = []
    for line in driver.stderr:
        seen.append(line)
        if " done: " in line:  # a block is written; the next ones are loading or predicting
            break
    os.killpg(driver.pid, signal.SIGKILL)
    driver.communicate(timeout=60)
    assert driver.returncode == -signal.SIGKILL, "".join(seen)[-3000:]

    partial = checkpoints(settings)
    assert set(partial["status"]) == {DONE}
    first_rows = predictions(settings)
    assert set(first_rows["game_date"]) == set(partial["game_date"])  # no row without its checkpoint
    done = set(partial["game_date"])

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert f"already done    {len(done):>8,}" in resumed.stdout
    marks = checkpoints(settings).set_index("game_date")
    expected = checkpoints(reference).set_index("game_date")
    assert set(marks.index) == set(expected.index) and len(marks) > len(done)
    assert (marks["status"] == DONE).all()
    assert (marks.loc[sorted(done), "attempt"] == 1).all()  # written dates were not redone
    assert content(predictions(settings)).equals(content(predictions(reference)))

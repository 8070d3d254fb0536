"""A file system that fills up during `features` and during `backfill`: one line naming the device and
the warehouse file with "no space left", exit 1, and the warehouse still opens with everything it held
(and whole dates written before the disk filled).
The small file system is a tmpfs mounted for the test (the machine's own disks are never filled)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.backfill_fixtures import BACKFILL_END, BACKFILL_START, League
from tests.conftest import mounted_tmpfs

BIN = Path(sys.executable).parent
# Room left for the command to start writing, not for what it writes.
HEADROOM_BYTES = 256 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs of the test's own."""
    with mounted_tmpfs(tmp_path / "small", "size=64m") as mount:
        yield mount


def fill(mount: Path) -> None:
    """Leave only `HEADROOM_BYTES` free on the file system."""
    free = shutil.disk_usage(mount).free
    subprocess.run(["fallocate", "-l", str(free - HEADROOM_BYTES), str(mount / "filler")], check=True)


def snapshot(path: Path) -> dict[str, int]:
    with DuckDBWarehouse(path, read_only=True) as warehouse:
        counts = warehouse.table_counts()
    counts.pop("input_fingerprints")  # a failed rebuild drops its dates' fingerprints: they read as changed
    return counts


@pytest.mark.parametrize(
    "argv",
    [
        ["features", "--start", "2022-10-01", "--end", "2023-06-30"],
        ["backfill", "--start", str(BACKFILL_START), "--end", str(BACKFILL_END), "--no-progress"],
    ],
    ids=lambda argv: argv[0],
)
def test_a_full_disk_is_one_line_and_loses_nothing(
    league: League, small_disk: Path, tmp_path: Path, argv: list[str]
) -> None:
    settings = league.copy_to(small_disk / "warehouse")
    path = settings.warehouse.path
    config = tmp_path / "config.yaml"
    config.write_text(
        f"warehouse:\n  path: {path}\nray:\n  num_actors: 2\n"
        f"model:\n  policy: pinned\n  version: {league.model_version}\n"
    )
    before = snapshot(path)
    fill(small_disk)
    result = subprocess.run(
        [str(BIN / "nba-ray"), *argv[:1], "--config", str(config), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    output = result.stdout + result.stderr
    named = [line for line in output.splitlines() if "no space left" in line.lower()]
    assert len(named) == 1, output[-3000:]
    assert f"mounted at {small_disk}" in named[0] and str(path) in named[0], named[0]
    assert "Traceback" not in output and "cannot rollback" not in output

    (small_disk / "filler").unlink()
    after = snapshot(path)
    assert all(after[table] >= count for table, count in before.items()), (before, after)
    with DuckDBWarehouse(path, read_only=True) as warehouse:  # dates written before the disk filled are whole
        done = warehouse.read_checkpoints().to_pandas().query("status == 'done'")
        written = warehouse.read_predictions(BACKFILL_START, BACKFILL_END).to_pandas()
    assert not written.duplicated(["game_date", "player_lookup", "system_id", "prediction_mode"]).any()
    per_date = written.groupby("game_date").size()
    assert all(per_date[row.game_date] == row.predictions for row in done.itertuples())

"""A local run listens on loopback only: every listening socket of a local `nba-ray backfill` (Ray's GCS,
raylet, object manager, workers, agents, metrics endpoints and the driver itself) is bound to 127.0.0.1,
found by listing the sockets of the run's whole process tree while it runs."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.backfill_fixtures import BACKFILL_END, BACKFILL_START, League

BIN = Path(sys.executable).parent


def listening(root: psutil.Process) -> set[tuple[str, int, str]]:
    """(address, port, process name) of every listening TCP socket of `root` and its descendants."""
    found: set[tuple[str, int, str]] = set()
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return found
    for process in processes:
        try:
            for conn in process.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add((conn.laddr.ip, conn.laddr.port, process.name()))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


def test_a_local_backfill_listens_on_loopback_only(league: League, tmp_path: Path) -> None:
    settings = league.copy_to(tmp_path / "w")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"warehouse:\n  path: {settings.warehouse.path}\nray:\n  num_actors: 2\n"
        f"model:\n  policy: pinned\n  version: {league.model_version}\n"
    )
    run = subprocess.Popen(
        [str(BIN / "nba-ray"), "backfill", "--config", str(config), "--no-progress",
         "--start", str(BACKFILL_START), "--end", str(BACKFILL_END)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    root = psutil.Process(run.pid)
    sockets: set[tuple[str, int, str]] = set()
    deadline = time.monotonic() + 600
    while run.poll() is None and time.monotonic() < deadline:
        sockets |= listening(root)
        time.sleep(0.5)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err[-3000:]
    names = {name for _, _, name in sockets}
    assert {"gcs_server", "raylet"} <= names, sockets  # the run's Ray was seen while it ran
    assert any(name.startswith("ray::") for name in names), sockets  # its workers and agents too
    assert [s for s in sockets if not is_loopback(s[0])] == []

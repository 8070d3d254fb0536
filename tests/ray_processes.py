"""Real Ray processes for tests: free loopback ports, the environment `ray start` and `ray job submit`
share, and teardown that kills only one cluster's processes (`ray stop --force` would kill every Ray
process on the machine, other sessions' clusters included)."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ray_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", **extra)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # the job's `python` is this virtualenv's
    return env


def kill_cluster_processes(temp_dir: Path) -> None:
    """Kill, by pid, every process of the cluster living in `temp_dir`: those naming it on their command
    line (GCS, raylets, dashboard, autoscaler) and all their descendants (agents, actors, job drivers,
    and the fake provider's worker nodes, which are the autoscaler's children)."""
    me = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}
    victims: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid in me or str(temp_dir) not in " ".join(proc.info["cmdline"] or ()):
            continue
        try:
            victims.update({p.pid: p for p in (proc, *proc.children(recursive=True)) if p.pid not in me})
        except psutil.Error:
            continue
    for proc in victims.values():
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(list(victims.values()), timeout=30)

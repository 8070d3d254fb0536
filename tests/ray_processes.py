"""Real Ray processes for tests: free loopback ports, the environment `ray start` and `ray job submit`
share, and teardown that kills only one cluster's processes (`ray stop --force` would kill every Ray
process on the machine, other sessions' clusters included)."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from ray.job_submission import JobSubmissionClient

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_port_flags() -> list[str]:
    """`ray start` flags giving every port of a node explicitly: other Ray clusters on this machine
    hold the defaults (a dashboard agent that cannot bind its port means "No available agent")."""
    names = [
        "dashboard-agent-listen-port", "dashboard-agent-grpc-port", "metrics-export-port",
        "runtime-env-agent-port", "ray-client-server-port", "node-manager-port", "object-manager-port",
    ]  # fmt: skip
    return [f"--{name}={free_port()}" for name in names]


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


def wait_for_job_agent(address: str, timeout: float = 120) -> JobSubmissionClient:
    """The head accepts jobs a few seconds after `ray start` returns; submit a no-op until it does."""
    client = JobSubmissionClient(address)
    deadline = time.monotonic() + timeout
    while True:
        try:
            job = client.submit_job(entrypoint="python -c pass")
            break
        except RuntimeError as err:
            if "No available agent" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(1)
    wait_until(lambda: client.get_job_status(job).is_terminal(), timeout, "the no-op job to finish")
    return client


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.3)

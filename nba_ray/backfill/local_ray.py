"""A local run's Ray listens on loopback only (see `loopback_only`); `cluster.yaml` and
`docs/clusters.md` say which ports a cluster opens, and to whom."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from ray._private import ray_constants

LOOPBACK = "127.0.0.1"
# Ray's switch for multi-node clusters on a machine (named for the platforms where it is off by default).
LOCAL_ONLY_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """While a local Ray starts: nothing can join a local run, so none of its sockets (GCS, raylet,
    object manager, workers, this driver, the agents, the metrics endpoints) may listen beyond
    127.0.0.1. Ray turns a loopback node address into the machine's own unless multi-node clusters are
    off: off for the processes it starts (they inherit the variable) and for this driver (which read it
    when Ray was imported); both are restored after, so a later run can still join a cluster."""
    saved_variable, saved_flag = os.environ.get(LOCAL_ONLY_VARIABLE), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[LOCAL_ONLY_VARIABLE], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_variable is None:
            os.environ.pop(LOCAL_ONLY_VARIABLE, None)
        else:
            os.environ[LOCAL_ONLY_VARIABLE] = saved_variable

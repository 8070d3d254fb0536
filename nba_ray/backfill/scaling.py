"""What the predictor pool asks of the cluster: autoscaler capacity, and which nodes are still alive.

Kept apart from the pool so the pool reads as dispatching logic, and so the Ray calls here — whether
there is an autoscaler, its resource request, and the node table — have one home each.
"""

from __future__ import annotations

import json
import logging

import ray
from ray._private.ray_constants import DEBUG_AUTOSCALING_STATUS
from ray.autoscaler._private.util import format_readonly_node_type
from ray.autoscaler.sdk import request_resources
from ray.experimental.internal_kv import _internal_kv_get

log = logging.getLogger(__name__)


class CapacityRequest:
    """A standing request to the autoscaler for `actors` bundles of `cpus_per_actor` CPUs.

    The autoscaler launches enough worker nodes to fit the bundles at once (bypassing its gradual
    upscaling) and keeps them while the request stands. A request is cluster-wide and outlives the
    process that made it, so it must be withdrawn when the run ends: otherwise the workers never go idle
    and the cluster never scales back. The pool makes it only on a cluster with an autoscaler
    (`has_autoscaler`): a local Ray would record it and ignore it, and the log would claim room on a
    2-core machine for 64 actors.
    """

    def __init__(self, actors: int, cpus_per_actor: float) -> None:
        self.bundles = [{"CPU": cpus_per_actor} for _ in range(actors)]
        self.active = False

    def submit(self) -> None:
        self.active = _request(self.bundles)
        if self.active:
            log.info(
                "asked the autoscaler for room for %d × %s CPU",
                len(self.bundles),
                self.bundles[0]["CPU"],
            )

    def withdraw(self) -> None:
        """Replace the request with an empty one (idempotent; a no-op once Ray is shut down)."""
        if self.active and ray.is_initialized():
            _request([])
        self.active = False


def _request(bundles: list[dict[str, float]]) -> bool:
    try:
        request_resources(bundles=bundles)
    except Exception as err:  # scaling is an optimisation: the run goes on with the nodes there are
        log.warning("autoscaler resource request failed (%s); continuing with the current nodes", err)
        return False
    return True


def alive_node_ids() -> set[str]:
    """Node ids the cluster currently counts as alive (GCS's view, after its health checks)."""
    return {node["NodeID"] for node in ray.nodes() if node.get("Alive")}


def has_autoscaler() -> bool:
    """Whether the cluster's autoscaler can launch nodes, as its last status report says.

    Every Ray head runs the autoscaler's monitor; without an autoscaling config (`ray.init()`, a plain
    `ray start --head`) it runs with Ray's read-only provider, which only mirrors the nodes there are,
    each under its own node type `node_<node id>`. A report naming any other node type comes from a
    real provider (`ray up cluster.yaml`, the fake multi-node one). No report yet means no autoscaler to
    ask, which costs a catch-up run only the request's head start: the autoscaler still scales for the
    actors waiting on CPUs."""
    try:
        raw = _internal_kv_get(DEBUG_AUTOSCALING_STATUS)
        report = json.loads(raw).get("autoscaler_report") if raw else None
    except Exception as err:  # scaling is an optimisation: without a readable report, do not ask
        log.debug("no autoscaler status: %s", err)
        return False
    if not report:
        return False
    node_types = {
        *(report.get("active_nodes") or {}),
        *(report.get("idle_nodes") or {}),
        *(report.get("pending_launches") or {}),
        *(node_type for _, node_type, _ in report.get("pending_nodes") or []),
        *(node_type for _, node_type in report.get("failed_nodes") or []),
    }
    mirrored = {format_readonly_node_type(node["NodeID"]) for node in ray.nodes()}
    return bool(node_types - mirrored)

"""What the predictor pool asks of the cluster: autoscaler capacity, and which nodes are still alive.

Kept apart from the pool so the pool reads as dispatching logic, and so the two Ray calls here — the
autoscaler's resource request and the node table — have one home each.
"""

from __future__ import annotations

import logging

import ray
from ray.autoscaler.sdk import request_resources

log = logging.getLogger(__name__)


class CapacityRequest:
    """A standing request to the autoscaler for `actors` bundles of `cpus_per_actor` CPUs.

    The autoscaler launches enough worker nodes to fit the bundles at once (bypassing its gradual
    upscaling) and keeps them while the request stands. A request is cluster-wide and outlives the
    process that made it, so it must be withdrawn when the run ends: otherwise the workers never go idle
    and the cluster never scales back. On a Ray without an autoscaler (local development) the request
    is recorded and ignored, so asking is always safe.
    """

    def __init__(self, actors: int, cpus_per_actor: float) -> None:
        self.bundles = [{"CPU": cpus_per_actor} for _ in range(actors)]
        self.active = False

    def submit(self) -> None:
        self.active = _request(self.bundles)
        if self.active:
            log.info(
                "asked the autoscaler (if any) for room for %d × %s CPU",
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

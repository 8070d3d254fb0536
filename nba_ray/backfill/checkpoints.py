"""Backfill checkpoints, kept in the warehouse so any machine (or a new cluster head) can resume a run.

A run key names what a backfill computes: the feature version and the set of systems (their order on
the command line changes nothing). What the predictions of a date were computed from (its inputs'
fingerprints, the model, the systems' settings) is recorded on the date's checkpoint, so a resumed run
redoes exactly the dates that are missing, failed or stale (`freshness.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from nba_ray.backfill.freshness import MODEL, DateState, assess
from nba_ray.features.contract import FEATURE_VERSION
from nba_ray.systems.settings import SystemsSettings
from nba_ray.warehouse.base import Warehouse

DONE = "done"
FAILED = "failed"
# A game date with nothing to predict from: no player of it has a played game before it (the first game
# dates of the data). Settled like a done date: a resume does not retry it (`--no-resume` does).
SKIPPED = "skipped"
SETTLED = frozenset({DONE, SKIPPED})


def run_key(systems: SystemsSettings) -> str:
    """What a checkpoint is of: the feature version, the set of systems and the mode (each mode's
    predictions are their own; everything else that changes a date's result is in its `inputs`)."""
    identity = {"feature_version": FEATURE_VERSION, "systems": sorted(systems.enabled), "mode": systems.mode}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"bf-{digest[:16]}"


@dataclass
class DateOutcome:
    """What happened to one date: the row written to `backfill_checkpoints` and the run summary.
    `error` says why a date failed or was skipped."""

    game_date: date
    status: str
    players: int = 0
    predictions: int = 0
    skipped: int = 0
    load_seconds: float = 0.0
    predict_seconds: float = 0.0
    write_seconds: float = 0.0
    error: str | None = None
    per_system: dict[str, int] = field(default_factory=dict)
    skip_reasons: dict[str, int] = field(default_factory=dict)


class Checkpoints:
    """One run key's checkpoint rows (`previous`, as read when the run was planned) and the inputs each
    date is being predicted from (`inputs`, recorded when the date is marked done)."""

    def __init__(
        self,
        warehouse: Warehouse,
        key: str,
        run_id: str,
        previous: Mapping[date, Mapping[str, Any]],
        inputs: Mapping[date, Mapping[str, str]],
    ) -> None:
        self.warehouse = warehouse
        self.key = key
        self.run_id = run_id
        self._previous = dict(previous)
        self._inputs = dict(inputs)

    def states(self, dates: Sequence[date]) -> list[DateState]:
        return assess(dates, self._previous, self._inputs, SETTLED)

    def record_models(self, versions: Mapping[date, str]) -> None:
        """The models of seasons trained for this run exist only once the plan is carried out: what
        the dates they predict will record as their model."""
        for game_date, inputs in self._inputs.items():
            self._inputs[game_date] = {**inputs, MODEL: versions.get(game_date) or ""}

    def mark(self, outcomes: Iterable[DateOutcome]) -> None:
        """Record a group of dates in one write."""
        rows = self.rows(outcomes)
        if rows:
            self.warehouse.write_checkpoints(self.key, rows)

    def rows(self, outcomes: Iterable[DateOutcome]) -> list[dict[str, Any]]:
        """The `backfill_checkpoints` rows of `outcomes` (to write with their predictions, or alone)."""
        now = datetime.now(UTC)
        return [
            {
                "run_key": self.key,
                "game_date": o.game_date,
                "status": o.status,
                "players": o.players,
                "predictions": o.predictions,
                "skipped": o.skipped,
                "load_seconds": round(o.load_seconds, 4),
                "predict_seconds": round(o.predict_seconds, 4),
                "write_seconds": round(o.write_seconds, 4),
                "error": o.error,
                "attempt": (self._previous.get(o.game_date, {}).get("attempt") or 0) + 1,
                "run_id": self.run_id,
                "updated_at": now,
                "inputs": self._recorded_inputs(o),
            }
            for o in outcomes
        ]

    def _recorded_inputs(self, outcome: DateOutcome) -> str | None:
        inputs = self._inputs.get(outcome.game_date)
        return json.dumps(inputs, sort_keys=True) if outcome.status in SETTLED and inputs else None

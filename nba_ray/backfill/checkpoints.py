"""Backfill checkpoints, kept in the warehouse so any machine (or a new cluster head) can resume a run.

A run key names what a backfill computes, not when or where it ran: the enabled systems, their
settings, the feature version and the model. Two runs with the same key produce the same rows, so a
resumed run may skip the dates the other finished; change any of those and the key changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from nba_ray.features.contract import FEATURE_VERSION
from nba_ray.systems.settings import SystemsSettings
from nba_ray.warehouse.base import Warehouse

DONE = "done"
FAILED = "failed"


def run_key(systems: SystemsSettings, model: Mapping[str, Any] | None) -> str:
    """`model` is the planner's model identity (pinned version or per-season policy). The enabled
    systems count as a set: their order on the command line changes nothing computed."""
    settings = systems.model_dump(mode="json")
    settings["enabled"] = sorted(settings["enabled"])
    identity = {"feature_version": FEATURE_VERSION, "systems": settings, "model": model}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"bf-{digest[:16]}"


@dataclass
class DateOutcome:
    """What happened to one date: the row written to `backfill_checkpoints` and the run summary."""

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
    def __init__(self, warehouse: Warehouse, key: str, run_id: str) -> None:
        self.warehouse = warehouse
        self.key = key
        self.run_id = run_id
        rows = warehouse.read_checkpoints(key).to_pylist()
        self._previous: dict[date, dict[str, Any]] = {row["game_date"]: row for row in rows}

    def is_done(self, game_date: date) -> bool:
        row = self._previous.get(game_date)
        return row is not None and row["status"] == DONE

    def pending(self, dates: Sequence[date], resume: bool) -> list[date]:
        """With resume, every date not done under this key (failed ones are retried); else all."""
        return [d for d in dates if not (resume and self.is_done(d))]

    def mark(self, outcomes: Iterable[DateOutcome]) -> None:
        """Record a group of dates in one write."""
        now = datetime.now(UTC)
        rows = [
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
                "attempt": self._previous.get(o.game_date, {}).get("attempt", 0) + 1,
                "run_id": self.run_id,
                "updated_at": now,
            }
            for o in outcomes
        ]
        if rows:
            self.warehouse.write_checkpoints(self.key, rows)

"""Which game dates of a backfill need work, and why: missing, failed, or stale.

A settled checkpoint records what its date's predictions were computed from (`inputs`): each input's
fingerprint for that date (feature rows, which carry who is available tonight, and lines; each is
written with its fingerprint, `warehouse/fingerprints.py`), the model version that predicted it and a
digest of the systems' settings. A date is fresh while all of those are what they would be now: a
box-score correction followed by a feature rebuild changes the fingerprints of exactly the dates whose
rows changed, so a resumed backfill redoes those and nothing else. Checking a whole range costs one
query (`Warehouse.read_freshness`), whatever its length.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from nba_ray.systems.settings import SystemsSettings

MISSING = "missing"
FAILED = "failed"
STALE = "stale"
FRESH = "done"
STATES = (MISSING, FAILED, STALE, FRESH)
MODEL, SETTINGS = "model", "settings"
# How a reason is worded: an input's table (before any ":version") or the model / settings entries.
_REASONS = {
    "ml_feature_store": "features",
    "prop_lines": "lines",
    "market_daily": "model state",
    MODEL: MODEL,
    SETTINGS: SETTINGS,
}


def settings_digest(systems: SystemsSettings) -> str:
    """The systems' settings as one digest; the enabled systems count as a set, not a sequence."""
    settings = systems.model_dump(mode="json")
    settings["enabled"] = sorted(settings["enabled"])
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def date_inputs(fingerprints: Mapping[str, str], model_version: str | None, settings: str) -> dict[str, str]:
    """What a date's predictions are computed from now: its inputs' fingerprints, model and settings."""
    return {**fingerprints, MODEL: model_version or "", SETTINGS: settings}


@dataclass(frozen=True)
class DateState:
    game_date: date
    state: str
    reasons: tuple[str, ...] = ()

    @property
    def needs_work(self) -> bool:
        return self.state != FRESH

    def describe(self) -> str:
        """`missing`, `failed`, `done`, or `stale: features, lines`."""
        return f"{self.state}: {', '.join(self.reasons)}" if self.reasons else self.state


def assess(
    game_dates: Sequence[date],
    checkpoints: Mapping[date, Mapping[str, Any]],
    expected: Mapping[date, Mapping[str, str]],
    settled: frozenset[str],
) -> list[DateState]:
    """The state of each date, from its checkpoint row (if any) and the inputs it would have now.
    `settled` are the checkpoint statuses that need no retry while their inputs are unchanged."""
    states = []
    for game_date in game_dates:
        row = checkpoints.get(game_date)
        if row is None:
            states.append(DateState(game_date, MISSING))
        elif row["status"] not in settled:
            states.append(DateState(game_date, FAILED))
        else:
            reasons = _changed(row.get("inputs"), expected.get(game_date, {}))
            states.append(DateState(game_date, STALE if reasons else FRESH, reasons))
    return states


def _changed(recorded_json: str | None, expected: Mapping[str, str]) -> tuple[str, ...]:
    if not recorded_json:
        return ("inputs not recorded",)  # settled by an earlier version, before fingerprints
    recorded: dict[str, str] = json.loads(recorded_json)
    names = {name for name in {*recorded, *expected} if recorded.get(name) != expected.get(name)}
    return tuple(sorted({_REASONS.get(name.split(":")[0], name) for name in names}))


def counts(states: Sequence[DateState]) -> dict[str, int]:
    """Dates per state, every state listed (zero included) in a fixed order."""
    return {state: sum(s.state == state for s in states) for state in STATES}

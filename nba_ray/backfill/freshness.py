"""Whether a date's stored predictions are still what its inputs would give: missing, failed, stale, done.

A date's inputs are its feature rows and its lines (fingerprinted when they are written, see
`nba_ray.warehouse.fingerprints`) and the model that predicts it; the systems' settings and the feature
version are in the run key itself. A done checkpoint records the inputs it was computed from, so
deciding what to redo costs one read of the range's fingerprints and one of its checkpoints — never a
re-read of the inputs. A resume redoes the dates that are missing, failed or stale, and only those.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from nba_ray.warehouse import Warehouse
from nba_ray.warehouse.fingerprints import INPUTS, NO_ROWS

MODEL = "model"
MISSING = "missing"
FAILED = "failed"
STALE = "stale"

Inputs = dict[str, str | None]


def expected_inputs(
    warehouse: Warehouse, dates: Sequence[date], model_versions: Mapping[date, str]
) -> dict[date, Inputs]:
    """What each of `dates` would be computed from now (one query for all their fingerprints)."""
    if not dates:
        return {}
    stored = warehouse.read_fingerprints(min(dates), max(dates))
    absent = dict.fromkeys(INPUTS, NO_ROWS)
    return {d: {**stored.get(d, absent), MODEL: model_versions.get(d)} for d in dates}


def encode(inputs: Inputs | None) -> str | None:
    return json.dumps(inputs, sort_keys=True) if inputs is not None else None


def reason(checkpoint: Mapping[str, Any] | None, expected: Inputs) -> str | None:
    """Why a date must be (re)done — `missing`, `failed`, or `stale: <inputs that changed>` — or None
    when its done checkpoint was computed from exactly `expected`."""
    if checkpoint is None:
        return MISSING
    if checkpoint["status"] != "done":
        return FAILED
    recorded = json.loads(checkpoint["inputs"]) if checkpoint.get("inputs") else None
    if recorded is None:
        return f"{STALE}: inputs not recorded"
    changed = [name for name in (*INPUTS, MODEL) if recorded.get(name) != expected.get(name)]
    return f"{STALE}: {', '.join(changed)}" if changed else None

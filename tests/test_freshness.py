"""Which dates a resumed backfill redoes, and why: the state of each date from its checkpoint and the
inputs it would be predicted from now."""

from __future__ import annotations

import json
from datetime import date

from nba_ray.backfill.freshness import (
    FAILED,
    FRESH,
    MISSING,
    STALE,
    assess,
    counts,
    date_inputs,
    settings_digest,
)
from nba_ray.systems.base import SYSTEM_IDS
from nba_ray.systems.settings import SystemsSettings

D1, D2, D3, D4, D5 = (date(2023, 1, d) for d in range(2, 7))
SETTLED = frozenset({"done", "skipped"})
SETTINGS = settings_digest(SystemsSettings())


def inputs(features: str = "f", lines: str | None = "l", model: str | None = "m1") -> dict[str, str]:
    found = {"ml_feature_store:v1_box_25": features} | ({"prop_lines": lines} if lines else {})
    return date_inputs(found, model, SETTINGS)


def checkpoint(status: str, recorded: dict[str, str] | None) -> dict[str, object]:
    return {"status": status, "inputs": json.dumps(recorded) if recorded is not None else None}


def test_each_date_gets_its_state_and_reasons() -> None:
    recorded = {
        D2: checkpoint("failed", inputs()),
        D3: checkpoint("done", inputs()),
        D4: checkpoint("done", inputs(features="old", lines=None)),
        D5: checkpoint("skipped", inputs(model="m0")),
    }
    now = {day: inputs() for day in (D1, D2, D3, D4, D5)}
    states = {s.game_date: s for s in assess([D1, D2, D3, D4, D5], recorded, now, SETTLED)}
    assert [states[d].state for d in (D1, D2, D3, D4, D5)] == [MISSING, FAILED, FRESH, STALE, STALE]
    assert states[D4].describe() == "stale: features, lines"
    assert states[D5].describe() == "stale: model"
    assert [d for d, s in states.items() if s.needs_work] == [D1, D2, D4, D5]
    assert counts(list(states.values())) == {"missing": 1, "failed": 1, "stale": 2, "done": 1}


def test_a_checkpoint_from_before_fingerprints_is_stale() -> None:
    [state] = assess([D1], {D1: checkpoint("done", None)}, {D1: inputs()}, SETTLED)
    assert state.describe() == "stale: inputs not recorded"


def test_settings_digest_ignores_the_order_of_systems_but_not_their_values() -> None:
    forward = SystemsSettings(enabled=list(SYSTEM_IDS))
    backward = SystemsSettings(enabled=list(reversed(SYSTEM_IDS)))
    assert settings_digest(forward) == settings_digest(backward)
    fewer = SystemsSettings(enabled=list(SYSTEM_IDS[:2]))
    tuned = SystemsSettings(min_history_games=5)
    assert len({settings_digest(forward), settings_digest(fewer), settings_digest(tuned)}) == 3
    recorded = {D1: checkpoint("done", date_inputs({}, "m1", settings_digest(tuned)))}
    [state] = assess([D1], recorded, {D1: date_inputs({}, "m1", SETTINGS)}, SETTLED)
    assert state.describe() == "stale: settings"

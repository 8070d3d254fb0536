"""A model state per system and mode, from how it does against real lines: healthy / watch / degrading /
blocked.

Each graded game date gives a level from the trailing `window_days` figures of `market_daily`: the worst
level whose hit-rate floor or MAE-gap ceiling is crossed (below `min_calls` decided calls the date is no
evidence, and the state stays). The state worsens at once; it improves only after `recovery_days`
consecutive dates of evidence all better than it, to the worst level among them, so one good night does
not lift a block. The state a date's predictions use is the one after the last date graded before it
(`ModelStates.before`): a backfill replays what a daily run would have done. A blocked system still
predicts; its OVER/UNDER calls become PASS, and the row says why.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.config import ModelStateSettings
from nba_ray.systems.base import OVER, PASS, UNDER
from nba_ray.warehouse.schemas import MARKET_DAILY, MODEL_STATES

HEALTHY, WATCH, DEGRADING, BLOCKED = MODEL_STATES


@dataclass(frozen=True)
class Figures:
    """One graded date's trailing figures for one system and mode (NaN where there are none)."""

    calls: int
    hit_rate: float
    gap: float


def level(figures: Figures, settings: ModelStateSettings) -> tuple[int | None, str]:
    """The date's level (index into MODEL_STATES; None without enough calls) and what it rests on."""
    days = settings.window_days
    if figures.calls < settings.min_calls:
        return None, f"{figures.calls} calls in {days} days, fewer than {settings.min_calls}"
    said = (
        f"hit rate {figures.hit_rate:.1%} on {figures.calls} calls, MAE gap {figures.gap:+.2f} to the line "
        f"over {days} days"
    )
    for index, threshold in reversed(
        list(enumerate((settings.watch, settings.degrading, settings.blocked), 1))
    ):
        crossed = []
        if figures.hit_rate < threshold.hit_rate_below:
            crossed.append(f"hit rate below {threshold.hit_rate_below:.1%}")
        if not math.isnan(figures.gap) and figures.gap > threshold.mae_gap_above:
            crossed.append(f"gap above {threshold.mae_gap_above:+.2f}")
        if crossed:
            return index, f"{said} ({', '.join(crossed)})"
    return 0, said


def run(days: Iterable[Figures], settings: ModelStateSettings) -> list[tuple[str, str]]:
    """The state after each date of one system and mode, in date order, and why."""
    state, streak = 0, []
    out = []
    for figures in days:
        found, reason = level(figures, settings)
        if found is None:
            why = f"kept: {reason}"
        elif found > state:
            state, streak, why = found, [], reason
        elif found < state:
            streak.append(found)
            if len(streak) >= settings.recovery_days:
                state, streak = max(streak), []
                why = f"recovered after {settings.recovery_days} dates: {reason}"
            else:
                why = f"kept until {settings.recovery_days} better dates ({len(streak)} so far): {reason}"
        else:
            streak, why = [], reason
        out.append((MODEL_STATES[state], why))
    return out


def with_states(daily: pd.DataFrame, settings: ModelStateSettings) -> pd.DataFrame:
    """`market_daily` rows with `model_state` and `state_reason`, run per system and mode in date order."""
    days = settings.window_days
    daily = daily.sort_values(["system_id", "prediction_mode", "game_date"], kind="stable").reset_index(
        drop=True
    )
    states, reasons = [], []
    for _, part in daily.groupby(["system_id", "prediction_mode"], sort=False):
        figures = [
            Figures(int(c), float(h), float(m) - float(li))
            for c, h, m, li in zip(
                part[f"calls_{days}d"],
                part[f"hit_rate_{days}d"],
                part[f"model_mae_{days}d"],
                part[f"line_mae_{days}d"],
                strict=True,
            )
        ]
        for state, reason in run(figures, settings):
            states.append(state)
            reasons.append(reason)
    return daily.assign(model_state=states, state_reason=reasons)


class ModelStates:
    """The states of one mode's systems by graded date: which applies to a date's predictions."""

    def __init__(self, daily: pa.Table) -> None:
        frame = daily.select(["game_date", "system_id", "model_state", "state_reason"]).to_pandas()
        self._by_system: Mapping[str, pd.DataFrame] = {
            system: part.sort_values("game_date").reset_index(drop=True)
            for system, part in frame.groupby("system_id")
        }

    def before(self, game_date: date) -> dict[str, tuple[str, str]]:
        """{system: (state, reason)} after the last date graded before `game_date`."""
        found = {}
        for system, part in self._by_system.items():
            earlier = part[part["game_date"] < game_date]
            if not earlier.empty:
                last = earlier.iloc[-1]
                found[system] = (
                    last["model_state"],
                    f"{last['model_state']} after {last['game_date']}: {last['state_reason']}",
                )
        return found

    def fingerprint(self, game_date: date) -> dict[str, str]:
        """The states a date's predictions use, as one input fingerprint (none before any grading)."""
        states = self.before(game_date)
        if not states:
            return {}
        text = json.dumps(sorted((system, found[0]) for system, found in states.items()))
        return {MARKET_DAILY.name: hashlib.sha256(text.encode()).hexdigest()[:32]}

    def apply(self, game_date: date, predictions: pa.Table) -> pa.Table:
        """The date's predictions with `model_state` set; a blocked system's OVER/UNDER calls become PASS
        and `state_reason` says why."""
        states = self.before(game_date)
        if not states:
            return predictions
        systems = predictions.column("system_id").to_pylist()
        found = [states.get(system) for system in systems]
        blocked = pa.array([f is not None and f[0] == BLOCKED for f in found])
        called = pc.is_in(predictions.column("recommendation"), pa.array([OVER, UNDER]))
        turned = pc.and_(blocked, called)
        columns = {
            "recommendation": pc.if_else(turned, pa.scalar(PASS), predictions.column("recommendation")),
            "model_state": pa.array([f[0] if f else None for f in found], pa.string()),
            "state_reason": pa.array(
                [f"PASS: {f[1]}" if f and f[0] == BLOCKED else None for f in found], pa.string()
            ),
        }
        for name, values in columns.items():
            predictions = predictions.set_column(predictions.schema.get_field_index(name), name, values)
        return predictions

"""Sorted event sequences with exact running sums: the one primitive every feature window is built on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

Columns = dict[str, np.ndarray]

# Integer keys for searchsorted: group · base + day (days counted from the earliest date in the input,
# so they are non-negative and < 100000 for 270 years) and group · base + season start year.
DAY_KEY_BASE = 100_000
SEASON_KEY_BASE = 10_000


# Running sums are int64 counts of 1/FIXED_POINT_SCALE (see EventSequence).
FIXED_POINT_SCALE = float(2**32)


def to_fixed_point(values: np.ndarray) -> np.ndarray:
    """Values as int64 counts of 2⁻³²; whole numbers (points, attempts) stay exact."""
    return np.rint(np.asarray(values, dtype=np.float64) * FIXED_POINT_SCALE).astype(np.int64)


@dataclass(frozen=True)
class EventSequence:
    """Events (played games or team-games) sorted by (group, day), with running sums of value columns.

    Every window the contract needs is "events of a group before day D, from index lo on"; with sorted
    integer keys each bound is one `searchsorted`, and each window total is a difference of two running
    sums. The running sums restart at every group, so a group's totals depend only on its own earlier
    events: changing or adding later games (of anyone) cannot move a row's figures by even one ulp.

    The sums are kept in fixed point (int64 counts of 2⁻³² units), so a window total is exact and does
    not depend on where the group's sum started: a build that begins later (fewer earlier games in the
    input) or whose events tie on a day in another order gives the same bits. Floating-point running
    sums would not (their rounding depends on everything summed before the window). Values are rounded
    to 2⁻³² ≈ 2.3e-10 once, on the way in; a total up to 2³¹ per event fits many careers without overflow.
    """

    group: np.ndarray
    day: np.ndarray
    season: np.ndarray
    day_key: np.ndarray
    season_key: np.ndarray
    group_first: np.ndarray  # per event: index of the first event of its group
    order: np.ndarray  # the sequence's events as indices into the arrays `build` was given
    running: Columns  # per event: fixed-point sum of the group's values up to and including this event

    @classmethod
    def build(cls, group: np.ndarray, day: np.ndarray, season: np.ndarray, values: Columns) -> EventSequence:
        order = np.lexsort((day, group))
        group, day, season = group[order], day[order], season[order]
        season_key = group * SEASON_KEY_BASE + season
        if np.any(np.diff(season_key) < 0):
            raise ValueError("box scores: season labels are not in date order")
        group_first = np.searchsorted(group, group, side="left")
        empty = cls(group, day, season, group * DAY_KEY_BASE + day, season_key, group_first, order, {})
        return empty.with_values({name: column[order] for name, column in values.items()})

    def with_values(self, values: Columns) -> EventSequence:
        """Add running sums of columns already in this sequence's sorted order."""
        if not values:
            return self
        frame = pd.DataFrame({name: to_fixed_point(v) for name, v in values.items()})
        sums = frame.groupby(self.group, sort=False).cumsum() if len(frame) else frame
        running = {name: sums[name].to_numpy(dtype=np.int64) for name in values}
        return dataclasses.replace(self, running={**self.running, **running})

    def with_input_values(self, values: Columns) -> EventSequence:
        """Add running sums of columns given in the order of the arrays `build` was given."""
        return self.with_values({name: np.asarray(column)[self.order] for name, column in values.items()})

    def group_start(self, group: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.group, group, side="left")

    def before(self, group: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Index of the group's first event on or after `day` (= end of the events before `day`)."""
        bound = np.searchsorted(self.day_key, group * DAY_KEY_BASE + day, side="left")
        return np.maximum(bound, self.group_start(group))

    def season_start(self, group: np.ndarray, season: np.ndarray) -> np.ndarray:
        """Index of the group's first event of `season` or later."""
        return np.searchsorted(self.season_key, group * SEASON_KEY_BASE + season, side="left")

    def window(self, lo: np.ndarray, hi: np.ndarray) -> Window:
        """Events [lo, hi) of one group per row: its bounds resolved once for any number of totals."""
        size = len(self.day)
        shape = np.broadcast(lo, hi).shape
        if size == 0:
            empty = np.zeros(shape, dtype=np.int64)
            return Window(self, empty, empty, np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool))
        nonempty = hi > lo
        first = np.clip(lo, 0, size - 1)
        has_lower = nonempty & (first > self.group_first[first])
        return Window(self, np.clip(hi - 1, 0, size - 1), np.maximum(first - 1, 0), nonempty, has_lower)

    def total(self, name: str, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Sum over events [lo, hi) of one group (0 when empty)."""
        return self.window(lo, hi).total(name)


@dataclass(frozen=True)
class Window:
    """Resolved bounds of one window per row in an `EventSequence` (see `EventSequence.window`)."""

    sequence: EventSequence
    upper: np.ndarray  # index of the window's last event
    lower: np.ndarray  # index of the event before its first
    nonempty: np.ndarray
    has_lower: np.ndarray  # the event before its first is of the same group

    def total(self, name: str) -> np.ndarray:
        """Sum of a column over the window (0 when empty), exact in fixed point."""
        if not len(self.sequence.day):
            return np.zeros(self.nonempty.shape)
        running = self.sequence.running[name]
        exact = running[self.upper] - np.where(self.has_lower, running[self.lower], 0)
        return np.where(self.nonempty, exact, 0).astype(np.float64) / FIXED_POINT_SCALE


def ratio(numerator: np.ndarray, denominator: np.ndarray, default: float | np.ndarray) -> np.ndarray:
    """numerator / denominator where the denominator is positive, else `default` (no warnings)."""
    ok = denominator > 0
    return np.where(ok, numerator / np.where(ok, denominator, 1.0), default)

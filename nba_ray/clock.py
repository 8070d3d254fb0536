"""When a date's games tip off: the bound on which line snapshots a prediction may use.

A backfill's as-of time is the tip (the closing line): a snapshot taken after it was not known when the
game could still be bet, so it never reaches a prediction. Without a schedule every game of a date tips at
the configured default (`LinesSettings.default_tip` in `league_timezone`); this is the one place that
turns a game date into its tip time, for the load query and for the lines' fingerprints alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from nba_ray.systems.settings import LinesSettings

# The defaults of `LinesSettings.default_tip` / `league_timezone`: an evening tip in the league's zone.
DEFAULT_TIP = time(19, 0)
LEAGUE_TIMEZONE = "America/New_York"


@dataclass(frozen=True)
class TipClock:
    default_tip: time = DEFAULT_TIP
    league_timezone: str = LEAGUE_TIMEZONE
    # A run before tip-off (`nba-ray predict --as-of T`) knows only what was filed by T.
    as_of: datetime | None = None

    @classmethod
    def of(cls, lines: LinesSettings) -> TipClock:
        return cls(lines.default_tip, lines.league_timezone)

    def at(self, as_of: datetime) -> TipClock:
        """This clock for a run at `as_of`: no snapshot after it is known."""
        return replace(self, as_of=as_of)

    def tip(self, game_date: date) -> datetime:
        """The date's tip-off in UTC (the run's time, when that is earlier)."""
        local = datetime.combine(game_date, self.default_tip, tzinfo=ZoneInfo(self.league_timezone))
        tip = local.astimezone(UTC)
        return tip if self.as_of is None else min(tip, self.as_of)

    def local_date(self, moment: datetime) -> date:
        """The league's calendar date at `moment` (what a game starting then is filed under)."""
        return moment.astimezone(ZoneInfo(self.league_timezone)).date()

    def known_by_tip(self, lines: pa.Table) -> pa.Table:
        """The snapshots of `lines` (game_date, snapshot_ts) taken at or before their date's tip."""
        if lines.num_rows == 0:
            return lines
        dates = lines.column("game_date").to_pylist()
        tips = {d: self.tip(d) for d in set(dates)}
        bound = pa.array([tips[d] for d in dates], pa.timestamp("us", tz="UTC"))
        keep = pc.less_equal(lines.column("snapshot_ts"), bound)
        return lines.filter(pc.fill_null(keep, False))

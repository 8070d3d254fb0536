"""What a person watching a backfill sees: a progress bar, one log line per date, a closing summary."""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from datetime import date

from tqdm import tqdm

from nba_ray.backfill.checkpoints import DONE, SKIPPED, DateOutcome
from nba_ray.backfill.driver import BackfillReport

log = logging.getLogger("nba_ray.backfill")


class Progress:
    """Counts game dates, players and predictions as the writer finishes dates; safe to call from its
    thread. The bar is sized by `planned`, in the game dates the run will do (not calendar days, and
    not the dates already done), so it reaches 100 % when the run completes."""

    def __init__(self, enabled: bool = True) -> None:
        self.started = time.perf_counter()
        self.players = 0
        self.predictions = 0
        self.bar = tqdm(
            total=0,
            unit="date",
            desc="backfill",
            disable=not enabled or not sys.stderr.isatty(),
            dynamic_ncols=True,
        )

    def planned(self, report: BackfillReport) -> None:
        self.bar.reset(total=len(report.game_dates))
        self.started = time.perf_counter()

    def date_finished(self, outcome: DateOutcome) -> None:
        self.players += outcome.players
        self.predictions += outcome.predictions
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        self.bar.set_postfix(
            players=f"{self.players:,}",
            predictions=f"{self.predictions:,}",
            rate=f"{self.predictions / elapsed:,.0f}/s",
        )
        self.bar.update(1)
        if outcome.status == DONE:
            log.info(
                "%s done: %d players, %d predictions, %d skipped | load %.2fs predict %.2fs write %.2fs",
                outcome.game_date,
                outcome.players,
                outcome.predictions,
                outcome.skipped,
                outcome.load_seconds,
                outcome.predict_seconds,
                outcome.write_seconds,
            )
        elif outcome.status == SKIPPED:
            log.warning("%s skipped: %s", outcome.game_date, outcome.error)
        else:
            log.error("%s FAILED: %s", outcome.game_date, outcome.error)

    def close(self) -> None:
        self.bar.close()


def summary(report: BackfillReport) -> str:
    """The closing table: dates by status, predictions per system, skips by reason, wall time; and, when
    a signal stopped the run, a last line saying how far it got and how to resume."""
    per_system: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for outcome in report.done:
        per_system.update(outcome.per_system)
        reasons.update(outcome.skip_reasons)
    lines = [
        f"backfill {report.run_key} (run {report.run_id})",
        f"  dates requested {report.requested_dates:>8,}",
        f"  game dates run  {len(report.outcomes):>8,}   ok {len(report.done):,}   "
        f"skipped {len(report.skipped):,}   failed {len(report.failed):,}",
        f"  already done    {len(report.already_done):>8,}   (inputs unchanged; --no-resume redoes them)",
        f"  predictions     {sum(per_system.values()):>8,}",
    ]
    lines += [f"    {system:<30} {count:>9,}" for system, count in sorted(per_system.items())]
    if reasons:
        lines.append(f"  skips           {sum(reasons.values()):>8,}")
        lines += [f"    {reason:<46} {count:>9,}" for reason, count in sorted(reasons.items())]
    lines += [f"  SKIPPED {skip.game_date}: {skip.error}" for skip in report.skipped]
    lines += failed_lines(report)
    lines.append(f"  wall time {report.wall_seconds:.1f}s (Ray start {report.ray_start_seconds:.1f}s)")
    if report.stopped_by is not None:
        lines.append(stopped_line(report))
    return "\n".join(lines)


def failed_lines(report: BackfillReport) -> list[str]:
    """One line per cause of failure, naming its dates: a full disk fails every date the same way."""
    by_cause: dict[str, list[date]] = {}
    for failure in report.failed:
        by_cause.setdefault(failure.error or "unknown", []).append(failure.game_date)
    lines = []
    for cause, dates in by_cause.items():
        which = str(dates[0]) if len(dates) == 1 else f"{len(dates)} dates {min(dates)} … {max(dates)}"
        lines.append(f"  FAILED {which}: {cause}")
    return lines


def stopped_line(report: BackfillReport) -> str:
    """The one line a stopped run ends with: how far it got, and that the same command resumes it."""
    this_run = len(report.done) + len(report.skipped)
    settled = len(report.already_done) + this_run
    total = len(report.already_done) + len(report.game_dates)
    return (
        f"stopped by {report.stopped_by_name}: {settled} of {total} game date(s) done "
        f"({this_run} this run); rerun the same command to resume"
    )

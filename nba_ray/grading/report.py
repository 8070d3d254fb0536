"""The accuracy report: `report.md` with the tables of `grading/tables.py` and the plots of
`grading/plots.py`, plus any extra sections (the market) placed before the monthly table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from nba_ray.grading.plots import PLOTS
from nba_ray.grading.tables import BREAK_EVEN, _table, markdown_table, prepare
from nba_ray.systems.base import ACTUAL_PROP, ESTIMATED_AVG

REPORT_FILE = "report.md"


def write_report(
    accuracy: pd.DataFrame, directory: Path, title: str, sections: Callable[[Path], str] | None = None
) -> Path:
    """Write `report.md` and the plots it embeds into `directory` (created if needed); return the
    Markdown file's path. `sections` writes its own plots into the directory and returns Markdown placed
    before the monthly table. Deterministic: the same rows give the same files."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = prepare(accuracy)
    for name, _, _, draw in PLOTS:
        draw(rows, directory / name)
    path = directory / REPORT_FILE
    extra = sections(directory) if sections is not None else ""
    path.write_text(report_markdown(rows, title, extra), encoding="utf-8")
    return path


def report_markdown(rows: pd.DataFrame, title: str, extra: str = "") -> str:
    """The Markdown text of the report for prepared accuracy rows."""
    dates = rows["game_date"].dropna()
    span = f"{dates.min():%Y-%m-%d} → {dates.max():%Y-%m-%d}" if not dates.empty else "no dates"
    systems = rows["system_id"].nunique()
    parts = [
        f"# {title}",
        f"{int(rows['graded'].sum()):,} graded predictions and {int(rows['voided'].sum()):,} voided "
        f"(the player did not play) from {systems} system(s), game dates {span}.",
        "## Accuracy by system",
        markdown_table(_table(rows, ["system_id"])),
        _COLUMN_NOTES,
    ]
    for name, heading, caption, _ in PLOTS:
        parts += [f"## {heading}", caption, f"![{heading}]({name})"]
    if extra:
        parts.append(extra)
    parts += ["## By month", markdown_table(_table(rows, ["system_id", "month"]))]
    return "\n\n".join(parts) + "\n"


_COLUMN_NOTES = f"""\
- **n**: graded predictions; **voided**: predictions whose player did not play (no error counted).
- **mae**, **bias**: mean absolute and mean signed error (predicted − actual, points);
  **within_3** / **within_5**: share with |error| ≤ 3 / ≤ 5 points.
- **blend_mae**, **blend_bias**: the baseline 0.5·L5 + 0.3·L10 + 0.2·season on exactly the same rows;
  **mae_ratio** = mae / blend_mae (below 1: better than the blend).
- **hit_prop** / **calls_prop** ({ACTUAL_PROP}: sportsbook lines) and **hit_est** / **calls_est**
  ({ESTIMATED_AVG}: estimated lines): share of correct OVER/UNDER calls and their number; pushes
  (actual = line), PASS and NO_LINE are not calls. Break-even at −110 is {BREAK_EVEN:.1%}.
  **{ESTIMATED_AVG} lines are estimated from the player's own average, not offered by a sportsbook: those
  hit rates are not betting results.**"""

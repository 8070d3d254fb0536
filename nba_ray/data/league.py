"""The league itself: its teams and its seasons. The importer checks box scores against these, and the
synthetic league is built from them, so real and simulated data speak of the same thirty teams."""

from __future__ import annotations

import re
from datetime import date

# Conference -> three divisions of five NBA.com tricodes (the codes the real files and the warehouse use).
CONFERENCES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (
        ("BOS", "BKN", "NYK", "PHI", "TOR"),
        ("CHI", "CLE", "DET", "IND", "MIL"),
        ("ATL", "CHA", "MIA", "ORL", "WAS"),
    ),
    (
        ("DEN", "MIN", "OKC", "POR", "UTA"),
        ("GSW", "LAC", "LAL", "PHX", "SAC"),
        ("DAL", "HOU", "MEM", "NOP", "SAS"),
    ),
)
TEAMS: tuple[str, ...] = tuple(t for conf in CONFERENCES for div in conf for t in div)

SEASON_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
# A season's games fall between September of its first year and August of its second: wide enough for
# the 2019-20 bubble (last regular-season game 2020-08-14) and the 2020-21 December start.
_SEASON_FIRST_MONTH, _SEASON_LAST_MONTH = 9, 8


def season_start_year(season: str) -> int | None:
    """2021 for "2021-22"; None when `season` is not a season name like that."""
    match = SEASON_PATTERN.match(season)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        return None
    return int(match.group(1))


def season_bounds(season: str) -> tuple[date, date]:
    """The first and last calendar day a game of `season` ("2021-22") can be played on."""
    year = season_start_year(season)
    if year is None:
        raise ValueError(f"season {season!r} is not like '2021-22'")
    return date(year, _SEASON_FIRST_MONTH, 1), date(year + 1, _SEASON_LAST_MONTH, 31)


def season_of(day: date) -> str:
    """The season a game on `day` belongs to ("2022-23" for any day from September 2022 to August 2023)."""
    year = day.year if day.month >= _SEASON_FIRST_MONTH else day.year - 1
    return f"{year}-{(year + 1) % 100:02d}"

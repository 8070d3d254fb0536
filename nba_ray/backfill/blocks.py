"""Blocks: the backfill's unit of load, predict and write, a run of consecutive game dates.

A date's work is small (≈ 170 players on a real date) and its fixed costs — round trips to the
warehouse, a call per actor, a write and a checkpoint — are not, so the dates to do are grouped into
blocks of consecutive game dates of at most `batching.block_rows` feature rows. A block never spans a
game date that is not to do (it is loaded by its dates, and a gap would be a date loaded for nothing)
nor two model versions, so each block is predicted by one model. Freshness, resume and exactly-once
stay per date: a block's dates are written with their checkpoints in one atomic replace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date


def group_blocks(
    todo: Sequence[date],
    game_days: Sequence[date],
    rows: Mapping[date, int],
    versions: Mapping[date, str],
    max_rows: int,
) -> list[tuple[date, ...]]:
    """`todo` (game dates, any order) in blocks of consecutive `game_days`, each of at most `max_rows`
    rows (`rows`: feature rows per date; a date above it is a block alone) and one model version."""
    position = {d: i for i, d in enumerate(game_days)}
    blocks: list[list[date]] = []
    filled = 0
    for game_date in sorted(todo):
        size = rows.get(game_date, 0)
        if blocks:
            last = blocks[-1][-1]
            adjacent = position.get(game_date, -2) == position.get(last, -3) + 1
            if adjacent and versions.get(game_date) == versions.get(last) and filled + size <= max_rows:
                blocks[-1].append(game_date)
                filled += size
                continue
        blocks.append([game_date])
        filled = size
    return [tuple(block) for block in blocks]

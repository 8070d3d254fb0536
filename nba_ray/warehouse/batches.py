"""What the loader returns: one date's inputs (`DateBatch`) or a block of dates' (`BlockBatch`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from nba_ray.warehouse.errors import WarehouseError
from nba_ray.warehouse.schemas import HISTORY_SCHEMA, LINE_SNAPSHOT_SCHEMA, ML_FEATURE_STORE


@dataclass(frozen=True)
class DateBatch:
    """One game date's inputs, loaded once: feature rows (one per player), history and lines."""

    game_date: date
    features: pa.Table
    history: pa.Table
    lines: pa.Table

    @property
    def players(self) -> list[str]:
        return self.features.column("player_lookup").to_pylist()

    @property
    def num_players(self) -> int:
        return self.features.num_rows

    @classmethod
    def empty(cls, game_date: date) -> DateBatch:
        return cls(
            game_date,
            ML_FEATURE_STORE.schema.empty_table(),
            HISTORY_SCHEMA.empty_table(),
            LINE_SNAPSHOT_SCHEMA.empty_table(),
        )

    @classmethod
    def concat(cls, game_date: date, parts: Sequence[DateBatch]) -> DateBatch:
        if not parts:
            return cls.empty(game_date)
        return cls(
            game_date,
            pa.concat_tables([p.features for p in parts]),
            pa.concat_tables([p.history for p in parts]),
            pa.concat_tables([p.lines for p in parts]),
        )


# A block's history and lines name the date each row belongs to.
BLOCK_HISTORY_SCHEMA = pa.schema([pa.field("as_of", pa.date32()), *HISTORY_SCHEMA])
BLOCK_LINES_SCHEMA = pa.schema([pa.field("game_date", pa.date32()), *LINE_SNAPSHOT_SCHEMA])


@dataclass(frozen=True)
class BlockBatch:
    """The inputs of a block of game dates: feature rows (one per date and player, by date then
    player), each row's history (`as_of`: the date it is history for) and the dates' lines;
    `failed` holds the dates that could not be loaded, with why."""

    dates: tuple[date, ...]
    features: pa.Table
    history: pa.Table
    lines: pa.Table
    failed: dict[date, WarehouseError] = dataclasses.field(default_factory=dict)

    def players(self) -> dict[date, list[str]]:
        """Every date of the block with its players, in order (a date without feature rows: none)."""
        out: dict[date, list[str]] = {d: [] for d in self.dates}
        for game_date, player in zip(
            self.features.column("game_date").to_pylist(),
            self.features.column("player_lookup").to_pylist(),
            strict=True,
        ):
            out[game_date].append(player)
        return out

    @classmethod
    def of_date(cls, batch: DateBatch) -> BlockBatch:
        day = batch.game_date
        history = batch.history.add_column(0, "as_of", pa.array([day] * batch.history.num_rows, pa.date32()))
        lines = batch.lines.add_column(0, "game_date", pa.array([day] * batch.lines.num_rows, pa.date32()))
        return cls((day,), batch.features, history, lines)

    @classmethod
    def concat(cls, parts: Sequence[BlockBatch]) -> BlockBatch:
        return cls(
            tuple(d for p in parts for d in p.dates),
            pa.concat_tables([p.features for p in parts]),
            pa.concat_tables([p.history for p in parts]),
            pa.concat_tables([p.lines for p in parts]),
            {d: err for p in parts for d, err in p.failed.items()},
        )

"""The issued record (`issued_predictions`): every prediction a run before tip-off issued, with the run's
time (`as_of`). Append-only: a morning run and a pre-tip run each leave their snapshot, a backfill of the
same date after the games never touches them, and a rerun at the same time adds nothing, so what a user
could act on before tip-off stays to be graded beside the backfill."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.warehouse import sql
from nba_ray.warehouse.base import Warehouse, dated
from nba_ray.warehouse.schemas import ISSUED_PREDICTIONS, PLAYER_PROP_PREDICTIONS, conform

__all__ = ["append_issued", "read_issued"]

# A slate: a date's predictions of one mode, the unit a run issues.
_SLATE = ("game_date", "prediction_mode")


def append_issued(warehouse: Warehouse, rows: pa.Table, as_of: datetime) -> int:
    """Append `player_prop_predictions` rows issued by a run at `as_of`; a slate already issued at
    `as_of` keeps its snapshot and gets no rows. Returns the rows appended."""
    stamp = pa.array([as_of] * rows.num_rows, ISSUED_PREDICTIONS.schema.field("as_of").type)
    rows = conform(conform(rows, PLAYER_PROP_PREDICTIONS).append_column("as_of", stamp), ISSUED_PREDICTIONS)
    slates = sorted({(r["game_date"], r["prediction_mode"]) for r in rows.select(list(_SLATE)).to_pylist()})
    if not slates:
        return 0
    stored = warehouse._read(
        ISSUED_PREDICTIONS, {"slate": sql.KeysIn(_SLATE, slates), "as_of": as_of}, columns=_SLATE
    )
    new = sorted(set(slates) - {(r["game_date"], r["prediction_mode"]) for r in stored.to_pylist()})
    if not new:
        return 0
    keys = pc.binary_join_element_wise(
        pc.cast(rows["game_date"], pa.string()), rows["prediction_mode"], sql.KEY_SEPARATOR
    )
    keep = pc.is_in(keys, pa.array([sql.KEY_SEPARATOR.join((str(day), mode)) for day, mode in new]))
    # The condition matches no stored row (checked above): the write only inserts.
    condition = {"slate": sql.KeysIn(_SLATE, new), "as_of": as_of}
    return warehouse._replace_where(ISSUED_PREDICTIONS, rows.filter(keep), condition)


def read_issued(warehouse: Warehouse, start: date, end: date, *, mode: str | None = None) -> pa.Table:
    """Every issued prediction of [start, end] (of one mode when given), each snapshot in run order."""
    order = "game_date, as_of, player_lookup, system_id"
    return warehouse._read(ISSUED_PREDICTIONS, dated(start, end, mode), order)

"""Input fingerprints are written with the inputs, on both backends: the same rows give the same digest,
a changed value changes exactly its date's, and a date whose rows are gone loses its fingerprint."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.features.contract import FEATURE_VERSION
from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.schemas import PROP_LINES
from tests.test_warehouse import feature_rows

DAYS = [date(2022, 1, 10), date(2022, 1, 11), date(2022, 1, 12)]
FEATURES = f"ml_feature_store:{FEATURE_VERSION}"


def features(bump_on: date | None = None) -> pa.Table:
    tables = [feature_rows(day, [f"p{i}" for i in range(4 + n)]) for n, day in enumerate(DAYS)]
    table = pa.concat_tables(tables)
    if bump_on is not None:  # one player's value on one date moves by one ulp's worth
        hit = pc.and_(pc.equal(table["game_date"], bump_on), pc.equal(table["player_lookup"], "p1"))
        column = table.schema.get_field_index("points_avg_last_5")
        moved = pc.if_else(hit, pc.add(table["points_avg_last_5"], 1e-12), table["points_avg_last_5"])
        table = table.set_column(column, "points_avg_last_5", moved)
    return table


def test_feature_fingerprints_follow_the_rows(warehouse: Warehouse) -> None:
    warehouse.replace_features(features(), DAYS[0], DAYS[-1])
    first = warehouse.read_fingerprints(DAYS[0], DAYS[-1])
    assert sorted(first) == DAYS and all(set(inputs) == {FEATURES} for inputs in first.values())
    assert len({inputs[FEATURES] for inputs in first.values()}) == 3

    shuffled = features().take(list(reversed(range(features().num_rows))))
    warehouse.replace_features(shuffled, DAYS[0], DAYS[-1])  # the same rows in another order
    assert warehouse.read_fingerprints(DAYS[0], DAYS[-1]) == first

    warehouse.replace_features(features(bump_on=DAYS[1]), DAYS[0], DAYS[-1])
    bumped = warehouse.read_fingerprints(DAYS[0], DAYS[-1])
    assert [day for day in DAYS if bumped[day] != first[day]] == [DAYS[1]]

    without_last = features().filter(pc.less(features()["game_date"], DAYS[-1]))
    warehouse.replace_features(without_last, DAYS[0], DAYS[-1])
    assert sorted(warehouse.read_fingerprints(DAYS[0], DAYS[-1])) == DAYS[:2]


def test_line_fingerprints_cover_only_the_dates_written(warehouse: Warehouse) -> None:
    def lines(day: date, value: float) -> pa.Table:
        snapshot = datetime(day.year, day.month, day.day, 17, tzinfo=UTC)
        return pa.Table.from_pylist(
            [
                {
                    "game_date": day,
                    "player_lookup": "p1",
                    "bookmaker": "book",
                    "snapshot_ts": snapshot - timedelta(hours=h),
                    "points_line": value + h,
                    "over_price": -110,
                    "under_price": -110,
                }
                for h in range(2)
            ],
            schema=PROP_LINES.schema,
        )

    warehouse.replace_features(features(), DAYS[0], DAYS[-1])
    warehouse.replace_prop_lines(pa.concat_tables([lines(DAYS[0], 20.5), lines(DAYS[1], 11.5)]))
    before = warehouse.read_fingerprints(DAYS[0], DAYS[-1])
    assert {day for day, inputs in before.items() if "prop_lines" in inputs} == set(DAYS[:2])

    warehouse.replace_prop_lines(lines(DAYS[1], 12.5))
    after = warehouse.read_fingerprints(DAYS[0], DAYS[-1])
    assert after[DAYS[0]] == before[DAYS[0]] and after[DAYS[2]] == before[DAYS[2]]
    assert after[DAYS[1]]["prop_lines"] != before[DAYS[1]]["prop_lines"]
    assert after[DAYS[1]][FEATURES] == before[DAYS[1]][FEATURES]

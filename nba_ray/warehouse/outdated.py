"""What an upgrade leaves stale and what it recomputes: dates whose feature rows are all of an older
contract (reported with their fix until rebuilt), and fingerprints computed from stored rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nba_ray.features.contract import FEATURE_VERSION
from nba_ray.warehouse import sql
from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.fingerprints import date_fingerprints, input_name
from nba_ray.warehouse.schemas import INPUT_FINGERPRINTS, ML_FEATURE_STORE, PROP_LINES


@dataclass(frozen=True)
class OutdatedFeatures:
    """Game dates whose feature rows are all of an older contract (`feature_version`)."""

    feature_version: str
    dates: int
    first_date: date
    last_date: date
    predictions: int

    def describe(self) -> str:
        return (
            f"{self.dates:,} game date(s) {self.first_date} → {self.last_date} have only feature rows "
            f"of the older contract {self.feature_version} ({self.predictions:,} predictions made from "
            f"them): stale, rebuild with `nba-ray features --start {self.first_date} --end {self.last_date}`"
        )


def outdated_features(warehouse: Warehouse) -> list[OutdatedFeatures]:
    """The dates whose only feature rows are of an older contract, per contract: stale until rebuilt,
    with the predictions that were made from them."""
    rows = warehouse.query(sql.outdated_features(warehouse.dialect, FEATURE_VERSION)).to_pylist()
    return [
        OutdatedFeatures(
            r["feature_version"], int(r["dates"]), r["first_date"], r["last_date"], int(r["predictions"])
        )
        for r in rows
    ]


def refingerprint(warehouse: Warehouse) -> int:
    """Recompute the fingerprints of every date's stored feature rows (the contract's) and lines from
    the rows themselves: what an upgrade gives a warehouse made before fingerprints."""
    written = 0
    for spec, version in ((ML_FEATURE_STORE, FEATURE_VERSION), (PROP_LINES, None)):
        condition: sql.Condition = {"feature_version": version} if version else {}
        name = input_name(spec, version)
        fingerprints = date_fingerprints(warehouse._read(spec, condition), spec, name)
        written += warehouse._replace_where(INPUT_FINGERPRINTS, fingerprints, {"input": name})
    return written

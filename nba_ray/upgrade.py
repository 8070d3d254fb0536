"""`nba-ray upgrade`: bring a warehouse made by an older version to this one (`warehouse/versions.py`).

It derives what can be derived from the data already stored, records the version, and says what is
left to run: feature rows of an older contract cannot be converted (their inputs changed meaning), so
it names the `nba-ray features` range that rebuilds them and the `catch-up` that re-predicts.
"""

from __future__ import annotations

import time

from nba_ray.config import Settings
from nba_ray.importing import derive_from_box_scores
from nba_ray.warehouse import Warehouse, open_warehouse, versions
from nba_ray.warehouse.outdated import outdated_features, refingerprint


def upgrade(settings: Settings) -> int:
    started = time.perf_counter()
    with open_warehouse(settings, upgrading=True) as warehouse:
        found = warehouse.found_version
        if found is None or found == versions.SCHEMA_VERSION:
            print(f"the warehouse {warehouse.location} is version {versions.SCHEMA_VERSION}: nothing to do")
            return 0
        dates, availability, starters, fingerprints = apply(warehouse)
        print(
            f"upgraded the warehouse {warehouse.location} from version {found} ({versions.describe(found)}) "
            f"to {versions.SCHEMA_VERSION} in {time.perf_counter() - started:.1f}s: derived {availability:,} "
            f"availability rows and {starters:,} starters from the box scores of {dates:,} game date(s), "
            f"fingerprinted the stored feature rows and lines ({fingerprints:,} date inputs)"
        )
        print_remaining(warehouse)
    return 0


def apply(warehouse: Warehouse) -> tuple[int, int, int, int]:
    """Derive what the older version lacked, then record this version (last: an upgrade cut short is
    run again). Returns (game dates, availability rows, starters, fingerprinted date inputs)."""
    dates, availability, starters = derive_from_box_scores(warehouse)
    fingerprints = refingerprint(warehouse)
    versions.record(warehouse)
    return dates, availability, starters, fingerprints


def print_remaining(warehouse: Warehouse) -> None:
    """What the upgrade could not do itself: the commands that remain, in order."""
    outdated = outdated_features(warehouse)
    for contract in outdated:
        print(f"remaining: {contract.describe()}")
    print("remaining: `nba-ray catch-up` (predicts again every date whose predictions are missing or stale)")

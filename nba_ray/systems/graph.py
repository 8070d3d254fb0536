"""The prediction systems as a dependency graph: one registry, used by config validation, the runner and
the backfill (no if/elif over system ids anywhere else).

Each system class declares its id, its settings (`settings_key`), how it is built (`build`, with the
model for `xgboost_v1`) and what it needs (`needs`: the systems whose results it reads; the ensemble
needs its configured components). `SYSTEMS` lists them in dependency order, the order they run in.

What a run computes (`run_set`): the systems asked for, every enabled system that depends on one of
them (running a component redoes the ensemble of the same dates, so no ensemble row is left built
from a component's old predictions), and everything those need (the ensemble is computed from its
components' fresh results, never from stored rows). A date's write then replaces exactly the rows of
the systems computed, so stored rows are never deleted without their replacement.
"""

from __future__ import annotations

from collections.abc import Iterable

from nba_ray.systems.base import SYSTEM_IDS, PredictionSystem, TrainedModel, check_known
from nba_ray.systems.ensemble import Ensemble
from nba_ray.systems.moving_average import MovingAverageBaseline
from nba_ray.systems.settings import SystemsSettings
from nba_ray.systems.similarity import SimilarityBalanced
from nba_ray.systems.xgboost_system import XGBoostSystem
from nba_ray.systems.zone_matchup import ZoneMatchup

SYSTEMS: tuple[type[PredictionSystem], ...] = (
    MovingAverageBaseline,
    ZoneMatchup,
    SimilarityBalanced,
    XGBoostSystem,
    Ensemble,
)
BY_ID: dict[str, type[PredictionSystem]] = {cls.system_id: cls for cls in SYSTEMS}
if tuple(BY_ID) != SYSTEM_IDS:
    raise ImportError(f"the system registry {list(BY_ID)} differs from SYSTEM_IDS {list(SYSTEM_IDS)}")


def unmet_needs(settings: SystemsSettings) -> dict[str, list[str]]:
    """Enabled systems whose needs are not all enabled (config validation refuses these)."""
    enabled = set(settings.enabled)
    out = {}
    for cls in SYSTEMS:
        missing = [n for n in cls.needs(settings) if n not in enabled]
        if cls.system_id in enabled and missing:
            out[cls.system_id] = missing
    return out


def run_set(settings: SystemsSettings, requested: Iterable[str]) -> tuple[str, ...]:
    """The systems a run of `requested` computes (see the module docstring), in dependency order;
    dependents are added only if `settings` enables them."""
    check_known(requested)
    chosen = set(requested)
    while True:
        grown = set(chosen)
        for cls in SYSTEMS:
            needs = set(cls.needs(settings))
            if cls.system_id in settings.enabled and needs & chosen:
                grown.add(cls.system_id)
            if cls.system_id in grown:
                grown |= needs
        if grown == chosen:
            return tuple(s for s in SYSTEM_IDS if s in chosen)
        chosen = grown


def build_systems(settings: SystemsSettings, artifact: TrainedModel | None) -> tuple[PredictionSystem, ...]:
    """The enabled systems, in dependency order (`xgboost_v1` on `artifact`)."""
    return tuple(BY_ID[system_id].build(settings, artifact) for system_id in settings.enabled_in_order)

"""Which registered model predicts each date of a backfill, and which models must be trained first.

Policy `per_season` (the default): a date is predicted by the model trained on every game before its
season, i.e. with `train_end` the day before the season's first game (seasons come from the box
scores' own `season` labels, so a late or shortened season needs no calendar rule). A registered
model fits a season when it is `xgboost_v1` of the run's mode (standard or pre-tip), on that mode's
feature version, with that `train_end` and the configured training parameters; the newest such model
is used. Seasons without one are
trained first, as Ray tasks in parallel (`nba_ray.models.training`), and registered. A season with no
earlier games cannot have a walk-forward model: the plan refuses it rather than use a model trained on
the dates it predicts.

Policy `pinned` (`--model VERSION`): that one registered model (of the run's mode) for every date.

Either way a model is never used on or before its `train_end` (`check_walk_forward`, per date), and
every model the range needs is read from the registry once and shipped to the actors once.

A backfill plans with `plan_models` (reads no model bytes, trains nothing: dry runs and fingerprints use
it), refuses with `refuse_missing` under `--no-train`, and gets its models from one call,
`models_for_dates`: trained where missing, registered, read once and put in the object store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from nba_ray.config import Settings
from nba_ray.features.contract import MODE_CONTRACTS, ModelContractError
from nba_ray.models import registry
from nba_ray.models.artifact import MODEL_SYSTEM_ID
from nba_ray.models.registry import ModelBundle, ModelEntry
from nba_ray.models.training import TrainingSpec, train_on_ray, training_rows
from nba_ray.warehouse import Warehouse

log = logging.getLogger(__name__)


class WalkForwardError(ValueError):
    """A model trained on games at or after the first date it would predict."""


class MissingModels(ValueError):
    """The range needs season models the registry lacks, and training them was not allowed."""


def check_walk_forward(model_version: str, train_end: date, first_predicted_date: date) -> None:
    """Raise `WalkForwardError` unless the model's training ended before the first date it predicts: a
    model is never used on or before its `train_end`."""
    if train_end >= first_predicted_date:
        raise WalkForwardError(
            f"model {model_version} was trained on games up to {train_end}, not before the first "
            f"predicted date {first_predicted_date}: pin a model trained before {first_predicted_date} "
            "(see `nba-ray models`), or use the per-season policy"
        )


@dataclass(frozen=True)
class SeasonNeed:
    """A season of the range and the model it needs: trained on every game before `first_date`."""

    season: str
    first_date: date

    @property
    def train_end(self) -> date:
        return self.first_date - timedelta(days=1)

    def spec(self, mode: str) -> TrainingSpec:
        return TrainingSpec(f"season {self.season} ({mode})", self.train_end, mode)


@dataclass
class ModelPlan:
    """Date → model version for every date of the range (empty without `xgboost_v1`), the seasons
    whose model is still to train, and the models trained for this run."""

    versions: dict[date, str] = field(default_factory=dict)
    missing: list[SeasonNeed] = field(default_factory=list)
    trained: list[ModelEntry] = field(default_factory=list)
    _season_of: dict[date, SeasonNeed] = field(default_factory=dict)

    @property
    def model_versions(self) -> list[str]:
        return sorted(set(self.versions.values()))


def plan_models(warehouse: Warehouse, settings: Settings, dates: Sequence[date]) -> ModelPlan:
    """The model of each of `dates` (game dates); see the module docstring. Reads no model bytes."""
    if MODEL_SYSTEM_ID not in settings.systems.enabled or not dates:
        return ModelPlan()
    if settings.model.policy == "pinned":
        assert settings.model.version is not None  # the settings validate it
        return _pinned(warehouse, settings.model.version, settings.systems.mode, dates)
    plan = ModelPlan(_season_of=_seasons_of(warehouse, dates))
    fitting = _fitting_models(warehouse, settings)
    for need in sorted(set(plan._season_of.values()), key=lambda n: n.first_date):
        if need.train_end not in fitting:
            plan.missing.append(need)
    _assign(plan, fitting)
    return plan


def provide_models(warehouse: Warehouse, settings: Settings, plan: ModelPlan) -> ModelPlan:
    """Train the plan's missing season models as Ray tasks in parallel, register them, and assign them
    to their dates (Ray must be connected). Returns the same plan, complete."""
    if not plan.missing:
        return plan
    specs = [need.spec(settings.systems.mode) for need in plan.missing]
    log.info("training %d season model(s) on Ray: %s", len(specs), ", ".join(s.label for s in specs))
    artifacts = train_on_ray(training_rows(warehouse, specs), specs, settings.model.training)
    for artifact in artifacts:
        registry.register(warehouse, artifact)
    trained = {a.version_id for a in artifacts}
    plan.trained = [e for e in registry.entries(warehouse, MODEL_SYSTEM_ID) if e.model_version in trained]
    plan.missing = []
    _assign(plan, _fitting_models(warehouse, settings))
    return plan


@dataclass(frozen=True)
class DateModels:
    """The model version of each date and the bundle the actors rebuild them from (None: no model)."""

    versions: dict[date, str]
    bundle: ModelBundle | None


def models_for_dates(warehouse: Warehouse, settings: Settings, plan: ModelPlan) -> DateModels:
    """The models of the plan's dates, trained if allowed: the plan's missing season models trained on
    Ray and registered (`provide_models`), then every model the dates use read from the registry once
    (each checked) and put in the object store once. Ray must be connected."""
    provide_models(warehouse, settings, plan)
    fetched = registry.fetch(warehouse, plan.model_versions) if plan.versions else None
    return DateModels(dict(plan.versions), ModelBundle.put(fetched) if fetched else None)


def first_predictable(warehouse: Warehouse, settings: Settings) -> date | None:
    """The first date `xgboost_v1` can predict walk-forward (None: any date, the run has no model):
    the second season's first game under `per_season`, the day after a pinned model's `train_end`."""
    if MODEL_SYSTEM_ID not in settings.systems.enabled:
        return None
    if settings.model.policy == "pinned":
        entry = _registered(warehouse, settings.model.version)
        return entry.train_end + timedelta(days=1) if entry else None
    bounds = warehouse.season_bounds().to_pylist()
    return bounds[1]["first_date"] if len(bounds) > 1 else date.max


def refuse_missing(plan: ModelPlan, mode: str) -> None:
    """`--no-train`: the run is refused when it would have to train, naming the seasons."""
    if plan.missing:
        seasons = ", ".join(f"{n.season} (train_end {n.train_end})" for n in plan.missing)
        raise MissingModels(
            f"no registered {mode} xgboost_v1 model for season(s) {seasons}: run without --no-train to "
            "train them, or pin one with --model VERSION"
        )


def _pinned(warehouse: Warehouse, version: str, mode: str, dates: Sequence[date]) -> ModelPlan:
    entry = _registered(warehouse, version)
    if entry is None:
        raise ModelContractError(
            f"--model {version}: no such model in model_registry (list them with `nba-ray models`)"
        )
    if entry.mode != mode:
        raise ModelContractError(f"--model {version} is a {entry.mode} model: this run is {mode}")
    check_walk_forward(version, entry.train_end, min(dates))
    return ModelPlan(versions=dict.fromkeys(dates, version))


def _registered(warehouse: Warehouse, version: str | None) -> ModelEntry | None:
    return next((e for e in registry.entries(warehouse, MODEL_SYSTEM_ID) if e.model_version == version), None)


def _seasons_of(warehouse: Warehouse, dates: Sequence[date]) -> dict[date, SeasonNeed]:
    """Each date's season; the first season the warehouse holds has nothing to train on."""
    bounds = warehouse.season_bounds().to_pylist()
    out: dict[date, SeasonNeed] = {}
    for game_date in dates:
        index = next(
            (i for i, b in enumerate(bounds) if b["first_date"] <= game_date <= b["last_date"]), None
        )
        if index is None:
            raise WalkForwardError(f"{game_date} is in no season of the box scores")
        season = bounds[index]
        if index == 0:
            raise WalkForwardError(
                f"season {season['season']} (from {season['first_date']}) is the first the warehouse "
                f"holds: no earlier games to train its xgboost_v1 model on; start the range in a later "
                "season, or leave xgboost_v1 out with --systems"
            )
        out[game_date] = SeasonNeed(season["season"], season["first_date"])
    return out


def _fitting_models(warehouse: Warehouse, settings: Settings) -> dict[date, str]:
    """train_end → the newest registered model fit for the per-season policy with that train_end."""
    params = registry.params_json(settings.model.training)
    mode = settings.systems.mode
    fitting: dict[date, str] = {}
    for entry in registry.entries(warehouse, MODEL_SYSTEM_ID):  # oldest first: the newest wins
        fits = entry.mode == mode and entry.feature_version == MODE_CONTRACTS[mode].version
        if fits and entry.params == params:
            fitting[entry.train_end] = entry.model_version
    return fitting


def _assign(plan: ModelPlan, fitting: dict[date, str]) -> None:
    plan.versions = {}
    for game_date, need in plan._season_of.items():
        version = fitting.get(need.train_end)
        if version is None:
            continue  # still to train
        check_walk_forward(version, need.train_end, game_date)
        plan.versions[game_date] = version

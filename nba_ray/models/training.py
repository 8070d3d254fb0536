"""Walk-forward training of `xgboost_v1`: the algorithm, and one model per season as Ray tasks in parallel.

The algorithm (`train_model`). Rows are feature-store rows (the features of the mode's contract: standard
models read `v2_avail_40`, pre-tip models `v3_lineups_43`, `MODE_CONTRACTS`) joined to the actual
points of that game, all dated within [train_start, train_end] — rows outside the range are an error,
because a model used for a date range must be trained only on games before it. The last
`validation_fraction` of the distinct dates (by date, never at random) are held out; each candidate
objective is trained on the earlier dates with early stopping on the held-out MAE, and the objective with
the lowest validation MAE whose |bias| ≤ `max_abs_bias` is chosen (the project's target is MAE below the
0.5·L5+0.3·L10+0.2·season blend with |bias| ≤ 0.3; the blend's validation MAE is recorded beside it).
The final booster is then **refit on all rows** with that objective and the early-stopped number of
rounds, so the most recent games — the most informative for the dates that follow — are in the model;
the recorded validation figures are those of the held-out fit. Deterministic: fixed seed, `tree_method =
hist`, `nthread` from the parameters (results are reproducible for a given nthread).

On Ray (`train_on_ray`). The driver reads the training rows once (feature rows joined to actual points,
up to the latest `train_end` asked for) and puts them in the object store once; each task trains one
model on the rows dated on or before its own `train_end` and returns the booster's bytes and metadata,
which the driver checks (hash, contract) and registers. Tasks never open the warehouse: an embedded
DuckDB file can be opened by one process only, and a cloud worker has no copy of it anyway.

Each task trains with `params.nthread` threads and asks for as many CPUs (at most what the largest node
has, `task_cpus`), so a model is the same bit for bit whether it was trained in a task, beside others,
or in the driver (`train_model` is deterministic for a given nthread); how many seasons train at once
is what the cluster's CPUs allow.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import ray

from nba_ray.features.contract import MODE_CONTRACTS, STANDARD, Contract
from nba_ray.models.artifact import ModelArtifact, ModelMetadata, ObjectiveScore, parse_metadata, sha256_hex
from nba_ray.systems.rules import blend_baseline
from nba_ray.systems.settings import XGBoostTrainParams
from nba_ray.warehouse.base import EARLIEST_DATE, Warehouse

if TYPE_CHECKING:  # xgboost is imported where a model is trained, not by every importer
    import xgboost as xgb

TARGET_COLUMN = "actual_points"
DATE_COLUMN = "game_date"


def _booster_params(params: XGBoostTrainParams, objective: str, nthread: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "objective": objective,
        "eval_metric": "mae",
        "tree_method": "hist",
        "learning_rate": params.learning_rate,
        "max_depth": params.max_depth,
        "min_child_weight": params.min_child_weight,
        "subsample": params.subsample,
        "colsample_bytree": params.colsample_bytree,
        "reg_lambda": params.reg_lambda,
        "seed": params.seed,
        "nthread": nthread,
    }
    if objective == "reg:pseudohubererror":
        out["huber_slope"] = params.huber_slope
    return out


def _matrix(rows: pd.DataFrame, names: tuple[str, ...], nthread: int) -> xgb.DMatrix:
    import xgboost as xgb

    return xgb.DMatrix(
        rows.loc[:, list(names)].to_numpy(dtype=np.float32, na_value=np.nan),
        label=rows[TARGET_COLUMN].to_numpy(dtype=np.float32),
        feature_names=list(names),
        nthread=nthread,
    )


def _validation_split(rows: pd.DataFrame, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame, date]:
    dates = np.sort(rows[DATE_COLUMN].unique())
    if len(dates) < 2:
        raise ValueError("training needs rows on at least 2 distinct dates (the last ones are held out)")
    held_out = min(len(dates) - 1, max(1, math.ceil(len(dates) * fraction)))
    first_validation = dates[len(dates) - held_out]
    is_validation = rows[DATE_COLUMN] >= first_validation
    return rows.loc[~is_validation], rows.loc[is_validation], first_validation


def _prepare(rows: pd.DataFrame, names: tuple[str, ...], train_start: date, train_end: date) -> pd.DataFrame:
    missing = [c for c in (*names, TARGET_COLUMN, DATE_COLUMN) if c not in rows.columns]
    if missing:
        raise ValueError(f"training rows: missing column(s) {', '.join(missing)}")
    if train_start > train_end:
        raise ValueError(f"train_start {train_start} is after train_end {train_end}")
    out = rows.loc[:, [*names, TARGET_COLUMN, DATE_COLUMN]].copy()
    out[DATE_COLUMN] = pd.to_datetime(out[DATE_COLUMN]).dt.date
    outside = (out[DATE_COLUMN] < train_start) | (out[DATE_COLUMN] > train_end)
    if outside.any():
        raise ValueError(
            f"training rows: {int(outside.sum())} row(s) dated outside [{train_start}, {train_end}] "
            "(walk-forward: select the training range before calling train_model)"
        )
    if out[TARGET_COLUMN].isna().any():
        raise ValueError(
            f"training rows: {int(out[TARGET_COLUMN].isna().sum())} row(s) without actual_points"
        )
    # A canonical row order, so the model does not depend on the order a query returned the rows in
    # (row subsampling follows row order).
    return out.sort_values([DATE_COLUMN, TARGET_COLUMN, *names], kind="stable").reset_index(drop=True)


def train_model(
    rows: pd.DataFrame,
    *,
    train_start: date,
    train_end: date,
    params: XGBoostTrainParams | None = None,
    nthread: int | None = None,
    created_at: datetime | None = None,
    mode: str = STANDARD,
    contract: Contract | None = None,
) -> ModelArtifact:
    """Train `xgboost_v1` walk-forward on `rows` (the mode's contract features, actual_points,
    game_date); see the module doc. `contract` overrides the mode's only to reproduce an older model."""
    import xgboost as xgb

    contract = contract or MODE_CONTRACTS[mode]
    params = params or XGBoostTrainParams()
    threads = nthread or params.nthread
    names = contract.names
    data = _prepare(rows, names, train_start, train_end)
    early, late, validation_start = _validation_split(data, params.validation_fraction)
    d_early, d_late = _matrix(early, names, threads), _matrix(late, names, threads)
    actual = late[TARGET_COLUMN].to_numpy(dtype=float)

    scores: dict[str, ObjectiveScore] = {}
    for objective in params.objectives:
        booster = xgb.train(
            _booster_params(params, objective, threads),
            d_early,
            num_boost_round=params.max_rounds,
            evals=[(d_late, "validation")],
            early_stopping_rounds=params.early_stopping_rounds,
            verbose_eval=False,
        )
        rounds = int(booster.best_iteration) + 1
        errors = booster.predict(d_late, iteration_range=(0, rounds)).astype(float) - actual
        scores[objective] = ObjectiveScore(
            validation_mae=float(np.mean(np.abs(errors))),
            validation_bias=float(np.mean(errors)),
            rounds=rounds,
        )
    chosen = _choose_objective(scores, params.max_abs_bias)

    final = xgb.train(
        _booster_params(params, chosen, threads),
        _matrix(data, names, threads),
        num_boost_round=scores[chosen].rounds,
    )
    raw = bytes(final.save_raw("json"))
    metadata = ModelMetadata(
        mode=mode,
        feature_version=contract.version,
        features=list(names),
        train_start=train_start,
        train_end=train_end,
        rows=len(data),
        train_rows=len(early),
        validation_rows=len(late),
        validation_start=validation_start,
        validation_mae=scores[chosen].validation_mae,
        validation_bias=scores[chosen].validation_bias,
        validation_blend_mae=float(np.mean(np.abs(blend_baseline(late) - actual))),
        objective=chosen,
        rounds=scores[chosen].rounds,
        objective_scores=scores,
        xgboost_version=xgb.__version__,
        params=json.loads(params.model_dump_json()),
        created_at=created_at or datetime.now(UTC),
        booster_sha256=sha256_hex(raw),
    )
    return ModelArtifact(xgb.Booster(params={"nthread": 1}, model_file=bytearray(raw)), metadata)


def _choose_objective(scores: dict[str, ObjectiveScore], max_abs_bias: float) -> str:
    """Lowest validation MAE among objectives with |bias| in bounds, else the least biased."""
    acceptable = [name for name, s in scores.items() if abs(s.validation_bias) <= max_abs_bias]
    if acceptable:
        return min(acceptable, key=lambda name: scores[name].validation_mae)
    return min(scores, key=lambda name: abs(scores[name].validation_bias))


class NoTrainingRows(ValueError):
    """No played games with feature rows before a model's `train_end`."""


@dataclass(frozen=True)
class TrainingSpec:
    """One model to train: every played game up to and including `train_end`, on the inputs of `mode`
    (`label` names it)."""

    label: str
    train_end: date
    mode: str = STANDARD


def training_rows(warehouse: Warehouse, specs: Sequence[TrainingSpec]) -> pa.Table:
    """The rows every spec needs, read in one query (each spec's rows are a prefix by date)."""
    return warehouse.read_training_rows(EARLIEST_DATE, max(spec.train_end for spec in specs))


def train_one(rows: pa.Table, spec: TrainingSpec, params: XGBoostTrainParams) -> ModelArtifact:
    """The model of `spec` on its slice of `rows` (rows dated after `train_end` are never seen)."""
    upto = rows.filter(pc.less_equal(rows["game_date"], pa.scalar(spec.train_end, pa.date32())))
    if upto.num_rows == 0:
        raise NoTrainingRows(
            f"{spec.label}: no feature rows with actual points up to {spec.train_end}: "
            "run `nba-ray features` over the earlier seasons"
        )
    frame: pd.DataFrame = upto.to_pandas()
    first = min(frame["game_date"])
    return train_model(frame, train_start=first, train_end=spec.train_end, params=params, mode=spec.mode)


@ray.remote(max_retries=1)
def _train_task(rows: pa.Table, spec: TrainingSpec, params: XGBoostTrainParams) -> tuple[str, bytes]:
    artifact = train_one(rows, spec, params)
    return artifact.metadata.model_dump_json(), artifact.raw


def train_on_ray(
    rows: pa.Table, specs: Sequence[TrainingSpec], params: XGBoostTrainParams
) -> list[ModelArtifact]:
    """Every spec's model, trained as Ray tasks in parallel (`params.nthread` CPUs each), in spec order;
    each result is checked (hash, contract) as it is rebuilt here."""
    rows_ref = ray.put(rows)
    task = _train_task.options(num_cpus=task_cpus(params.nthread))
    refs = [task.remote(rows_ref, spec, params) for spec in specs]
    artifacts = []
    for spec, (metadata, raw) in zip(specs, ray.get(refs), strict=True):
        meta = parse_metadata(metadata, source=spec.label)
        artifacts.append(ModelArtifact.from_raw(meta, raw, source=spec.label))
    return artifacts


def task_cpus(nthread: int) -> int:
    """The CPUs a training task asks for: its threads, but never more than the largest node has (a
    task no node can hold would wait for ever; it still trains with `nthread` threads, so the model is
    the same). With no CPU on any node yet (an autoscaling cluster's empty head), one CPU, which the
    autoscaler then adds a worker for."""
    largest = max((node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node["Alive"]), default=0.0)
    return max(1, min(nthread, int(largest)))

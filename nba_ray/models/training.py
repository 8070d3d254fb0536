"""Walk-forward training of `xgboost_v1` models, one per season, as Ray tasks in parallel.

The driver reads the training rows once (feature rows joined to actual points, up to the latest
`train_end` asked for) and puts them in the object store once; each task trains one model on the rows
dated on or before its own `train_end` and returns the booster's bytes and metadata, which the driver
checks (hash, contract) and registers. Tasks never open the warehouse: an embedded DuckDB file can be
opened by one process only, and a cloud worker has no copy of it anyway.

Each task trains with `params.nthread` threads and asks for as many CPUs (at most what the largest node
has, `task_cpus`), so a model is the same bit for bit whether it was trained in a task, beside others,
or in the driver (`train_model` is deterministic for a given nthread); how many seasons train at once
is what the cluster's CPUs allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import ray

from nba_ray.features.contract import STANDARD
from nba_ray.systems.model import ModelArtifact, parse_metadata, train_model
from nba_ray.systems.settings import XGBoostTrainParams
from nba_ray.warehouse.base import EARLIEST_DATE, Warehouse


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

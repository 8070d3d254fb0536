"""The model registry: every trained model, stored in the warehouse's `model_registry` table.

A row holds the booster's bytes (`artifact`), the artifact's full metadata as JSON, and the columns a
person or a planner looks models up by (version, system, feature version, training range, rows,
validation figures, training parameters, library version, sha256, created_at), all taken from the
metadata so they can never disagree with it. Reading a model back checks the bytes against the row's
sha256 and the metadata's, and the metadata against the feature contract: a tampered or stale
artifact is refused with a one-line `ModelContractError`, never used.

The warehouse is the only place models live: the backfill reads the ones a range needs once and ships
them to its actors through the object store (`ModelBundle`), so no node needs a model file; `nba-ray
train --out` still exports a copy as a directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from nba_ray.features.contract import ModelContractError
from nba_ray.models.artifact import ModelArtifact, parse_metadata
from nba_ray.systems.settings import XGBoostTrainParams
from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.schemas import MODEL_REGISTRY, MODEL_REGISTRY_LISTING

REGISTRY = MODEL_REGISTRY.name


def params_json(params: Mapping[str, Any] | XGBoostTrainParams) -> str:
    """Training parameters as canonical JSON (how the registry stores and compares them)."""
    plain = json.loads(params.model_dump_json()) if isinstance(params, XGBoostTrainParams) else params
    return json.dumps(plain, sort_keys=True)


def registry_row(artifact: ModelArtifact) -> pa.Table:
    """The one-row `model_registry` table of `artifact`."""
    meta = artifact.metadata
    row = {
        "model_version": artifact.version_id,
        "system_id": meta.system_id,
        "feature_version": meta.feature_version,
        "mode": meta.mode,
        "train_start": meta.train_start,
        "train_end": meta.train_end,
        "row_count": meta.rows,
        "validation_mae": meta.validation_mae,
        "validation_bias": meta.validation_bias,
        "validation_blend_mae": meta.validation_blend_mae,
        "params": params_json(meta.params),
        "library_version": meta.xgboost_version,
        "sha256": meta.booster_sha256,
        "created_at": meta.created_at,
        "metadata": meta.model_dump_json(),
        "artifact": artifact.raw,
    }
    return pa.Table.from_pylist([row], schema=MODEL_REGISTRY.schema)


def register(warehouse: Warehouse, artifact: ModelArtifact) -> str:
    """Store `artifact` in the registry; returns its `model_version`."""
    warehouse.register_model(registry_row(artifact))
    return artifact.version_id


@dataclass(frozen=True)
class StoredModel:
    """One registry row as the backfill ships it: checked again wherever it is rebuilt."""

    model_version: str
    metadata: str
    artifact: bytes
    sha256: str

    def build(self, *, nthread: int = 1) -> ModelArtifact:
        """The artifact, after checking bytes, hash, version and contract (`ModelContractError`)."""
        source = f"{self.model_version} in {REGISTRY}"
        metadata = parse_metadata(self.metadata, source=source)
        if self.sha256 != metadata.booster_sha256:
            raise ModelContractError(f"model {source}: its sha256 column differs from its metadata's")
        artifact = ModelArtifact.from_raw(metadata, self.artifact, source=source, nthread=nthread)
        if artifact.version_id != self.model_version:
            raise ModelContractError(f"model {source} is stored as version {artifact.version_id}")
        return artifact


def fetch(warehouse: Warehouse, versions: Sequence[str]) -> dict[str, StoredModel]:
    """The registry rows of `versions`, each checked once here; an unknown version is an error."""
    wanted = sorted(set(versions))
    if not wanted:
        return {}
    rows = warehouse.read_models(wanted).to_pylist()
    stored = {
        row["model_version"]: StoredModel(
            row["model_version"], row["metadata"], row["artifact"], row["sha256"]
        )
        for row in rows
    }
    missing = [v for v in wanted if v not in stored]
    if missing:
        raise ModelContractError(
            f"no model {', '.join(missing)} in {REGISTRY}: list the registered ones with `nba-ray models`"
        )
    for model in stored.values():
        model.build()
    return stored


def load(warehouse: Warehouse, version: str) -> ModelArtifact:
    """One registered model, checked."""
    return fetch(warehouse, [version])[version].build()


@dataclass(frozen=True)
class ModelEntry:
    """A registry row without its bytes: what listing and the planner look at."""

    model_version: str
    system_id: str
    feature_version: str
    mode: str
    train_start: date
    train_end: date
    row_count: int
    validation_mae: float
    validation_blend_mae: float
    params: str


def entries(warehouse: Warehouse, system_id: str | None = None) -> list[ModelEntry]:
    """Registered models (oldest training range first)."""
    fields = ModelEntry.__dataclass_fields__
    return [
        ModelEntry(**{k: v for k, v in row.items() if k in fields})
        for row in warehouse.list_models(system_id).to_pylist()
    ]


def listing(warehouse: Warehouse) -> pa.Table:
    """The registry for people: every column but the bytes and the metadata JSON."""
    return warehouse.list_models().select(list(MODEL_REGISTRY_LISTING))


@dataclass(frozen=True)
class ModelBundle:
    """The models a backfill uses, in the object store once; actors fetch it themselves.

    Wrapped rather than passed as a bare ObjectRef argument, so an actor fetches it itself, once, on
    the first call that brings it (after a restart too), instead of Ray deserialising it for every call.
    The pool holds this object for its whole life, which keeps it pinned."""

    ref: Any  # ray.ObjectRef of dict[str, StoredModel]

    @classmethod
    def put(cls, models: Mapping[str, StoredModel]) -> ModelBundle:
        import ray

        return cls(ray.put(dict(models)))

    def artifacts(self, *, nthread: int = 1) -> dict[str, ModelArtifact]:
        """Every model of the bundle, rebuilt and checked (hash, version, contract) in this process."""
        import ray

        models: dict[str, StoredModel] = ray.get(self.ref)
        return {version: model.build(nthread=nthread) for version, model in models.items()}

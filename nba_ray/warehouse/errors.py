"""Errors every warehouse backend raises, so callers handle one vocabulary whatever the backend."""

from __future__ import annotations


class WarehouseError(RuntimeError):
    """A warehouse operation failed for good (after any retries); never turned into an empty result."""


class WarehouseUnwritable(WarehouseError):
    """The warehouse can take no more writes (its disk is full): every later write would fail the same
    way, so a backfill reports it once for all its dates rather than once per date."""


class WarehouseMissing(WarehouseError):
    """A read-only open found no warehouse where the configuration points (a read never creates one)."""


class TransientWarehouseError(WarehouseError):
    """A failure worth retrying with backoff: a dropped connection, a 5xx, a rate limit."""


class QueryTimeout(TransientWarehouseError):
    """A query ran past its timeout. The loader splits a timed-out player chunk before retrying it."""


def one_line(error: BaseException, limit: int = 300) -> str:
    """`Type: first line of the message`, short enough for a checkpoint row or a log line."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:limit]


def failure_line(error: BaseException) -> str:
    """A failure's cause in one line: a Ray task's own error rather than Ray's wrapper and remote
    traceback, an operating-system error's reason and path (`No space left on device: /data/x`)."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException) and type(error).__name__.startswith("RayTaskError"):
        return failure_line(cause)
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__

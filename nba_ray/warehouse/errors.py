"""Errors every warehouse backend raises, so callers handle one vocabulary whatever the backend."""

from __future__ import annotations


class WarehouseError(RuntimeError):
    """A warehouse operation failed for good (after any retries); never turned into an empty result."""


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

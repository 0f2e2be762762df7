"""Both cores for the per-value parsers: a process pool that `per_distinct` uses while it is open.

The parsers (phonenumbers, email-validator, nameparser, cleanco) are pure Python, so threads
would share one core; processes do not. Opening the pool costs each worker an import of the
parsers (about a second), so only large batches of distinct values are sent to it, and one
pool serves every field of a whole tenant:

    with worker_pool(2):
        tables = normalize_tenant(snapshots)

Without an open pool (the default) everything runs in the calling process. Workers are started
with "spawn", not "fork": forking a process that holds DuckDB or Dagster threads can deadlock.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

log = logging.getLogger(__name__)

# Below this many distinct values, shipping them to another process costs more than it saves.
MIN_PARALLEL_VALUES = 20_000
# Several chunks per worker even out the uneven cost of values (a garbled phone is slower).
CHUNKS_PER_WORKER = 4

_POOL: ContextVar[tuple[Executor, int] | None] = ContextVar("normalize_worker_pool", default=None)


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity call
        return os.cpu_count() or 1


def _warm_up() -> None:
    # Import every parser once per worker, before the first chunk arrives, so chunks are even.
    import crm_hygiene.normalize.records  # noqa: F401


@contextmanager
def worker_pool(workers: int | None = None) -> Iterator[int]:
    """Run large per-value batches on `workers` processes (default: every core) while open.

    Yields the number of workers; 1 means no pool (everything stays in this process).
    """
    count = default_workers() if workers is None else workers
    if count <= 1 or _POOL.get() is not None:
        yield max(count, 1)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(count, mp_context=context, initializer=_warm_up) as pool:
        token = _POOL.set((pool, count))
        try:
            yield count
        finally:
            _POOL.reset(token)


def _picklable(function: Callable[..., Any]) -> bool:
    try:
        pickle.dumps(function)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _apply(function: Callable[..., Any], items: Sequence[tuple[Any, ...]]) -> list[Any]:
    return [function(*item) for item in items]


def map_values(function: Callable[..., Any], items: Sequence[tuple[Any, ...]]) -> list[Any]:
    """`[function(*item) for item in items]`, on the open pool when the batch is worth it."""
    opened = _POOL.get()
    if opened is None or len(items) < MIN_PARALLEL_VALUES or not _picklable(function):
        return _apply(function, items)
    pool, count = opened
    size = -(-len(items) // (count * CHUNKS_PER_WORKER))
    chunks = [items[start : start + size] for start in range(0, len(items), size)]
    out: list[Any] = []
    try:
        for part in pool.map(_apply, [function] * len(chunks), chunks):
            out.extend(part)
    except BrokenProcessPool:
        # A worker died (killed for memory, or a script without a `__main__` guard that
        # "spawn" cannot start): the batch is still done, here, rather than the run failing.
        log.warning("normalize worker pool broke; finishing %d values in this process", len(items))
        _POOL.set(None)
        return _apply(function, items)
    return out

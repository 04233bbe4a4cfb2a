"""Worker processes for the from-scratch rebuilds: the per-report work
(extraction, location, rule evaluation) is pure given the rows, so chunks of
report ids are read and computed by forked workers, each on its own database
connection, while the parent builds the graph and writes.

Only where it is safe and worth it: PostgreSQL (each worker reads committed
rows in its own session), the rebuild's own transaction outermost (inside a
test's transaction the workers would not see the rows), and enough reports.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, connections

T = TypeVar("T")
R = TypeVar("R")
PARALLEL_MIN_REPORTS = 20_000
_inherited: list[Any] = []  # the parent's sockets, kept alive in a worker: never closed from there


def workers_for(reports: int) -> int:
    configured = getattr(settings, "HIMAYA_REBUILD_WORKERS", None)
    wanted = int(configured) if configured else (os.cpu_count() or 1)
    if wanted <= 1 or connection.vendor != "postgresql" or len(connection.atomic_blocks) > 1:
        return 1
    if reports < PARALLEL_MIN_REPORTS and not configured:
        return 1
    return wanted


def _worker_init() -> None:
    # A forked worker shares the parent's database socket; closing it here
    # would end the parent's session. Drop it (kept referenced, so no finaliser
    # runs) and let Django open a connection of the worker's own.
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _inherited.append(conn.connection)
            conn.connection = None


def map_chunks(fn: Callable[[T], R], chunks: Iterable[T], *, workers: int) -> Iterator[R]:
    """fn over chunks, in order; fn and its results must pickle (a module-level
    function). Context set in module globals before the call reaches the
    workers through fork."""
    if workers <= 1:
        yield from map(fn, chunks)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_worker_init) as pool:
        yield from pool.imap(fn, chunks)

"""``--workers`` and ``--scheduler``: where ``medcite ingest`` and ``medcite index`` run their
parallel work (a Dask cluster), shared by both commands."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import click


def cluster_options(command: Callable) -> Callable:
    command = click.option(
        "--scheduler", default=None, metavar="tcp://HOST:PORT",
        help="Run on the workers of this Dask scheduler (they must see the same paths).")(command)
    return click.option(
        "--workers", type=int, default=None, metavar="N",
        help="Run on a local Dask cluster of N worker processes (127.0.0.1; needs "
             "medcite[scale]).")(command)


def cluster_for(workers: int | None, scheduler: str | None) -> contextlib.AbstractContextManager:
    """The Dask cluster the options name (closed on exit), or None for this process."""
    if workers is None and scheduler is None:
        return contextlib.nullcontext(None)
    from medcite.ingest.cluster import ClusterSpec, DaskCluster

    return DaskCluster(ClusterSpec(workers=workers, scheduler=scheduler))


def encoders_on(dask, cache_dir: Path):
    """``embed_store``'s ``encoder_for`` on the cluster ``dask`` (None: in this process)."""
    if dask is None:
        return None
    from medcite.ingest.cluster import ClusterEncoder

    return lambda spec: ClusterEncoder(dask, spec, cache_dir)

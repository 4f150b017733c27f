"""``medcite eval``: the evaluation tasks of ../shared/data, baseline measured side by side."""

from __future__ import annotations

from pathlib import Path

import click

from medcite.cli import cli
from medcite.errors import InputError
from medcite.settings import Settings


def _data_dir(data: str | None) -> Path:
    path = Path(data or Settings.load().shared_data)
    if not path.is_dir():
        raise InputError(f"evaluation data folder {path} not found; pass --data or set MEDCITE_SHARED_DATA")
    return path


@cli.group(name="eval")
def evaluate() -> None:
    """Evaluate retrieval and answers on the shared evaluation sets."""


@evaluate.command()
@click.option("--data", help="The shared data folder (default: $MEDCITE_SHARED_DATA or ../shared/data).")
@click.option("--task", type=click.Choice(["medicationqa", "pubmedqa", "both"]), default="both")
@click.option("--dense", is_flag=True, help="Also evaluate hybrid retrieval (embeds each corpus once).")
@click.option("--queries", type=click.IntRange(1), help="Only the first N queries.")
def retrieval(data: str | None, task: str, dense: bool, queries: int | None) -> None:
    """R@1, R@10, MRR@10, nDCG@10 and latency, medcite vs plain BM25."""
    from medcite.evaluation.retrieval import run

    run(_data_dir(data), task=task, dense=dense, queries=queries, echo=click.echo)

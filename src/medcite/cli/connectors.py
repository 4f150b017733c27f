"""``medcite corpus pubmed``, ``corpus pubmed-files`` and ``corpus dailymed``: fetch from the
live sources, then ingest what arrived through the normal ingest path (so a rerun adds
nothing twice). These are the only commands that reach PubMed or DailyMed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from medcite.cli.corpus import _NO_EMBED, _embed, _finish, _plan_embedding, corpus
from medcite.connectors.dailymed import DailyMed, fetch_labels
from medcite.connectors.eutils import (DEFAULT_BATCH, PUBMED_SEARCH_LIMIT, fetch_query,
                                       parse_date, remember_run)
from medcite.connectors.pubmed_files import fetch_files
from medcite.ingest.runner import IngestReport, ingest_paths
from medcite.settings import Settings
from medcite.store import open_store

_QUIET = click.option("--quiet", is_flag=True, help="No progress bars.")


def _ingest(settings: Settings, paths: Sequence[Path], *, quiet: bool,
            no_embed: bool) -> IngestReport:
    """Ingest the fetched files exactly as ``medcite ingest`` would, and embed them."""
    store = open_store(settings)
    try:
        embed = _plan_embedding(store, settings, no_embed)
        report = ingest_paths(store, list(paths), batch_size=settings.ingest_batch,
                              progress=not quiet)
        report.learn_conditions(store, settings)
        if embed:
            _embed(store, settings, quiet)
    finally:
        store.close()
    return report


@corpus.command("pubmed")
@click.option("--query", required=True,
              help='A PubMed search as typed on PubMed, e.g. "mirtazapine[tiab] AND 2015:2025[dp]".')
@click.option("--max", "max_records", type=click.IntRange(1, 10_000_000), default=10_000,
              show_default=True, help="Most records to fetch.")
@click.option("--since", "since_text", metavar="YYYY/MM/DD",
              help="Only records entered on or after this date (default: those entered since "
                   "this query's last complete run, or all the first time).")
@click.option("--batch", type=click.IntRange(1, 10_000), default=DEFAULT_BATCH, show_default=True,
              help="Records per efetch request.")
@_QUIET
@_NO_EMBED
def corpus_pubmed(query: str, max_records: int, since_text: str | None, batch: int,
                  quiet: bool, no_embed: bool) -> None:
    """Search PubMed (E-utilities) and ingest the matching records."""
    settings = Settings.load()
    since = parse_date(since_text) if since_text else None
    run = fetch_query(settings, query, max_records=max_records, since=since, batch=batch,
                      progress=not quiet)
    window = (f" entered {run.mindate:%Y/%m/%d}-{run.maxdate:%Y/%m/%d}"
              if run.mindate and run.maxdate else "")
    click.echo(f"PubMed: {run.search.count:,} records match{window}"
               + (f" ({run.search.translation})" if run.search.translation else ""))
    if len(run.windows) > 1:
        click.echo(f"read as {len(run.windows)} searches by entry date (E-utilities serves at "
                   f"most {PUBMED_SEARCH_LIMIT:,} records of one)")
    if run.search.not_found:
        click.echo(f"note: PubMed did not find: {', '.join(run.search.not_found)}", err=True)
    if not run.files:
        remember_run(settings, run)
        click.echo("nothing to fetch")
        return
    click.echo(f"fetched {run.fetched:,} records in {len(run.files)} file(s) into {run.folder}")
    report = _ingest(settings, run.files, quiet=quiet, no_embed=no_embed)
    if not report.failed:
        if remember_run(settings, run):
            click.echo(f"query up to date as of {run.maxdate or 'today'}: the next run asks only "
                       "for records entered since (--since overrides)")
        else:
            why = ("--max" if run.requested == max_records else "E-utilities serves only "
                   f"{PUBMED_SEARCH_LIMIT:,} records of a search, and more than that were entered "
                   "on one day; narrow the query or use medcite corpus pubmed-files")
            click.echo(f"note: {run.requested:,} of {run.search.count:,} matching records were "
                       f"fetched ({why}), so the next run fetches this query in full again",
                       err=True)
    _finish(report)


@corpus.command("pubmed-files")
@click.option("--baseline", "kind", flag_value="baseline", help="The yearly baseline files.")
@click.option("--updates", "kind", flag_value="updates", help="The daily update files.")
@click.option("--max-files", type=click.IntRange(1, 100_000), default=None,
              help="Only the first N files of the listing.")
@_QUIET
@_NO_EMBED
def corpus_pubmed_files(kind: str | None, max_files: int | None, quiet: bool,
                        no_embed: bool) -> None:
    """Download the PubMed baseline or update files (each checked against its .md5, resumable),
    then ingest them."""
    if kind is None:
        raise click.UsageError("say which files: --baseline or --updates")
    settings = Settings.load()
    files = fetch_files(settings, kind, max_files=max_files, progress=not quiet)
    fresh = sum(f.downloaded for f in files)
    click.echo(f"PubMed {kind} files: {len(files)} verified ({fresh} downloaded, "
               f"{len(files) - fresh} already here) in {files[0].path.parent}")
    _finish(_ingest(settings, [f.path for f in files], quiet=quiet, no_embed=no_embed))


@corpus.command("dailymed")
@click.option("--setid", "setids", multiple=True, metavar="SETID",
              help="A label's set id (repeatable).")
@click.option("--drug", help="Every label DailyMed lists for this drug name (up to --max).")
@click.option("--max", "max_labels", type=click.IntRange(1, 10_000), default=25,
              show_default=True, help="Most labels to fetch for --drug.")
@_QUIET
@_NO_EMBED
def corpus_dailymed(setids: tuple[str, ...], drug: str | None, max_labels: int, quiet: bool,
                    no_embed: bool) -> None:
    """Fetch drug labels (SPL) from DailyMed by set id or drug name, then ingest them."""
    if not setids and drug is None:
        raise click.UsageError("say which labels: --setid SETID or --drug NAME")
    settings = Settings.load()
    dailymed = DailyMed(settings)
    wanted = list(setids)
    if drug is not None:
        listed = dailymed.labels_of(drug, limit=max_labels)
        click.echo(f"DailyMed: {len(listed)} label(s) for {drug!r}")
        for label in listed:
            click.echo(f"  {label.setid}  {label.title[:100]}")
        wanted += [label.setid for label in listed]
    if not wanted:
        click.echo("nothing to fetch")
        return
    paths = fetch_labels(settings, wanted, progress=not quiet, dailymed=dailymed)
    click.echo(f"fetched {len(paths)} label(s) into {paths[0].parent}")
    _finish(_ingest(settings, paths, quiet=quiet, no_embed=no_embed))

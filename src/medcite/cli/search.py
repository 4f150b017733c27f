"""``medcite search`` and ``medcite index``."""

from __future__ import annotations

import json

import click

from medcite.cli import cli
from medcite.cli.cluster import cluster_for, cluster_options, encoders_on
from medcite.models import SourceType
from medcite.settings import Settings
from medcite.store import SearchFilters, open_store

_TYPES = [t.value for t in SourceType]


@cli.command()
@click.argument("query")
@click.option("--type", "types", multiple=True, type=click.Choice(_TYPES),
              help="Only this source type (repeatable).")
@click.option("--since", type=click.IntRange(0, 9999), help="Only documents from this year on.")
@click.option("--until", type=click.IntRange(0, 9999), help="Only documents up to this year.")
@click.option("--limit", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search(query: str, types: tuple[str, ...], since: int | None, until: int | None,
           limit: int, as_json: bool) -> None:
    """Ranked passages for QUERY, with document metadata and why each matched."""
    from medcite.retrieval.setup import lexical_reason, searcher_for

    settings = Settings.load()
    store = open_store(settings)
    try:
        searcher = searcher_for(store, settings)
        analysis = searcher.analyse(query)
        filters = SearchFilters(source_types=tuple(SourceType(t) for t in types),
                                since_year=since, until_year=until)
        results = searcher.search(analysis, limit=limit, filters=filters)
        lexical_only = lexical_reason(store, settings, searcher)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({
            "query": query,
            "intent": str(analysis.intent),
            "entities": [{"id": m.concept.id, "name": m.concept.name, "surface": m.surface}
                         for m in analysis.mentions],
            "dense": searcher.dense_enabled,
            "lexical_only_because": lexical_only,
            "results": [{
                "rank": i + 1, "score": round(r.score, 6), "passage": r.passage.key,
                "section": r.passage.section, "text": r.passage.text,
                "document": r.document.model_dump(mode="json"), "design": r.design.value,
                "matched_terms": r.matched_terms, "matched_concepts": r.matched_concepts,
                "lexical_rank": r.lexical_rank, "dense_rank": r.dense_rank,
            } for i, r in enumerate(results)],
        }, indent=2))
        return
    entities = ", ".join(f"{m.surface} → {m.concept.name}" for m in analysis.mentions) or "none"
    click.echo(f"intent: {analysis.intent}; entities: {entities}; "
               f"dense: {'on' if searcher.dense_enabled else 'off (' + str(lexical_only) + ')'}")
    if not results:
        click.echo("no matching passages")
    for i, r in enumerate(results, 1):
        d = r.document
        ids = " ".join(x for x in (f"PMID {d.pmid}" if d.pmid else "", f"doi:{d.doi}" if d.doi else "") if x)
        click.echo(f"\n{i}. [{d.source_type.label}] {d.title} — {d.source or 'unknown source'}, "
                   f"{d.year or 'n.d.'} {ids}".rstrip())
        click.echo(f"   {r.design.value}; section: {r.passage.section or '—'}; passage {r.passage.key}")
        why = ", ".join(r.matched_terms + [c.split(':', 1)[-1] for c in r.matched_concepts])
        click.echo(f"   matched: {why or '(semantic match)'}")
        snippet = r.passage.text if len(r.passage.text) <= 300 else r.passage.text[:297] + "..."
        click.echo(f"   {snippet}")


@cli.command()
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--rebuild", is_flag=True,
              help="Drop the store's vectors and embed every passage again with the default encoder.")
@cluster_options
def index(quiet: bool, rebuild: bool, workers: int | None, scheduler: str | None) -> None:
    """Embed every passage without a vector, for dense retrieval (resumes where it stopped).
    New stores are embedded by medcite ingest; this is for stores made before that, and to
    finish an ingest run with --no-embed."""
    import shutil

    from medcite.retrieval.dense import DEFAULT_SPEC, embed_store, read_spec, vector_dir, vector_status

    settings = Settings.load()
    store = open_store(settings)
    try:
        folder = vector_dir(store)
        if folder is not None and rebuild and folder.exists():
            shutil.rmtree(folder)
        if store.vectors is not None and rebuild:
            store.vectors.clear()
        spec = read_spec(folder) if folder is not None else vector_status(store).spec
        if spec is not None and spec != DEFAULT_SPEC and not quiet:
            click.echo(f"note: this store's vectors were made by {spec.label}; new passages get "
                       f"the same (medcite index --rebuild re-embeds with {DEFAULT_SPEC.label})", err=True)
        models = settings.cache_path / "models"
        with cluster_for(workers, scheduler) as dask:
            added = embed_store(store, models, progress=not quiet,
                                encoder_for=encoders_on(dask, models))
        status = vector_status(store)
    finally:
        store.close()
    click.echo(f"embedded {added:,} passages (vectors for {status.embedded:,} of {status.passages:,}; "
               f"{status.spec.label if status.spec else ''})")

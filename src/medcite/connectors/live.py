"""Live search for ``ask``: off unless ``MEDCITE_LIVE_SEARCH`` names sources (``pubmed``,
``dailymed``). When the store has fewer than ``MEDCITE_LIVE_SEARCH_BELOW`` documents on an
agent or condition the question names, up to ``MEDCITE_LIVE_SEARCH_MAX`` PubMed records on it
(``"name"[tiab]``, only those entered since the last such search) and, for a drug, its DailyMed
labels are fetched and ingested before the question is answered. The lines returned say what
was fetched (or that a source failed, the answer then coming from what was indexed), and go
into the article's "what was searched".
"""

from __future__ import annotations

from medcite.connectors.dailymed import DailyMed, fetch_labels
from medcite.connectors.eutils import fetch_query, remember_run
from medcite.errors import ConfigurationError, ConnectorError, NotFoundError
from medcite.ingest.runner import ingest_paths
from medcite.retrieval.analysis import QueryAnalysis
from medcite.settings import Settings
from medcite.store.base import Store

SOURCES = ("pubmed", "dailymed")
_KINDS = ("drug", "supplement", "condition")
_LABELS_PER_DRUG = 3


def live_sources(settings: Settings) -> list[str]:
    """The sources the live-search setting names; an unknown one is a configuration error."""
    named = [s.strip().lower() for s in settings.live_search.split(",") if s.strip()]
    unknown = [s for s in named if s not in SOURCES]
    if unknown:
        raise ConfigurationError(f"MEDCITE_LIVE_SEARCH names unknown sources: {', '.join(unknown)}",
                                 hint="use pubmed, dailymed or both, comma-separated")
    return list(dict.fromkeys(named))


def fetch_for_question(store: Store, settings: Settings, analysis: QueryAnalysis) -> list[str]:
    """Fetch and ingest what the store lacks on the question's entities; what was fetched."""
    sources = live_sources(settings)
    if not sources:
        return []
    lines: list[str] = []
    seen: set[str] = set()
    for mention in analysis.mentions:
        concept = mention.concept
        if concept.id in seen or concept.kind not in _KINDS:
            continue
        seen.add(concept.id)
        if len(store.matching_documents([concept.name])) >= settings.live_search_below:
            continue
        if "pubmed" in sources:
            lines.append(_pubmed(store, settings, concept.name))
        if "dailymed" in sources and concept.kind == "drug":
            lines.append(_dailymed(store, settings, concept.name))
    return lines


def _added(store: Store, paths) -> int:
    report = ingest_paths(store, paths, progress=False)
    return report.outcome.added + report.outcome.replaced


def _pubmed(store: Store, settings: Settings, name: str) -> str:
    term = f'"{name}"[tiab]'
    try:
        run = fetch_query(settings, term, max_records=settings.live_search_max, progress=False)
        added = _added(store, run.files) if run.files else 0
        remember_run(settings, run)
    except (ConnectorError, NotFoundError) as exc:
        return f"PubMed, live: the search for {term} failed ({exc}); answered from what was indexed"
    since = f" entered since {run.mindate:%Y/%m/%d}" if run.mindate else ""
    if not run.search.count:
        return f"PubMed, live: no records{since} for {term}"
    return (f"PubMed, live: {run.fetched:,} of {run.search.count:,} records{since} for {term} "
            f"fetched, {added:,} new or updated documents")


def _dailymed(store: Store, settings: Settings, name: str) -> str:
    try:
        dailymed = DailyMed(settings)
        listed = dailymed.labels_of(name, limit=_LABELS_PER_DRUG)
        paths = fetch_labels(settings, [label.setid for label in listed], progress=False,
                             dailymed=dailymed) if listed else []
        added = _added(store, paths) if paths else 0
    except (ConnectorError, NotFoundError) as exc:
        return (f"DailyMed, live: the label search for {name!r} failed ({exc}); answered from "
                "what was indexed")
    return (f"DailyMed, live: {len(paths)} label(s) for {name!r} fetched, {added} new or updated "
            "documents")

"""Articles whose cited sources changed: flagged, then re-verified against the store.

When ingest deletes a stored document (a PubMed ``DeleteCitation``) or replaces it (a newer
revision: PubMed ``<PMID Version>``, an SPL ``versionNumber``), the same transaction flags every
stored article version citing it (``store.flags``). ``reverify_pending`` then checks each
flagged version again with ``synthesis.verify.check_article`` — every quote against the passages
stored now, every reference against the documents stored now — and records how many statements
its citations no longer support. Nothing is dropped from the stored text (versions are
immutable): the article says what changed and what the re-verification found, its
``verification.passed`` becomes that outcome, and it is listed for the editors, who correct it
(a new version answered again) or withdraw it. Ingest runs this at the end of every run; a page
or API read of a version still pending runs it for that article.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from medcite.review.articles import ArticleRepository
from medcite.store.base import Store

_FAILURE_TEXT_CHARS = 200


def reverify_pending(store: Store, article_id: str | None = None) -> list[tuple[str, int, int]]:
    """Re-verify every flagged version no re-verification covers yet (only ``article_id``'s
    when given); returns (article id, version, statements no longer supported) of each."""
    todo = store.articles.pending_reverifications(article_id)
    if not todo:
        return []
    from medcite.synthesis.verify import check_article  # loads relevance rules: only when needed

    articles = ArticleRepository(store)
    done = []
    for flagged_id, version, through_flag in todo:
        report = check_article(articles.get(flagged_id, version), store)
        failures = [f"{check.reason}: {_shortened(check.statement.text)}"
                    for check in report.failures]
        at = datetime.now(UTC).replace(microsecond=0).isoformat()
        store.articles.record_reverification(
            flagged_id, version, through_flag=through_flag, at=at, checked=len(report.checks),
            no_longer_supported=len(failures), failures=json.dumps(failures, ensure_ascii=False))
        done.append((flagged_id, version, len(failures)))
    return done


def _shortened(text: str) -> str:
    return text if len(text) <= _FAILURE_TEXT_CHARS else text[:_FAILURE_TEXT_CHARS - 1] + "…"

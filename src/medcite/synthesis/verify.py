"""Verification: every citation is recomputed against the store after synthesis.

A clinical statement survives only if its quote is a verbatim span of the passage behind each
citation and each cited reference is a stored document. Evidence-base statements carry no
citations. Failures are dropped and counted, never repaired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from medcite.models import Article, Statement, StatementKind, VerificationSummary
from medcite.store.sqlite import SQLiteStore
from medcite.synthesis.references import renumber


@dataclass
class StatementCheck:
    statement: Statement
    ok: bool
    reason: str = ""


@dataclass
class VerificationReport:
    checks: list[StatementCheck] = field(default_factory=list)

    @property
    def failures(self) -> list[StatementCheck]:
        return [c for c in self.checks if not c.ok]


class _Checker:
    def __init__(self, article: Article, store: SQLiteStore) -> None:
        self.references = {r.number: r for r in article.references}
        keys = {key for s in article.statements() for key in s.passage_keys}
        self.passages = {}
        for document_key in {k.rsplit("#", 1)[0] for k in keys}:
            for passage in store.passages_of(document_key):
                self.passages[passage.key] = passage
        self.stored = {key: store.document(key) is not None
                       for key in {r.document_key for r in article.references}}

    def check(self, statement: Statement) -> StatementCheck:
        if statement.kind is StatementKind.EVIDENCE_BASE:
            if statement.citations:
                return StatementCheck(statement, False, "an evidence-base fact cannot cite")
            return StatementCheck(statement, True)
        if not statement.citations or not statement.quote:
            return StatementCheck(statement, False, "no citation or no quote")
        if len(statement.passage_keys) != len(statement.citations):
            return StatementCheck(statement, False, "each citation needs its passage")
        for number, passage_key in zip(statement.citations, statement.passage_keys):
            reference = self.references.get(number)
            if reference is None:
                return StatementCheck(statement, False, f"citation [{number}] has no reference")
            if not self.stored.get(reference.document_key):
                return StatementCheck(statement, False, f"{reference.document_key} is not stored")
            if not passage_key.startswith(reference.document_key + "#"):
                return StatementCheck(statement, False, f"{passage_key} is not part of [{number}]")
            passage = self.passages.get(passage_key)
            if passage is None or statement.quote not in passage.text:
                return StatementCheck(statement, False, f"quote not found in {passage_key}")
        return StatementCheck(statement, True)


def check_article(article: Article, store: SQLiteStore) -> VerificationReport:
    """Check every statement without changing the article (``medcite verify``)."""
    checker = _Checker(article, store)
    return VerificationReport([checker.check(s) for s in article.statements()])


def keep_statements(article: Article, keep: Callable[[list[Statement]], list[Statement]]) -> Article:
    """The article with ``keep`` applied to the bottom line and every sub-section; empty
    sub-sections and sections go, and references are renumbered to those still cited."""
    sections = []
    for section in article.sections:
        subsections = [sub.model_copy(update={"statements": keep(sub.statements)})
                       for sub in section.subsections]
        subsections = [sub for sub in subsections if sub.statements]
        if subsections:
            sections.append(section.model_copy(update={"subsections": subsections}))
    return renumber(article.model_copy(update={"bottom_line": keep(article.bottom_line),
                                               "sections": sections}))


def verify_article(article: Article, store: SQLiteStore) -> Article:
    """Drop statements that fail their check, renumber references, record the counts."""
    checker = _Checker(article, store)
    checked = dropped = 0

    def keep(statements: list[Statement]) -> list[Statement]:
        nonlocal checked, dropped
        kept = []
        for statement in statements:
            checked += 1
            if checker.check(statement).ok:
                kept.append(statement)
            else:
                dropped += 1
        return kept

    verified = keep_statements(article, keep)
    return verified.model_copy(update={"verification": VerificationSummary(
        checked=checked, dropped=dropped, passed=True)})

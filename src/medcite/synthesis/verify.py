"""Verification: every citation is recomputed against the store after synthesis.

A clinical statement survives only if its quote is a verbatim span of the passage behind each
citation and each cited reference is a stored document; an extractive statement's words are its
quote's. A statement that says which of the question's subjects it is about must be about each
of them, recomputed from the stored text with the question frame (by name, by the class it
declares, or as a sentence of the agent's own label), and must fit the population asked about.
Evidence-base statements carry no citations. Failures are dropped and counted, never repaired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from medcite.models import Article, DocumentRecord, Statement, StatementKind, VerificationSummary
from medcite.store.base import Store
from medcite.synthesis.references import renumber
from medcite.synthesis.relevance import aboutness, in_section, population_conflict
from medcite.synthesis.selection import CLASS_JOIN


@dataclass
class StatementCheck:
    statement: Statement
    ok: bool
    reason: str = ""
    kind: str = "citation"  # citation | wording | relevance


@dataclass
class VerificationReport:
    checks: list[StatementCheck] = field(default_factory=list)

    @property
    def failures(self) -> list[StatementCheck]:
        return [c for c in self.checks if not c.ok]


class _Checker:
    def __init__(self, article: Article, store: Store) -> None:
        self.references = {r.number: r for r in article.references}
        keys = {key for s in article.statements() for key in s.passage_keys}
        self.passages = {}
        for document_key in {k.rsplit("#", 1)[0] for k in keys}:
            for passage in store.passages_of(document_key):
                self.passages[passage.key] = passage
        self.records: dict[str, DocumentRecord | None] = {
            key: store.document(key) for key in {r.document_key for r in article.references}}
        self.stored = {key: record is not None for key, record in self.records.items()}
        self.frame = article.frame
        self.verbatim = article.backend == "extractive"

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
        if self.verbatim and statement.text != statement.quote:
            return StatementCheck(statement, False, "its words are not its quote's", "wording")
        return self._relevant(statement)

    def _relevant(self, statement: Statement) -> StatementCheck:
        if not statement.about or self.frame is None:
            return StatementCheck(statement, True)
        passage = self.passages[statement.passage_keys[0]]
        record = self.records.get(self.references[statement.citations[0]].document_key)
        for concept_id in statement.about:
            subject = self.frame.subject(concept_id)
            if subject is None:
                return StatementCheck(statement, False, f"about {concept_id}, which the question does not name",
                                      "relevance")
            found = aboutness(statement.quote, subject, record, passage.text, passage.section)
            if not found.about:
                return StatementCheck(statement, False, f"not about {subject.name}", "relevance")
            if found.via_class and found.via_class not in (statement.via_class or "").split(CLASS_JOIN):
                return StatementCheck(statement, False,
                                      f"about {found.via_class}, {subject.name}'s class, without saying so",
                                      "relevance")
        conflict = population_conflict(in_section(statement.quote, passage.section), self.frame.population)
        if conflict:
            return StatementCheck(statement, False, conflict, "relevance")
        return StatementCheck(statement, True)


def check_article(article: Article, store: Store) -> VerificationReport:
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


def verify_article(article: Article, store: Store) -> Article:
    """Drop statements that fail their check, renumber references, record the counts."""
    checker = _Checker(article, store)
    counts = {"checked": 0, "dropped": 0, "wording_dropped": 0, "relevance_checked": 0,
              "relevance_dropped": 0}

    def keep(statements: list[Statement]) -> list[Statement]:
        kept = []
        for statement in statements:
            counts["checked"] += 1
            counts["relevance_checked"] += bool(statement.about and checker.frame is not None)
            result = checker.check(statement)
            if result.ok:
                kept.append(statement)
                continue
            counts["dropped"] += 1
            if result.kind != "citation":
                counts[f"{result.kind}_dropped"] += 1
        return kept

    verified = keep_statements(article, keep)
    return verified.model_copy(update={"verification": VerificationSummary(**counts, passed=True)})

"""Numbered references, built only from stored documents, numbered in order of first use."""

from __future__ import annotations

from medcite.models import Article, DocumentRecord, Reference, StudyDesign
from medcite.synthesis.base import Evidence


def reference_for(number: int, document: DocumentRecord, design: StudyDesign | None) -> Reference:
    return Reference(
        number=number,
        document_key=document.key,
        source_type=document.source_type,
        type_label=document.source_type.label,
        title=document.title,
        source=document.source,
        year=document.year,
        study_design=design if document.source_type.value == "research" else None,
        pmid=document.pmid,
        pmcid=document.pmcid,
        doi=document.doi,
        spl_set_id=document.spl_set_id,
        url=document.url,
    )


class ReferenceBook:
    """Assigns one number per cited document."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._references: list[Reference] = []

    def cite(self, evidence: Evidence) -> int:
        key = evidence.document.key
        if key not in self._numbers:
            number = len(self._references) + 1
            self._numbers[key] = number
            self._references.append(reference_for(number, evidence.document, evidence.design))
        return self._numbers[key]

    def documents(self) -> list[str]:
        return list(self._numbers)

    def references(self) -> list[Reference]:
        return list(self._references)


def renumber(article: Article) -> Article:
    """Number references in the order a reader meets them and drop uncited ones."""
    order: dict[int, int] = {}
    for statement in article.statements():
        for old in statement.citations:
            order.setdefault(old, len(order) + 1)
    by_old = {r.number: r for r in article.references}
    references = [by_old[old].model_copy(update={"number": new})
                  for old, new in order.items() if old in by_old]

    def remap(statement):
        return statement.model_copy(update={"citations": sorted(order[c] for c in statement.citations)})

    sections = [
        section.model_copy(update={"subsections": [
            sub.model_copy(update={"statements": [remap(s) for s in sub.statements]})
            for sub in section.subsections]})
        for section in article.sections
    ]
    return article.model_copy(update={
        "bottom_line": [remap(s) for s in article.bottom_line],
        "sections": sections,
        "references": sorted(references, key=lambda r: r.number),
    })

"""Hand-built articles for the review and web layers (the pipeline is tested on its own)."""

from __future__ import annotations

import pytest

from medcite.models import (
    Article,
    ArticleSection,
    EntitySummary,
    Reference,
    SearchDescription,
    SourceType,
    Statement,
    StatementKind,
    StudyDesign,
    SubSection,
)

QUESTION = "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?"


def sample_article(question: str = QUESTION, *, statement: str | None = None,
                   reference_title: str | None = None, **fields) -> Article:
    """A small two-reference article; ``statement``/``reference_title`` replace the first ones."""
    first = statement or "Mirtazapine 15 to 45 mg daily was effective in major depression."
    return Article(
        question=question,
        slug="unused",
        headline="Magnesium glycinate and mirtazapine: no evidence on the combination",
        bottom_line=[Statement(text="No indexed source studied the two together.",
                               kind=StatementKind.EVIDENCE_BASE)],
        sections=[ArticleSection(heading="Evidence Review", subsections=[
            SubSection(heading="Mirtazapine", statements=[
                Statement(text=first, quote=first, citations=[1], passage_keys=["pmid:9#0"]),
                Statement(text="Weight gain and sedation were common.", citations=[1, 2],
                          passage_keys=["pmid:9#0", "guideline:apa/mdd#1"]),
            ]),
        ])],
        references=[
            Reference(number=1, document_key="pmid:9", source_type=SourceType.RESEARCH,
                      type_label="Research",
                      title=reference_title or "Mirtazapine, an antidepressant.",
                      source="Am J Health Syst Pharm", year=1998,
                      study_design=StudyDesign.REVIEW, pmid="9", doi="10.1093/ajhp/55.16.1641"),
            Reference(number=2, document_key="guideline:apa/mdd", source_type=SourceType.GUIDELINE,
                      type_label="Guideline", title="Treatment of major depressive disorder",
                      source="American Psychiatric Association", year=2010,
                      url="https://psychiatryonline.org/guidelines"),
        ],
        searched=SearchDescription(
            corpus_documents=1200, corpus_by_source_type={"research": 1000, "guideline": 200},
            terms=["magnesium glycinate", "mirtazapine"],
            entities=[EntitySummary(concept_id="mirtazapine", name="mirtazapine",
                                    surface="Remeron", kind="drug", documents_matched=14)],
            passages_considered=40,
        ),
        disclaimer="For education only; not a substitute for professional judgement.",
        **fields,
    )


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with minimal cost, so tests do not spend seconds per hash; the hash format and
    the verification path are the ones used in production."""
    from argon2 import PasswordHasher

    from medcite.review import users

    monkeypatch.setattr(users, "PasswordHasher",
                        lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

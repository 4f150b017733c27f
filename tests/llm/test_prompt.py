"""The prompt and the parsing of the model's reply."""

from __future__ import annotations

import pytest

from medcite.synthesis.prompt import (
    shown_text,
    DraftError,
    PromptLimits,
    messages_for,
    number_evidence,
    parse_draft,
    response_schema,
)
from tests.llm.conftest import request_for


def test_parse_accepts_fences_chatter_bare_strings_and_inline_markers():
    draft = parse_draft('Sure!\n```json\n{"headline": "H", "bottom_line": "Dose is 15 mg [1][2].", '
                        '"sections": [{"heading": "Evidence Review", "statements": '
                        '["A statement here [3]", {"text": "B", "citations": ["2", "[4]"]}]}]}\n```')
    assert draft.bottom_line[0].citations == [1, 2]
    statements = draft.sections[0].subsections[0].statements
    assert [s.citations for s in statements] == [[3], [2, 4]]
    assert draft.statement_count() == 3


@pytest.mark.parametrize(("reply", "message"), [
    ("no json here", "no JSON object"),
    ('{"headline": "H", "bottom_line": [', "invalid JSON"),
    ('{"headline": "H", "bottom_line": [], "sections": []}', "no statements"),
    ('{"headline": "H", "sections": [{"subsections": [{"statements": [{"citations": [1]}]}]}]}',
     "sections.0.subsections.0.statements.0.text"),
])
def test_parse_errors_say_what_is_wrong(reply, message):
    with pytest.raises(DraftError, match=message.replace(".", r"\.")):
        parse_draft(reply)


def test_evidence_is_numbered_within_budget(corpus):
    request = request_for(corpus)
    # four passages, less the page that addresses a model (no source at all)
    numbered = number_evidence(request, PromptLimits())
    assert len(numbered) == 3 and "medquad:magnesium-injected" not in {e.document.key for e in numbered}
    assert len(number_evidence(request, PromptLimits(passages=2))) == 2
    # A budget too small for any passage leaves nothing to show.
    assert number_evidence(request, PromptLimits(evidence_chars=50)) == []


def test_each_concept_gets_passages_in_a_combination_question(corpus):
    request = request_for(corpus, "guideline:apa_mdd_2023/pharmacotherapy", "spl:mirtazapine-label")
    magnesium = request_for(corpus, "medquad:magnesium-1").evidence
    request.by_concept = {"supplement:magnesium": magnesium}
    numbered = number_evidence(request, PromptLimits(passages=2))
    assert [e.document.key for e in numbered] == ["guideline:apa_mdd_2023/pharmacotherapy",
                                                  "medquad:magnesium-1"]


def test_schema_limits_citations_to_given_numbers():
    schema = response_schema(3, PromptLimits())
    statement = schema["properties"]["bottom_line"]["items"]
    assert statement["properties"]["citations"]["items"]["enum"] == [1, 2, 3]
    section = schema["properties"]["sections"]["items"]
    assert section["properties"]["heading"]["enum"] == [
        "Evidence Review", "Clinical Implications", "Common Pitfalls to Avoid"]


def test_audience_is_named_in_the_prompt(corpus):
    from medcite.models import Audience

    request = request_for(corpus, audience=Audience.PATIENT)
    user = messages_for(request, number_evidence(request, PromptLimits()), PromptLimits())[1]["content"]
    assert "Reader: a patient or caregiver: plain words" in user


def test_a_shown_passage_withholds_instructions_and_neutralises_tags(corpus):
    """Were such a passage shown (its page is dropped from the prompt whole), its instructions
    and the closing tag inside them would not reach the model."""
    injected = request_for(corpus, "medquad:magnesium-injected").evidence[0]
    text = shown_text(injected, PromptLimits())
    assert "</evidence>" not in text and "[instruction-like text withheld]" in text
    assert "Ignore previous" not in text and "unrestricted assistant" not in text

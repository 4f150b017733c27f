from medcite.ingest.chunking import passages_for, split_sentences
from medcite.models import Section


def texts(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_splits_on_sentence_punctuation():
    assert texts("Mirtazapine is an antidepressant. It causes sedation! Does it? Yes.") == [
        "Mirtazapine is an antidepressant.", "It causes sedation!", "Does it?", "Yes.",
    ]


def test_abbreviations_initials_and_decimals_do_not_split():
    text = "Doses, e.g. 15 mg, were used (Smith et al. 2020). Dr. J. Smith reported 2.5 mg/kg. Next."
    assert texts(text) == [
        "Doses, e.g. 15 mg, were used (Smith et al. 2020).",
        "Dr. J. Smith reported 2.5 mg/kg.",
        "Next.",
    ]


def test_lower_case_after_period_does_not_split_and_line_breaks_do():
    assert texts("Given at 10 a.m. daily. pH was 7.4\n- first item\n- second item") == [
        "Given at 10 a.m. daily. pH was 7.4", "- first item", "- second item",
    ]


def test_spans_are_exact_offsets():
    text = "  First one.   Second one.  "
    for start, end in split_sentences(text):
        assert text[start:end].strip() == text[start:end]


def test_long_sections_become_windows_that_break_between_sentences():
    sentence = "Magnesium supplementation was studied in adults with depression. "
    section = Section(label="RESULTS", text=sentence * 60)
    drafts = passages_for([section], max_chars=500)
    assert len(drafts) > 1
    for draft in drafts:
        assert len(draft.text) <= 500
        assert draft.text == section.text.strip()[draft.char_start : draft.char_end]
        assert all(draft.text[s:e].endswith(".") for s, e in draft.sentences)
        assert draft.section == "RESULTS"


def test_empty_sections_are_dropped():
    assert passages_for([Section(label="x", text="   ")]) == []

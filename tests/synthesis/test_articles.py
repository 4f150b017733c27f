"""The main job: a question in, a verified article out, on the real demo corpus + guidelines."""

import pytest

from medcite.answer import Engine
from medcite.ingest.prepare import write_documents
from medcite.models import Audience, SourceType, StatementKind
from medcite.retrieval.analysis import analyse
from medcite.settings import Settings
from medcite.synthesis.audience import adapt
from medcite.synthesis.verify import check_article

QUESTION = "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?"


@pytest.fixture(scope="module")
def engine(clinical_store):
    return Engine(clinical_store, Settings.load(dense="off"))


@pytest.fixture(scope="module")
def article(engine):
    return engine.write_article(analyse(QUESTION, engine.searcher.vocabulary))


def test_recognises_both_agents_and_states_absence_with_scope(article):
    entities = {e.concept_id: e for e in article.searched.entities}
    names = {e.name for e in entities.values()}
    assert {"mirtazapine", "magnesium"} <= names
    assert any(e.surface.lower() in ("remeron", "mirtazapine") for e in entities.values())
    assert article.searched.documents_addressing_all == 0
    assert "no indexed evidence on the combination" in article.headline.lower()
    bottom = " ".join(s.text for s in article.bottom_line).lower()
    assert "no indexed document addresses" in bottom and "together" in bottom
    absence = article.sections[0].subsections[0]
    assert absence.heading.startswith("Absence of evidence")
    scope = " ".join(s.text for s in absence.statements)
    assert "Searched" in scope and "documents" in scope
    assert all(s.kind is StatementKind.EVIDENCE_BASE for s in absence.statements)


def test_cites_the_apa_depression_guideline_for_mirtazapine(article):
    apa = [r for r in article.references if r.document_key == "guideline:apa_mdd_2023"]
    assert apa, [r.document_key for r in article.references]
    assert apa[0].type_label == "Guideline" and apa[0].source and apa[0].year == 2023
    cited = [s for s in article.statements() if apa[0].number in s.citations]
    assert any("mirtazapine" in s.quote.lower() for s in cited)


def test_every_statement_is_cited_verbatim_and_verifies(article, clinical_store):
    clinical = [s for s in article.statements() if s.kind is StatementKind.CLINICAL]
    assert len(clinical) >= 3
    for statement in clinical:
        assert statement.citations and statement.quote == statement.text
    report = check_article(article, clinical_store)
    assert not report.failures, [(f.reason, f.statement.text) for f in report.failures]
    assert article.verification.dropped == 0
    for reference in article.references:
        assert clinical_store.document(reference.document_key) is not None
    numbers = [r.number for r in article.references]
    assert numbers == list(range(1, len(numbers) + 1))
    first_use = []
    for statement in article.statements():
        for n in statement.citations:
            if n not in first_use:
                first_use.append(n)
    assert first_use == numbers  # numbered in order of first use


def test_the_magnesium_evidence_is_not_about_another_salt(article):
    """The reader asked about magnesium glycinate, an oral supplement: intravenous magnesium
    sulfate for asthma (in the GINA guideline here) is another product and is not shown as
    evidence on it."""
    magnesium = next(sub for sub in article.sections[0].subsections
                     if sub.heading.lower().startswith("magnesium"))
    for statement in [*magnesium.statements, *article.bottom_line]:
        assert "magnesium sulfate" not in statement.text.lower(), statement.text


def test_a_sentence_naming_another_form_is_recognised():
    from medcite.synthesis.sentences import AskedForm, names_another_form

    glycinate = AskedForm(moiety_names=("magnesium",), words=frozenset({"glycinate"}))
    assert names_another_form("Consider magnesium sulfate IV for severe exacerbations.", glycinate)
    assert not names_another_form("Magnesium supplements can cause diarrhea.", glycinate)
    assert not names_another_form("Magnesium glycinate and magnesium oxide were compared.", glycinate)
    assert not names_another_form("Serum magnesium was low.", glycinate)
    tartrate = AskedForm(moiety_names=("metoprolol",), words=frozenset({"tartrate"}))
    assert names_another_form("Metoprolol succinate once daily reduced mortality.", tartrate)


def test_same_store_same_question_same_json(engine, article):
    again = engine.write_article(analyse(QUESTION, engine.searcher.vocabulary))
    assert again.model_dump_json() == article.model_dump_json()


def test_no_duplicate_statements(article):
    quotes = [s.quote for s in article.statements()[len(article.bottom_line):] if s.quote]
    assert len(quotes) == len(set(quotes))


def test_patient_rendering_is_plainer_and_keeps_quotes(article):
    patient = adapt(article, Audience.PATIENT)
    assert patient.audience is Audience.PATIENT
    clinical = [s for s in patient.statements() if s.kind is StatementKind.CLINICAL]
    assert clinical and all(s.quote for s in clinical)
    assert len(patient.statements()) <= len(article.statements())
    assert "doctor or pharmacist" in patient.disclaimer


def test_statements_stay_on_the_question_concepts(engine):
    analysis = analyse("Does oseltamivir shorten influenza in cats?", engine.searcher.vocabulary)
    names = {n.lower() for names in analysis.expansions.values() for n in names}
    names |= {m.concept.name.lower() for m in analysis.mentions}
    article = engine.write_article(analysis)
    for statement in article.statements():
        if statement.kind is StatementKind.CLINICAL:
            assert any(name in statement.quote.lower() for name in names), statement.quote


def test_topic_absent_from_corpus_says_so_and_what_to_ingest(engine):
    article = engine.write_article(analyse(
        "What is the first-line treatment for zorblatt gnarl syndrome?", engine.searcher.vocabulary))
    assert not [s for s in article.statements() if s.kind is StatementKind.CLINICAL]
    assert "no indexed evidence" in article.headline.lower()
    assert "ingest" in " ".join(s.text for s in article.bottom_line)
    assert not article.references


def test_red_flag_question_puts_emergency_notice_first(engine):
    article = engine.write_article(analyse(
        "I took too many mirtazapine pills and feel faint, what should I do?", engine.searcher.vocabulary))
    assert article.emergency_notice and "emergency" in article.emergency_notice.lower()


def test_non_medical_question_is_refused_politely(engine):
    article = engine.write_article(analyse("What is the best pizza topping?", engine.searcher.vocabulary))
    assert article.refusal and not article.sections and not article.references


def test_consumer_health_reference_is_typed(engine):
    article = engine.write_article(analyse("What is an A1C test?", engine.searcher.vocabulary))
    types = {r.source_type for r in article.references}
    assert SourceType.CONSUMER_HEALTH in types


def test_with_two_agents_a_sentence_that_merely_names_one_is_left_out(store):
    from medcite.models import Document, Section

    def research(pmid: str, title: str, text: str) -> Document:
        return Document(key=f"pmid:{pmid}", source_type=SourceType.RESEARCH, title=title,
                        pmid=pmid, year=2020, source="J Test",
                        sections=[Section(label="RESULTS", text=text)])

    write_documents(store, [
        research("1", "Mirtazapine in major depression", "Mirtazapine improved depressive "
                 "symptoms and sleep in adults with major depression over eight weeks."),
        research("2", "Oral magnesium in depression", "Oral magnesium supplementation reduced "
                 "depressive symptoms in adults with mild to moderate depression."),
        research("3", "Bacterial transformation", "Bacterial cultures grown with added magnesium "
                 "ions reached competence for transformation at an earlier growth phase."),
    ])
    engine = Engine(store, Settings.load(dense="off"))
    question = "Can magnesium be taken with mirtazapine for depression?"
    article = engine.write_article(analyse(question, engine.searcher.vocabulary))
    quoted = " ".join(s.text for s in article.statements())
    assert "Oral magnesium supplementation reduced depressive symptoms" in quoted
    assert "Bacterial cultures" not in quoted
    assert "pmid:3" not in {r.document_key for r in article.references}


def test_a_paper_stored_as_full_text_and_abstract_is_one_reference(store):
    from medcite.models import Document, Section

    text = ("Mirtazapine improved depressive symptoms and sleep in adults with major depression "
            "over eight weeks of treatment.")
    write_documents(store, [
        Document(key="pmid:77", source_type=SourceType.RESEARCH, pmid="77", year=2020,
                 title="Mirtazapine for depression", sections=[Section(label="RESULTS", text=text)]),
        Document(key="pmc:PMC77", source_type=SourceType.RESEARCH, pmid="77", pmcid="PMC77",
                 year=2020, title="Mirtazapine for depression",
                 sections=[Section(label="Results", text=(
                     "Mirtazapine at 30 mg daily improved sleep quality in outpatients with "
                     "depression compared with placebo."))]),
    ])
    engine = Engine(store, Settings.load(dense="off"))
    article = engine.write_article(analyse("Does mirtazapine help depression and sleep?",
                                           engine.searcher.vocabulary))
    assert article.references and len({r.pmid for r in article.references}) == len(article.references)
    assert len(article.references) == 1

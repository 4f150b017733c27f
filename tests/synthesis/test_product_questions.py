"""Questions about the product in hand and about questions the store cannot answer (issue #10,
filler when nothing fits): what a tablet looks like, what it holds and how it is kept are read
from the label's own sections; a question whose topic no indexed sentence carries gets the
absence and nothing dressed up as evidence; "how do I stop it?" shows how a treatment is ended.
On the real clinical store (Lipitor and Humira labels, guidelines, MedQuAD, PubMed)."""

from __future__ import annotations

import re

import pytest

from medcite.answer import Engine
from medcite.models import AskedFor, SourceType, StatementKind
from medcite.retrieval.analysis import analyse
from medcite.retrieval.frame import asked_for
from medcite.settings import Settings


@pytest.fixture(scope="module")
def engine(clinical_store):
    return Engine(clinical_store, Settings.load(dense="off"))


def read(engine: Engine, question: str):
    return analyse(question, engine.searcher.vocabulary, settings=engine.settings,
                   frequency=engine._passages_with)


def clinical(article):
    return [s for s in article.statements() if s.kind is StatementKind.CLINICAL]


def cited_type(article, statement) -> SourceType:
    return {r.number: r for r in article.references}[statement.citations[0]].source_type


@pytest.mark.parametrize(("question", "item"), [
    ("what does the pill oxybutynin look like", AskedFor.APPEARANCE),
    ("what is the imprint on metoprolol succ., 50 mg", AskedFor.APPEARANCE),
    ("what size pill is risedronate", AskedFor.APPEARANCE),
    ('lorcet "7.5" liquid whats in this', AskedFor.INGREDIENTS),
    ("does lexapro contain gluten", AskedFor.INGREDIENTS),
    ("how should insulin be stored", AskedFor.STORAGE),
    ("how do I dispose of old fentanyl patches", AskedFor.STORAGE),
    ("No what is vestibular neuritis?", AskedFor.DEFINITION),  # a reply's opening is not the question
    ("I have gout and my doctor told me to take colchicine, how should I take it?", AskedFor.DOSE),
    ("On the losartan can I take two pills at once or at separate times?", AskedFor.DOSE),
    ("Is Saxenda a daily injection?", AskedFor.DOSE),
    ("why is vitamin a important to the body", AskedFor.DEFINITION),
    ("what does vitamin d3 do", AskedFor.DEFINITION),
    ("what does metformin do to your kidneys", AskedFor.GENERAL),  # a harm asked, not what it is
    ("how fast does the medication take to work amlodipine", AskedFor.ONSET),
    ("how long before metoprolol takes effect", AskedFor.ONSET),
    ("are there antibiotics for cold symptoms?", AskedFor.EFFICACY),
    ("Ok, what are the symptoms of lupus?", AskedFor.SYMPTOMS),
    # the strengths a product is sold in, not a dose to take
    ("what mg norco comes in", AskedFor.STRENGTH),
    ("how many milligrams in tramadol", AskedFor.STRENGTH),
    ("what are the dosage strengths of sildenafil", AskedFor.STRENGTH),
    ("what strengths do valproic acid come in", AskedFor.STRENGTH),
    ("how many mg are in a tablespoon of amoxicillin suspension", AskedFor.STRENGTH),
    ("does creatine improve muscle strength", AskedFor.EFFICACY),
    ("how many mg in a day can I take of ibuprofen", AskedFor.DOSE),
    ("how many mg does it take to overdose on oxycodone", AskedFor.DOSE),
    # how it is given, and how much, asked in other words
    ("how many mgs of seroquel does one take for sleep", AskedFor.DOSE),
    ("how to administer denosumab", AskedFor.DOSE),
    ("how is tocilizumab administered", AskedFor.DOSE),
    ("when used as a rinse, how big should the amount of lidocaine used", AskedFor.DOSE),
    ("what does ibuprofen contain. any aspirin?", AskedFor.INGREDIENTS),
    ("Is ibuprofen a part of tylenol?", AskedFor.INGREDIENTS),
    # what stopping does is an effect asked about
    ("problems when stopping metformin, hair loss?", AskedFor.ADVERSE_EFFECTS),
    ("side effects after stopping prednisone", AskedFor.ADVERSE_EFFECTS),
    ("Whats a cluster headache?", AskedFor.DEFINITION),
    ("what's shingles", AskedFor.DEFINITION),
    ("If I took trazodone when would be the best time to take it?", AskedFor.TIMING),
    # one drug with everything else the reader takes
    ("can mucinex fast-max products be used with other over-the-counter (otc) or prescription medications?",
     AskedFor.INTERACTION),
    ("Can I take ibuprofen with my other medicines?", AskedFor.INTERACTION),
    # what it is for, asked in more words
    ("what is diclofenac ointment used for", AskedFor.TREATMENT),
    ("why is pyridostigmine prescribed", AskedFor.TREATMENT),
    ("What about diflucan for a yeast infection?", AskedFor.TREATMENT),
    # a count is no comparison
    ("can you be diagnosed with shingles more than once?", AskedFor.GENERAL),
    ("is naproxen more effective than ibuprofen?", AskedFor.COMPARISON),
    ("what meds are in the pill montelukast?", AskedFor.INGREDIENTS),
    ("how you use for paracetamol", AskedFor.DOSE),
    ("do i take a statin with or without food ?", AskedFor.TIMING),
    ("what is the action of ezetimibe in my body", AskedFor.MECHANISM),
    ("what type of drug is heroin", AskedFor.DEFINITION),
    ("chlorpheniramine how long in system", AskedFor.ELIMINATION),
    ("how much weight gain with carvedilol", AskedFor.ADVERSE_EFFECTS),
    ("how much ibuprofen can I take", AskedFor.DOSE),
    ("what's different opioid and opium", AskedFor.COMPARISON),
    ("how does vitamin d help our bodies", AskedFor.DEFINITION),
    ("does melatonin help with sleep", AskedFor.EFFICACY),
    ("how long will the cyanocobalamin stay good", AskedFor.STORAGE),
    ("why prozac used", AskedFor.TREATMENT),
    ("how long should I take prozac", AskedFor.DURATION),
    ("what medication not to take with lithium", AskedFor.INTERACTION),
    ("So if I have prostatitis what would I be prescribed?", AskedFor.TREATMENT),
    ("how soon does losartan afffect blood pressure", AskedFor.ONSET),
    ("is pramipexole addictive?", AskedFor.ADVERSE_EFFECTS),
    ("does marijuana use lead to negative health outcomes?", AskedFor.ADVERSE_EFFECTS),
    ("Are there any side affects from using Robaxin?", AskedFor.ADVERSE_EFFECTS),
    ("how is guanfacine classified", AskedFor.DEFINITION),
    ("what happens when you take lansoprazole long term", AskedFor.ADVERSE_EFFECTS),
    ("Can I take Zyrtec and benedryl at the same time?", AskedFor.INTERACTION),
    ("what does using fluorouracil make your face look like", AskedFor.ADVERSE_EFFECTS),
    ("what does lipitor look like", AskedFor.APPEARANCE),
])
def test_the_asked_for_item_is_read_from_the_question(question, item):
    assert asked_for(question, 1) is item


@pytest.mark.parametrize(("question", "pattern"), [
    ("What does Lipitor 20 mg look like?", r"white|elliptical|film-coated"),
    ("How should Lipitor be stored?", r"room temperature|°"),
    ("What are the inactive ingredients in Lipitor?", r"inactive ingredients"),
    ("How do I store HUMIRA pens?", r"refrigerat|°"),
])
def test_what_a_product_is_comes_from_its_label(engine, question, pattern):
    article = engine.ask(question, save=False)
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL, article.headline
    assert re.search(pattern, lead.quote, re.I), lead.quote
    assert cited_type(article, lead) is SourceType.DRUG_LABEL
    assert re.search(pattern, article.headline, re.I)


@pytest.mark.parametrize(("question", "pattern"), [
    ("What strengths does Lipitor come in?", r"10, 20, 40,? and 80 mg"),
    ("How many milligrams are in a Humira pen?", r"\b40 mg\b"),
])
def test_the_strengths_sold_come_from_the_label_not_a_dose(engine, question, pattern):
    article = engine.ask(question, save=False)
    assert article.frame.asked_for is AskedFor.STRENGTH
    lead = article.bottom_line[0]
    assert cited_type(article, lead) is SourceType.DRUG_LABEL
    assert re.search(pattern, lead.quote), lead.quote
    assert not re.search(r"\brecommended (starting )?dose\b", lead.quote, re.I), lead.quote


def test_one_drug_asked_as_part_of_another_is_no_combination(engine):
    """ "Is ibuprofen part of Tylenol?" asks what a product holds, not about taking both."""
    for question in ("Is ibuprofen a part of tylenol?", "what does ibuprofen contain. any aspirin?"):
        article = engine.ask(question, save=False)
        assert article.frame.asked_for is AskedFor.INGREDIENTS
        assert not article.frame.combination
        assert not re.search(r"combination|together|documented for", article.headline, re.I), article.headline
        assert not any("together" in sub.heading for section in article.sections for sub in section.subsections)


def test_the_effects_of_stopping_are_no_change_the_reader_means_to_make():
    from medcite.retrieval.frame import self_change

    assert self_change("problems when stopping metformin, hair loss?") is None
    assert self_change("what happens when you stop taking spironolactone") is None
    assert self_change("should I stop my metformin?") == "stop"
    assert self_change("what should I do when stopping oxycodone") == "stop"
    assert self_change("how do u lower your dosage of gabapentin") == "reduce"


def test_strengths_of_a_drug_without_an_indexed_label_are_an_absence(engine):
    """Tramadol appears in guidelines only as a dose in some use; no source says what it is sold as."""
    article = engine.ask("how many milligrams in tramadol", save=False)
    assert "no indexed source states the strengths it comes in" in article.headline.lower(), article.headline


def test_a_product_without_an_indexed_label_is_an_absence_with_no_filler(engine):
    """Metoprolol is all over the guidelines, but no indexed source describes its tablets."""
    article = engine.ask("what does metoprolol succinate 50 mg look like?", save=False)
    assert article.frame.asked_for is AskedFor.APPEARANCE
    assert "no indexed source states what it looks like" in article.headline.lower()
    assert not clinical(article), [s.quote for s in clinical(article)]


def test_the_pill_before_a_drug_name_is_that_drug_not_a_contraceptive(engine):
    analysis = read(engine, "what does the pill oxybutynin look like")
    assert [m.concept.name for m in analysis.mentions if m.concept.kind == "drug"] == ["oxybutynin"]
    # "the pill" alone still means an oral contraceptive
    alone = read(engine, "can the pill cause headaches?")
    assert any("contracept" in m.concept.name for m in alone.mentions)


def test_a_span_of_time_called_a_period_is_no_menstruation():
    """A store that learned "period" as a name of menstruation (a consumer page's synonyms) still
    reads "a wean down period" and "a period of two weeks" as spans of time."""
    from medcite.vocab import Vocabulary

    vocabulary = Vocabulary.load(Settings.load())
    vocabulary.add_conditions([("menstruation", ["period", "periods"])])
    for question in ("is there a wean down period for prozac?", "how long is the waiting period after a flu shot?",
                     "Can I take ibuprofen for a period of two weeks?"):
        analysis = analyse(question, vocabulary)
        assert not any("menstru" in m.concept.name for m in analysis.mentions), question
    assert any("menstru" in m.concept.name
               for m in analyse("my period is late, could it be the pill?", vocabulary).mentions)


@pytest.mark.parametrize("question", [
    "foods to avoid when taking metformin",
    "why am i so cold taking bystolic b p med",
    "how will i feel when taking memantine tablets",
])
def test_statements_carry_the_topic_asked_or_are_headed_as_background(engine, question):
    """A question asked in its own words ("cold", "foods") is answered by sentences carrying them;
    one about the drug in general is background, said to be so, from the drug's own pages."""
    article = engine.ask(question, save=False)
    assert article.frame.asked_for is AskedFor.GENERAL
    for section in article.sections:
        for sub in section.subsections:
            for statement in sub.statements:
                if statement.kind is not StatementKind.CLINICAL:
                    continue
                if sub.heading.startswith("Background on"):
                    assert "does not answer the question" in sub.heading
                    assert cited_type(article, statement) is not SourceType.RESEARCH
                    continue
                words = {w for w in re.findall(r"[a-z]+", statement.quote.lower())}
                asked = set(re.findall(r"[a-z]+", question.lower()))
                assert words & asked - {"taking", "when", "to", "i", "am", "so", "how", "will", "the"}, \
                    (sub.heading, statement.quote)
    if not clinical(article):
        assert "no indexed" in article.headline.lower()


def test_an_agency_name_is_not_the_topic_word_it_contains(engine):
    """"Foods to avoid" is not answered by "... approved by the U.S. Food and Drug Administration"."""
    article = engine.ask("foods to avoid when taking metformin", save=False)
    for statement in clinical(article):
        assert "food and drug administration" not in statement.quote.lower() or re.search(
            r"\bfoods?\b", re.sub(r"(?i)food and drug administration", "", statement.quote), re.I), statement.quote


@pytest.mark.parametrize("question", [
    "how should i stop taking metoprolol?",
    "how to reduce carvedilol",
])
def test_how_to_stop_or_lower_a_drug_shows_how_treatment_is_ended(engine, question):
    """Asked how to come off a drug, the article says whether a source supports doing it alone and
    shows only sentences on how it is ended or the dose set (taper, do not withdraw abruptly)."""
    article = engine.ask(question, save=False)
    assert article.frame.self_change in ("stop", "reduce")
    assert "without your prescriber" in article.headline
    shown = clinical(article)
    assert shown, article.headline
    for statement in shown:
        assert re.search(r"taper|withdraw|abrupt|discontinu|stop|reduc|adjust|titrat|monitor|dose|as prescribed|"
                         r"long-term|lifelong|based on|maximum|exceed", statement.quote, re.I), statement.quote


def test_how_to_change_needs_a_drug_named():
    """"How to reduce cholesterol" is a treatment question, not a change to one's own medicine."""
    from medcite.retrieval.frame import self_change

    assert self_change("how to reduce cholesterol", 0) is None
    assert self_change("how to reduce bisoprolol", 1) == "reduce"
    assert self_change("how should i stop taking heparin?", 1) == "stop"
    assert self_change("is there a wean down period or can I stop it immediately?", 1) == "stop"


def _medquad_engine(tmp_path_factory, shared_data, name: str, pattern: str, limit: int = 80):
    """An engine on a store of the MedQuAD answers matching ``pattern`` (real pages)."""
    import json

    from medcite.ingest.runner import ingest_paths
    from medcite.store.sqlite import SQLiteStore

    home = tmp_path_factory.mktemp(f"{name}-home")
    rows = [line for line in (shared_data / "medquad" / "medquad_answered.jsonl").open(encoding="utf-8")
            if re.search(pattern, json.loads(line)["answer"])]
    path = home / f"medquad-{name}.jsonl"
    path.write_text("".join(rows[:limit]), encoding="utf-8")
    store = SQLiteStore(home / "medcite.sqlite")
    report = ingest_paths(store, [path], progress=False)
    assert not report.file_errors and report.outcome.added >= 20
    return store, Engine(store, Settings.load(dense="off"))


@pytest.fixture(scope="module")
def hpv_engine(tmp_path_factory, shared_data):
    """MedQuAD's pages on HPV and what it causes (genital warts, cervical and throat cancers)."""
    store, engine = _medquad_engine(tmp_path_factory, shared_data, "hpv", r"genital warts|\bHPV\b")
    yield engine
    store.close()


@pytest.fixture(scope="module")
def antidepressant_engine(tmp_path_factory, shared_data):
    """MedQuAD's pages that speak of antidepressants, their own page among them."""
    store, engine = _medquad_engine(tmp_path_factory, shared_data, "antidepressants", r"(?i)\bantidepressants\b")
    yield engine
    store.close()


def test_the_readers_own_name_for_a_condition_leads(hpv_engine):
    """"What causes genital warts?" is recognised as HPV infection; the verdict is the sentence on
    genital warts, not "cervical cancer is caused by HPV"."""
    article = hpv_engine.ask("What causes genital warts?", save=False)
    subject = article.frame.conditions[0]
    assert subject.asked_as == "genital warts" and subject.name != "genital warts"
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL
    assert re.search(r"genital warts", lead.quote, re.I), lead.quote


def test_a_plural_or_form_of_the_name_is_not_another_name():
    from medcite.retrieval.analysis import analyse as read_plainly

    frame = read_plainly("how do you know if you have a kidney stone").frame
    assert frame.conditions and frame.conditions[0].asked_as is None


def test_without_a_recognised_subject_untyped_research_is_no_answer(engine):
    """Only the question's words anchor it: a study typed by no clinical design is not quoted."""
    from medcite.models import StudyDesign

    for question in ("What does a low pulse possibly indicate?", "drugs which stimulating brain ?"):
        article = engine.ask(question, save=False)
        assert not article.frame.subjects()
        for statement in clinical(article):
            reference = {r.number: r for r in article.references}[statement.citations[0]]
            assert reference.source_type is not SourceType.RESEARCH or reference.study_design not in (
                StudyDesign.OTHER, StudyDesign.PRECLINICAL, None), (question, statement.quote)


@pytest.mark.parametrize(("question", "pattern"), [
    ("What is the half-life of Lipitor?", r"half-life[^.]*14 hours"),
    ("how long does humira stay in your system after stopping", r"half-life[^.]*2 weeks"),
])
def test_how_long_a_drug_stays_in_the_body_is_its_half_life(engine, question, pattern):
    """Not a course of treatment, and not any sentence on its clearance: the label's half-life,
    a measurement (what studies found is the answer here). A brand asked by is no other name."""
    article = engine.ask(question, save=False)
    assert article.frame.asked_for is AskedFor.ELIMINATION
    assert article.frame.agents[0].asked_as is None
    assert re.search(pattern, article.bottom_line[0].quote, re.I), article.headline
    assert cited_type(article, article.bottom_line[0]) is SourceType.DRUG_LABEL


def test_a_drug_the_store_has_no_kinetics_for_is_an_absence(engine):
    article = engine.ask("how long does marijuana stay in your system", save=False)
    assert article.frame.asked_for is AskedFor.ELIMINATION
    assert "no indexed source states how long it stays in the body" in article.headline.lower()


# --- how it is taken, what it is, and evidence on its class ------------------------------------

def _medquad_sentence(shared_data, page: str, phrase: str) -> str:
    """The sentence holding ``phrase`` on the MedQuAD page whose address holds ``page``."""
    import json

    for line in (shared_data / "medquad" / "medquad_answered.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if page in (row.get("url") or "") and phrase in row["answer"]:
            pieces = re.split(r"(?<=[.])\s+(?=[A-Z])|\s{3,}", row["answer"])
            return next(p for p in pieces if phrase in p).strip()
    raise AssertionError(f"no MedQuAD page {page!r} says {phrase!r}")


def test_how_to_take_a_drug_is_answered_with_its_regimen(engine):
    """"How should I take it?" asks for the dose and schedule, not for sentences carrying "told"."""
    article = engine.ask("I have gout and my doctor told me to take colchicine, how should I take it?", save=False)
    assert article.frame.asked_for is AskedFor.DOSE
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL, article.headline
    assert re.search(r"\d+(\.\d+)? ?mg", lead.quote), lead.quote
    assert cited_type(article, lead) is SourceType.GUIDELINE


def test_a_schedule_answers_how_often(shared_data):
    from medcite.retrieval.analysis import analyse as read_plainly
    from medcite.synthesis.relevance import states_frequency

    frame = read_plainly("tdap how often is a booster needed").frame
    assert frame.asked_for is AskedFor.DOSE and frame.frequency
    sentence = _medquad_sentence(shared_data, "tetanusdiphtheriaandpertussisvaccines", "every 10 years")
    assert states_frequency(sentence), sentence
    assert not states_frequency("Tetanus is a serious illness that causes painful tightening of the muscles.")


def test_what_a_nutrient_or_drug_is_can_be_its_role_or_its_kind(shared_data):
    """MedlinePlus's "Vitamin A plays a role in your vision ..." and NIHSeniorHealth's "antiviral
    medicines include acyclovir, valacyclovir" say what each is."""
    from medcite.retrieval.analysis import analyse as read_plainly
    from medcite.synthesis.relevance import states_item

    vitamin = read_plainly("why is vitamin a important to the body").frame.agents[0]
    role = _medquad_sentence(shared_data, "vitamina.html", "plays a role")
    assert states_item(role, AskedFor.DEFINITION, vitamin), role
    valtrex = read_plainly("What is Valtrex?").frame.agents[0]
    kind = _medquad_sentence(shared_data, "shingles", "valacyclovir")
    assert states_item(kind, AskedFor.DEFINITION, valtrex), kind
    assert not states_item("Valacyclovir was given for seven days in the trial.", AskedFor.DEFINITION, valtrex)


def test_a_class_harm_is_declared_as_the_class_when_nothing_names_the_drug(engine):
    """Meloxicam in kidney disease: the guidelines speak of NSAIDs; the verdict quotes them and says
    that the evidence is on the class, not on meloxicam by name."""
    article = engine.ask("is meloxicam safe with kidney disease", save=False)
    assert article.frame.asked_for is AskedFor.CONTRAINDICATION
    if article.bottom_line[0].kind is StatementKind.CLINICAL:
        lead = article.bottom_line[0]
        if not re.search(r"meloxicam", lead.quote, re.I):
            assert "documented for nonsteroidal anti-inflammatory drugs, the class meloxicam belongs to" \
                in article.headline
            facts = " ".join(s.text for s in article.bottom_line if s.kind is StatementKind.EVIDENCE_BASE)
            assert "drug class meloxicam belongs to" in facts
        assert re.search(r"kidney|renal|CKD|eGFR", lead.quote, re.I), lead.quote
    else:
        pytest.fail(f"no class-level evidence found: {article.headline}")


def test_a_class_page_speaks_for_its_members_as_the_class(antidepressant_engine):
    """"How long does sertraline take to work?": MedlinePlus's antidepressants page ("They work
    to balance ... It may take several weeks for them to help") answers it for the class, and
    the article says the evidence is on antidepressants, not on sertraline by name."""
    article = antidepressant_engine.ask("how long does it take for sertraline to work", save=False)
    assert article.frame.asked_for is AskedFor.ONSET
    assert "documented for antidepressants, the class sertraline belongs to" in article.headline
    lead = article.bottom_line[0]
    assert re.search(r"several weeks", lead.quote), lead.quote
    assert cited_type(article, lead) is SourceType.CONSUMER_HEALTH


def test_a_name_after_anti_or_non_names_what_the_agent_is_not():
    from medcite.synthesis.relevance import names_any

    assert names_any("Anti-thyroid medications interfere with thyroid hormone production.", ["thyroid medications"])\
        is False
    assert names_any("Non-aspirin NSAIDs raise the risk of bleeding.", ["aspirin"]) is False
    assert names_any("Aspirin and non-aspirin NSAIDs raise the risk of bleeding.", ["aspirin"]) is True
    assert names_any("Take your thyroid medication on an empty stomach.", ["thyroid medication"]) is True


def test_a_reader_s_thyroid_meds_are_a_drug_class_and_farming_is_no_evidence(engine):
    """ "the antibiotic along with my thyroid meds" names two agents; antibiotics in shrimp ponds
    or livestock are no clinical evidence on either, and one antibiotic's interaction is not
    presented as the class's."""
    article = engine.ask("Is it ok to take the antibiotic along with my thyroid meds?", save=False)
    assert article.frame.asked_for is AskedFor.INTERACTION
    assert {a.name for a in article.frame.agents} == {"antibiotics", "thyroid medications"}
    assert not re.search(r"rifampin|clarithromycin", article.headline, re.I), article.headline
    for statement in clinical(article):
        assert not re.search(r"shrimp|livestock|poultry|aquaculture|anti-thyroid", statement.quote, re.I), \
            statement.quote


def test_a_drug_not_stated_as_a_treatment_for_the_condition_is_said_so_plainly(engine):
    article = engine.ask("What about metformin for a yeast infection?", save=False)
    assert article.frame.asked_for is AskedFor.TREATMENT
    assert "no indexed source states it as a treatment for candidiasis" in article.headline.lower(), article.headline
    assert "no indexed source states metformin as a treatment for candidiasis." in \
        " ".join(s.text for s in article.bottom_line).lower()


def test_a_misspelt_interaction_of_two_drugs_is_still_one():
    assert asked_for("what is the drug to drug interation for luvox and quillivant", 2) is AskedFor.INTERACTION


def test_an_evening_is_no_even_and_nothing_no_noth():
    from medcite.synthesis.sentences import stem

    assert stem("evening") == "evening" and stem("nothing") == "nothing"
    assert stem("screening") == "screen" and stem("mammography") == "mamm"


@pytest.mark.parametrize("question", ["is there danger in stopping sertraline", "side effects of stopping atorvastatin",
                                      "what happens if I stop taking prednisone suddenly"])
def test_what_stopping_does_is_answered_by_withdrawal_not_by_reasons_to_stop(engine, question):
    """The effects asked are those of stopping: a discontinuation reaction or how to taper, never
    the share of trial patients who stopped because of side effects."""
    article = engine.ask(question, save=False)
    assert article.frame.asked_for is AskedFor.ADVERSE_EFFECTS and article.frame.stopping
    lead = article.bottom_line[0]
    if lead.kind is StatementKind.CLINICAL:
        assert re.search(r"discontinuation reaction|taper|cutting back|withdrawal|after you stop", lead.quote, re.I), \
            lead.quote
        assert not re.search(r"discontinued due to|led to discontinuation", lead.quote, re.I), lead.quote
    else:
        assert "no indexed source states what stopping it does" in article.headline.lower(), article.headline


def test_the_ssri_discontinuation_reaction_answers_stopping_sertraline(engine):
    article = engine.ask("is there danger in stopping sertraline", save=False)
    assert re.search(r"discontinuation reaction", article.bottom_line[0].quote or ""), article.headline


def test_with_or_without_food_is_answered_by_the_label(engine):
    article = engine.ask("do i take a statin with or without food ?", save=False)
    lead = article.bottom_line[0]
    assert cited_type(article, lead) is SourceType.DRUG_LABEL
    assert "with or without food" in lead.quote


def test_a_dose_asked_of_a_condition_names_the_drug_it_is_for(engine):
    """ "Starting dose: 2.5 mg weekly" under a diabetes guideline names no drug: no headline."""
    from medcite.synthesis.relevance import names_treatment

    lead = engine.ask("how to take your medicine diabetes", save=False).bottom_line[0]
    if lead.kind is StatementKind.CLINICAL and re.search(r"\d+(\.\d+)? ?mg\b", lead.quote):
        assert names_treatment(lead.quote), lead.quote
    assert not lead.quote or not lead.quote.startswith("Starting dose"), lead.quote
    article = engine.ask("what is the dose for pneumonia", save=False)
    assert "amoxicillin" in article.bottom_line[0].quote.lower(), article.headline


def test_a_lab_recheck_within_weeks_is_no_onset_of_effect():
    from medcite.synthesis.relevance import states_item

    assert not states_item("Continue therapy unless potassium is unmanageable or eGFR declines >30% within 4 weeks.",
                           AskedFor.ONSET)
    assert states_item("Blood pressure is lowered within 2 weeks of starting treatment.", AskedFor.ONSET)
    assert states_item("It may take several weeks for them to help.", AskedFor.ONSET)


def test_a_reference_pages_own_sub_heading_says_what_its_sentences_are_about():
    from medcite.synthesis.relevance import inline_heading

    text = ("Vaccines\nVaccines are available to prevent pneumococcal pneumonia and the flu.\n"
            "Pneumococcal Pneumonia Vaccine\nA vaccine is available to prevent pneumococcal pneumonia. "
            "In most adults, one shot is good for at least 5 years of protection.\n"
            "Influenza Vaccine\nThe vaccine that helps prevent the flu is good for 1 year.")
    assert inline_heading(text, "In most adults, one shot is good for at least 5 years of protection.") \
        == "Pneumococcal Pneumonia Vaccine"
    assert inline_heading(text, "The vaccine that helps prevent the flu is good for 1 year.") == "Influenza Vaccine"
    # a run of short lines is a list: its last item heads nothing
    listed = "Some medicines restore the rhythm.\nAmiodarone\nSotalol\nThese medicines often have side effects."
    assert inline_heading(listed, "These medicines often have side effects.") is None


def test_treatments_that_may_include_are_no_symptoms():
    from medcite.synthesis.relevance import states_item

    assert not states_item("Treatments may include shock wave lithotripsy or ureteroscopy.", AskedFor.SYMPTOMS)
    assert states_item("People with kidney stones may have pain while urinating.", AskedFor.SYMPTOMS)


def test_a_misspelt_word_of_asking_is_read_as_the_word(engine):
    """ "pregnacy", "efects", "adminitsered": words the corpus lacks, one edit from a word of
    asking, are corrected (and the article says so) as misspelt drug names are."""
    article = engine.ask("is amoxicillin safe during pregnacy", save=False)
    assert ("pregnacy", "pregnancy") in [(c.typed, c.corrected) for c in article.frame.corrections]
    assert article.frame.population.pregnancy
    assert engine.ask("what are the side efects of metformin", save=False).frame.asked_for is AskedFor.ADVERSE_EFFECTS


def test_a_headline_clause_ending_in_a_lead_in_is_read_with_what_it_leads_into():
    from medcite.synthesis.verdict import clause

    quote = "Certain combination pills can also cause hypoglycemia, including\n- glipizide + metformin (Metaglip)"
    assert clause(quote, AskedFor.ADVERSE_EFFECTS).endswith("glipizide + metformin (Metaglip)")


def test_harm_asked_in_general_words_names_the_item_not_an_effect():
    """ "lead to negative health outcomes" names the item: no sentence must repeat those words
    (on the full MedQuAD store the MedlinePlus page's "Marijuana can cause problems with memory"
    then leads instead of a study that happens to say "negative health outcomes")."""
    from medcite.synthesis.relevance import ITEM_NAMING_WORDS

    assert asked_for("does marijuana use lead to negative health outcomes?", 1) is AskedFor.ADVERSE_EFFECTS
    assert {"negative", "health", "outcomes", "lead", "harmful"} <= ITEM_NAMING_WORDS[AskedFor.ADVERSE_EFFECTS]


def test_how_long_a_pair_is_taken_asks_for_a_duration_not_an_interaction(engine):
    """ "How long can you be on clopidogrel and aspirin combined?": the duration of the pair."""
    assert asked_for("how long can you be on clopidogrel & aspirin combined for", 2) is AskedFor.DURATION
    article = engine.ask("how long can you be on clopidogrel & aspirin combined for", save=False)
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL, article.headline
    assert re.search(r"\b\d+\s?(–|-|to)\s?\d+ days|\b\d+ (days|months)\b", lead.quote), lead.quote
    assert re.search(r"aspirin", lead.quote, re.I) and re.search(r"clopidogrel", lead.quote, re.I), lead.quote


def test_a_class_named_for_its_member_is_no_second_agent():
    from medcite.retrieval.analysis import analyse

    frame = analyse("do antibiotics like keflex continue working after cessation of drug ?").frame
    assert [a.name for a in frame.agents] == ["cephalexin"] and not frame.combination and not frame.classes_asked
    both = analyse("Can I take accutane with antibiotics?").frame
    assert len(both.agents) == 2 and both.combination


"""Articles that answer the question asked, on the real clinical store (demo corpus, NGC
guidelines, two DailyMed labels, MedQuAD): each failure pattern of issue #10 in kind."""

from __future__ import annotations

import re

import pytest

from medcite.answer import Engine
from medcite.models import Article, AskedFor, StatementKind, StudyDesign
from medcite.retrieval.evidence import study_design
from medcite.settings import Settings
from medcite.synthesis.relevance import aboutness, local_abbreviations
from medcite.synthesis.sentences import in_context
from medcite.synthesis.verify import check_article, verify_article


@pytest.fixture(scope="module")
def engine(clinical_store):
    return Engine(clinical_store, Settings.load(dense="off"))


def answer(engine: Engine, question: str) -> Article:
    return engine.ask(question, save=False)


def clinical(article: Article):
    return [s for s in article.statements() if s.kind is StatementKind.CLINICAL]


def test_a_maximum_dose_with_an_interacting_drug_comes_from_the_label(engine):
    article = answer(engine, "What is the maximum dose of atorvastatin with clarithromycin?")
    assert article.frame.asked_for is AskedFor.MAXIMUM_DOSE
    assert re.search(r"\b20 mg\b", article.headline) and "80 mg" not in article.headline
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL and "20 mg" in lead.quote
    cited = {r.number: r for r in article.references}[lead.citations[0]]
    assert cited.type_label == "Drug label" and "LIPITOR" in cited.title
    assert lead.where and "LIPITOR" in lead.where


@pytest.mark.parametrize(("question", "criterion"), [
    ("Who should be screened for hepatitis C?", r"persons at high risk"),
    ("Which women should be screened for osteoporosis?", r"women[^”]{0,30}\b65\b"),
    ("Which adults should use a statin for primary prevention of CVD?", r"10% or greater"),
])
def test_who_should_receive_it_is_answered_with_a_recommendation_naming_whom(engine, question,
                                                                              criterion):
    """Not with whether it works: the lead is a guideline's recommendation and the headline
    keeps its criteria (an age, a risk), for the whole population rather than one disease's."""
    article = answer(engine, question)
    assert article.frame.asked_for is AskedFor.INDICATION
    assert re.search(criterion, article.headline), article.headline
    assert not re.search(r"report (no )?benefit|CKD|dialysis", article.headline), article.headline
    lead = article.bottom_line[0]
    cited = {r.number: r for r in article.references}[lead.citations[0]]
    assert lead.kind is StatementKind.CLINICAL and cited.type_label == "Guideline"


def test_an_interaction_is_found_through_the_agents_mechanism_not_called_absent(engine):
    article = answer(engine, "Can St John's wort be taken with sertraline?")
    assert "no indexed evidence" not in article.headline.lower()
    assert re.search(r"CYP|cytochrome|interact", article.headline, re.I)
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL
    # The guideline writes "SJW" after defining it; the sentence is about St John's wort.
    assert any(a.startswith("herb:") or a.startswith("supplement:") for a in lead.about)
    facts = " ".join(s.text for s in article.bottom_line if s.kind is StatementKind.EVIDENCE_BASE)
    assert "sertraline" in facts.lower()  # it says the pair itself is not documented


def test_a_misspelt_condition_is_corrected_and_defined_from_a_reference_page(engine):
    article = answer(engine, "What is anemea?")
    assert [(c.typed, c.corrected) for c in article.frame.corrections] == [("anemea", "anemia")]
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL and re.match(r"anemia\b[^.]{0,20}\bis a", lead.quote, re.I), lead.quote
    cited = {r.number: r for r in article.references}[lead.citations[0]]
    assert cited.type_label == "Consumer health"
    assert "a condition in which your blood" in article.headline


def test_alternatives_are_compared_not_combined(engine):
    article = answer(engine, "Zyrtec or claritin for allergies?")
    assert article.frame.alternatives
    headings = [sub.heading for sec in article.sections for sub in sec.subsections]
    assert not any("together" in h or "combination" in h.lower() for h in headings)
    assert "combination" not in article.headline.lower()


def test_a_childs_dose_is_never_answered_with_an_adult_dose(engine):
    article = answer(engine, "What dose of amoxicillin for a 2-year-old with an ear infection?")
    assert article.frame.population.age_group == "child"
    for statement in clinical(article):
        # A dose shown for a child's question names children.
        if re.search(r"\d\s?mg\b", statement.quote):
            assert re.search(r"child|pediatric|paediatric|infant|kg", statement.quote, re.I), statement.quote
    assert "500 mg" not in article.headline


def test_a_renal_threshold_question_reads_the_number_not_a_condition(engine):
    article = answer(engine, "Should metformin be stopped if eGFR falls below 30?")
    assert not article.frame.conditions
    assert article.frame.population.egfr == 30
    assert "eGFR" in article.headline and "30" in article.headline


def test_every_statement_under_an_agent_is_about_it(engine):
    for question in ("Can St John's wort be taken with sertraline?",
                     "What are the side effects of adalimumab?",
                     "Can I take ibuprofen while pregnant?",
                     "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?"):
        article = answer(engine, question)
        for statement in clinical(article):
            assert statement.about, (question, statement.quote)
        assert article.verification.relevance_checked >= len(clinical(article)) - len(article.bottom_line)


def test_a_question_on_one_population_takes_no_sentence_about_another(engine):
    article = answer(engine, "Can I take ibuprofen while pregnant?")
    assert article.frame.population.pregnancy
    for statement in clinical(article):
        assert not re.search(r"\b(children|pediatric|infants)\b", statement.quote, re.I) or \
            re.search(r"pregnan", statement.quote, re.I), statement.quote
    assert "urine pregnancy test" not in article.headline


def test_animal_and_laboratory_sentences_are_not_shown_beside_human_evidence(engine):
    for question in ("What is the maximum dose of atorvastatin with clarithromycin?",
                     "Should metformin be stopped if eGFR falls below 30?"):
        for statement in clinical(answer(engine, question)):
            assert not re.search(r"\b(mice|rats?|cell lines?|in vitro)\b", statement.quote, re.I), statement.quote


def test_materials_science_sharing_a_drugs_name_is_never_evidence(engine):
    article = answer(engine, "Does lithium interact with ibuprofen in older adults?")
    for statement in clinical(article):
        assert not re.search(r"anode|battery|batteries|electrode", statement.quote, re.I), statement.quote


def test_an_animal_study_is_typed_preclinical(clinical_store):
    with clinical_store.reading() as conn:
        rows = conn.execute("SELECT key FROM documents WHERE mesh_terms LIKE '%\"Animals\"%' "
                            "AND mesh_terms NOT LIKE '%\"Humans\"%' LIMIT 5").fetchall()
    assert rows, "the demo corpus has animal studies"
    for (key,) in rows:
        assert study_design(clinical_store.document(key)) is StudyDesign.PRECLINICAL


def test_a_title_naming_an_animal_model_outweighs_mesh_humans(clinical_store):
    """Older PubMed records on monkeys or dogs often carry MeSH "Humans" as well."""
    with clinical_store.reading() as conn:
        rows = conn.execute("SELECT key, title FROM documents WHERE source_type = 'research' AND "
                            "mesh_terms LIKE '%\"Humans\"%' AND mesh_terms LIKE '%\"Animals\"%' AND "
                            "(title LIKE '% monkeys%' OR title LIKE '% rats%' OR title LIKE '% dogs%')").fetchall()
    animal = [key for key, title in rows
              if not re.search(r"\b(patients?|humans?|men|women|children|people|subjects)\b", title, re.I)]
    assert animal, "the demo corpus has animal studies indexed with MeSH Humans"
    for key in animal:
        assert study_design(clinical_store.document(key)) is StudyDesign.PRECLINICAL, key
    # a study of people that names an animal (a dog bite) stays a clinical study
    people = [key for key, title in rows if key not in animal]
    for key in people:
        assert study_design(clinical_store.document(key)) is not StudyDesign.PRECLINICAL, key


def test_an_agents_documented_interactions_are_clinical_and_about_interactions(engine):
    """The fall-back "X has documented interactions" needs a sentence on drug interactions from
    a clinical source: not a monkey self-administration schedule ("separated by 3 or more days")
    or a study of opioids in river water ("opioids and other drugs of abuse")."""
    for question in ("what is acetaminophen and 8mg codeine phosphate", "Can I take codeine with tylenol?",
                     "Does cocaine interact with amphetamine?"):
        article = answer(engine, question)
        if "documented interactions" in article.headline:
            lead = article.bottom_line[0]
            assert not re.search(r"reinforced|self-administ|surface waters|wastewater|fish", lead.quote, re.I), lead.quote
        for statement in clinical(article):
            assert not re.search(r"surface waters|wastewater|river water", statement.quote, re.I), statement.quote


def test_an_emergency_bottom_line_is_only_what_to_do(engine):
    article = answer(engine, "My 3-year-old swallowed about 20 iron pills, what should I do?")
    assert article.emergency_notice
    assert [s.kind for s in article.bottom_line] == [StatementKind.EVIDENCE_BASE]


def test_a_sentence_that_leans_on_the_one_before_is_quoted_with_it(clinical_store):
    passages = clinical_store.passages_of(clinical_store.document(
        next(d.key for d in _labels(clinical_store) if "LIPITOR" in d.title)).key)
    widened = 0
    for passage in passages:
        for index, sentence in enumerate(passage.sentence_texts()):
            if sentence.startswith("Therefore") and index > 0:
                quote = in_context(passage, index, sentence.strip())
                assert quote in passage.text and quote.endswith(sentence.strip())
                assert quote.startswith(passage.sentence_texts()[index - 1].strip()[:20])
                widened += 1
    assert widened


def test_a_passage_defined_abbreviation_names_the_agent(clinical_store):
    text = ("Adverse effects of St. John's wort (SJW) include gastrointestinal upset. "
            "SJW induces the cytochrome P450 3A4 enzyme.")
    assert local_abbreviations(text, ("st john's wort",)) == ("sjw",)


def _labels(store):
    with store.reading() as conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM documents WHERE source_type = 'drug_label'")]
    return [store.document(k) for k in keys]


# --- verification rejects, branch by branch --------------------------------------------------

@pytest.fixture(scope="module")
def verified(engine):
    return answer(engine, "Can St John's wort be taken with sertraline?")


def _first_clinical_edit(article: Article, **update) -> Article:
    edited = False

    def edit(statement):
        nonlocal edited
        if statement.kind is StatementKind.CLINICAL and not edited:
            edited = True
            return statement.model_copy(update=update)
        return statement

    sections = [sec.model_copy(update={"subsections": [sub.model_copy(update={
        "statements": [edit(s) for s in sub.statements]}) for sub in sec.subsections]})
        for sec in article.sections]
    return article.model_copy(update={"sections": sections, "bottom_line": []})


def test_a_verified_article_passes_its_recheck(verified, clinical_store):
    report = check_article(verified, clinical_store)
    assert not report.failures, [f.reason for f in report.failures]


@pytest.mark.parametrize(("update", "reason"), [
    ({"about": ["drug:sertraline"]}, "not about sertraline"),
    ({"about": ["drug:warfarin"]}, "does not name"),
    ({"text": "St John's wort is safe with every drug."}, "not its quote"),
])
def test_verification_drops_a_statement_that_is_not_about_what_it_claims(verified, clinical_store,
                                                                         update, reason):
    tampered = _first_clinical_edit(verified, **update)
    report = check_article(tampered, clinical_store)
    assert any(reason in f.reason for f in report.failures), [f.reason for f in report.failures]
    rechecked = verify_article(tampered, clinical_store)
    kind = "wording" if "text" in update else "relevance"
    assert getattr(rechecked.verification, f"{kind}_dropped") == 1


def test_verification_drops_class_evidence_that_does_not_say_so(engine, clinical_store):
    article = answer(engine, "Can St John's wort be taken with sertraline?")
    classed = [s for s in clinical(article) if s.via_class]
    if not classed:
        pytest.skip("no class-level statement in this article")
    tampered = _first_clinical_edit(article, via_class=None, about=classed[0].about,
                                    quote=classed[0].quote, text=classed[0].quote,
                                    citations=classed[0].citations, passage_keys=classed[0].passage_keys)
    assert any("without saying so" in f.reason for f in check_article(tampered, clinical_store).failures)


def test_verification_drops_a_sentence_about_another_population(engine, clinical_store):
    article = answer(engine, "What are the side effects of adalimumab in children?")
    assert article.frame.population.age_group == "child"
    children = [s for s in clinical(article) if re.search(r"pediatric|children", s.quote, re.I)
                and not re.search(r"pregnan|adult", s.quote, re.I)]
    assert children
    as_if_pregnant = article.model_copy(update={"frame": article.frame.model_copy(update={
        "population": article.frame.population.model_copy(update={"pregnancy": True,
                                                                  "age_group": None})})})
    failures = check_article(as_if_pregnant, clinical_store).failures
    assert {f.statement.quote for f in failures if "not pregnancy" in f.reason} >= {s.quote for s in children}


def test_aboutness_needs_the_name_the_class_or_the_agents_own_page(engine):
    frame = answer(engine, "Can St John's wort be taken with sertraline?").frame
    sertraline = next(a for a in frame.agents if a.name == "sertraline")
    assert aboutness("SSRIs are first-line for depression.", sertraline).via_class
    assert not aboutness("SJW can decrease the effectiveness of tricyclic antidepressant drugs.",
                         sertraline).about
    assert not aboutness("Continue SGLT2 inhibitors even if eGFR falls below 20.", sertraline).about


@pytest.mark.parametrize(("question", "wanted", "wrong"), [
    # The adult maximum is the label's dosage range, not the paediatric cap or a co-medication cap.
    ("What is the maximum daily dose of atorvastatin?", r"\b80 mg\b", r"\b(20|40) mg\b"),
    # The paediatric section's own heading names the population its sentences are about.
    ("Maximum atorvastatin dose in children aged 10 to 17?", r"\b20 mg/day\b", r"\b80 mg\b"),
    ("What dose of atorvastatin for a 12-year-old with familial hypercholesterolemia?", r"\b10 mg/day\b",
     r"\b80 mg\b"),
    ("Can atorvastatin be taken during pregnancy?", r"contraindicated", r"\bno indexed\b"),
])
def test_label_facts_come_from_the_section_for_the_population_asked(engine, question, wanted, wrong):
    headline = answer(engine, question).headline
    assert re.search(wanted, headline) and not re.search(wrong, headline), headline


def test_a_childs_weight_picks_the_labels_weight_band(engine):
    """A 20 kg child gets the 15-30 kg row of the label's dosing table, not a drug level
    measured in cord blood, a carton's strength or the band for heavier children."""
    article = answer(engine, "What is the Humira dose for a 20 kg child with JIA?")
    assert article.frame.population.weight_kg == 20
    assert re.search(r"15 kg.{0,20}30 kg.{0,15}20 mg every other week", article.headline), article.headline
    shown = " ".join(s.quote or "" for s in clinical(article))
    assert "cord blood" not in shown and "Carton" not in shown
    assert not re.search(r"(?<![<\d])≥\s?30 kg", shown)


@pytest.mark.parametrize(("text", "bands"), [
    ("15 kg (33 lbs) to <30 kg (66 lbs) | 20 mg every other week", ((15, 30),)),
    ("≥30 kg (66 lbs) | 40 mg every other week", ((30, float("inf")),)),
    ("limited data on HUMIRA treatment in children with weight <15 kg.", ((0, 15),)),
    ("The dose is 10 mg/kg twice daily.", ()),
])
def test_weight_bands_are_read_from_label_text(text, bands):
    from medcite.synthesis.bands import weight_bands
    assert weight_bands(text) == bands


def test_an_interaction_headline_is_the_labels_instruction_not_its_pharmacokinetics(engine):
    article = answer(engine, "Can Lipitor be taken with cyclosporine?")
    assert re.search(r"should be avoided|avoid", article.headline, re.I), article.headline
    assert "AUC" not in article.headline


def test_a_change_made_on_ones_own_is_answered_with_whether_any_source_supports_it(engine):
    """Not with a dose to take: "Should I double my warfarin dose?" is told that no source
    supports it and what the sources say on how the dose is set."""
    article = answer(engine, "Should I double my warfarin dose?")
    assert article.frame.self_change == "double"
    assert article.headline.startswith("Warfarin: no indexed source supports doubling the dose"), article.headline
    assert not re.search(r"\b(10|double|twice)\b[^.]{0,20}\bmg\b", article.headline)


def test_an_animal_patient_is_not_given_human_evidence(engine):
    article = answer(engine, "Can I give atorvastatin to my 10 kg dog?")
    assert "veterinarian" in article.headline
    assert clinical(article) == []


@pytest.mark.parametrize(("question", "wanted", "wrong"), [
    # a general question: the effects most patients meet, from the label
    ("What are the side effects of Humira?", r"most common adverse reaction", r"not all the possible"),
    # one named effect: that effect, or that no source states it
    ("Does Humira cause hair loss?", r"no indexed source states .*(hair loss|alopecia).* as an adverse effect",
     r"injection site|infection"),
    # the indication named: its dose, not the psoriasis dose
    ("What is the starting dose of Humira for Crohn's disease?", r"Crohn.{0,30}160 mg", r"psoriasis"),
    # pregnancy: the label's conditions of use, not "no evidence"
    ("Is adalimumab safe during pregnancy?", r"pregnancy only if clearly needed|only be used during a pregnancy",
     r"no indexed"),
    # a sentence whose eGFR range holds 25 first; one whose range excludes it is said to
    ("Can metformin be used with an eGFR of 25?", r"eGFR < 30|eGFR 25 lies outside that range",
     r"eGFR ≥ 30 mL/min/1.73 m²” \(guideline\)$"),
])
def test_the_headline_answers_what_was_named(engine, question, wanted, wrong):
    headline = answer(engine, question).headline
    assert re.search(wanted, headline) and not re.search(wrong, headline), headline


@pytest.mark.parametrize(("text", "bands"), [
    ("Metformin: Safe at eGFR ≥ 30 mL/min/1.73 m².", ((30, float("inf")),)),
    ("Do not start metformin if eGFR is 30-45.", ((30, 45),)),
    ("Use with CrCl less than 30 mL/min is not recommended.", ((0, 30),)),
    ("The eGFR was measured at baseline.", ()),
])
def test_kidney_function_bands_are_read_from_text(text, bands):
    from medcite.synthesis.bands import kidney_bands
    assert kidney_bands(text) == bands


@pytest.mark.parametrize("text", [
    "These are not all the possible side effects with HUMIRA.",
    "What are the possible side effects of HUMIRA?",
    "Call your doctor for medical advice about side effects.",
    "Signs and Symptoms Approximate number of patients (when available) Abdominal aortic aneurysm - "
    "The Human Phenotype Ontology (HPO) has collected information on how often a sign occurs.",
])
def test_medication_guide_boilerplate_and_headings_are_never_quoted(text):
    from medcite.synthesis.sentences import quotable
    assert quotable(text) is None


def test_dialysis_is_read_as_below_every_stated_egfr_range(engine):
    article = answer(engine, "Is metformin safe on dialysis?")
    assert article.frame.population.dialysis
    assert "on dialysis" in article.headline
    # a quoted eGFR range must not read as covering dialysis
    assert re.search(r"lies outside that range|no indexed source", article.headline), article.headline


@pytest.mark.parametrize(("question", "wanted"), [
    ("What are the symptoms of anemia?", r"fatigue"),
    # a class asked about is named by its members
    ("What antibiotic is first-line for community-acquired pneumonia in adults?", r"[Aa]moxicillin|[Dd]oxycycline"),
    # a guideline on the condition is about it: its targets are the condition's
    ("What is the target blood pressure for adults with diabetes?", r"130/80"),
    ("How often should adults be screened for high blood pressure?", r"annual|every \d|years"),
])
def test_more_kinds_of_question_get_the_asked_thing(engine, question, wanted):
    headline = answer(engine, question).headline
    assert re.search(wanted, headline), headline


def test_an_adult_age_range_is_not_a_childrens_group():
    from medcite.synthesis.relevance import groups_named
    assert "child" not in groups_named("when they are aged 40 to 75 years")
    assert "child" in groups_named("in children aged 2 to 5 years")
    assert "child" not in groups_named("adults under 65 years")


@pytest.mark.parametrize(("question", "wanted", "wrong"), [
    # a condition-only question is answered by the drugs its sources name
    ("What is the first-line treatment for hypertension?", r"thiazide|ACE|calcium channel|diuretic", r"^$"),
    # "how is X treated" asks for the treatment; a preferred severity score is none
    ("How is community-acquired pneumonia treated?", r"[Aa]moxicillin|[Dd]oxycycline|macrolide|antibiotic",
     r"CURB-65|Severity Index"),
])
def test_a_treatment_question_is_answered_with_a_treatment(engine, question, wanted, wrong):
    headline = answer(engine, question).headline
    assert re.search(wanted, headline) and not re.search(wrong, headline), headline


def test_a_first_line_statement_names_a_treatment():
    from medcite.synthesis.relevance import states_item
    assert not states_item("The Work Group recommends shared decision-making to enhance patient "
                           "knowledge and satisfaction.", AskedFor.FIRST_LINE)
    assert states_item("The Work Group recommends the use of thiazide-type diuretics for the "
                       "treatment of hypertension.", AskedFor.FIRST_LINE)


def test_a_duration_is_a_span_of_time_from_the_guideline_on_the_condition(engine):
    headline = answer(engine, "How long should anticoagulation continue after a first DVT?").headline
    assert re.search(r"\d+\s?[–-]\s?\d+ months", headline), headline


def test_a_course_for_another_condition_is_never_the_answer(engine):
    """No indexed source gives an amoxicillin course for strep throat; the pneumonia
    guideline's 5 days is not offered instead."""
    article = answer(engine, "How long should I take amoxicillin for strep throat?")
    assert "no indexed source states a duration" in article.headline, article.headline
    assert "5 days" not in article.headline


def test_a_maximum_is_a_directive_not_what_a_trial_gave(engine):
    """The Humira label states no maximum dose: a trial's dose, a measured Cmax or a
    co-medication's cap ('prednisone ... 10 mg/day maximum') is not offered as one."""
    headline = answer(engine, "What is the maximum dose of Humira?").headline
    assert "no indexed source states a maximum dose" in headline, headline


@pytest.mark.parametrize("text", [
    "In the first three phases of the study, HUMIRA was administered based on body surface area.",
    "Doses up to 10 mg/kg have been administered to patients in clinical trials.",
    "The pharmacokinetics of adalimumab were linear over the dose range of 0.5 to 10.0 mg/kg.",
])
def test_what_a_study_gave_or_measured_is_a_study_report(text):
    from medcite.synthesis.relevance import reports_study
    assert reports_study(text)


@pytest.mark.parametrize(("question", "wanted"), [
    # an instruction on the pair is an interaction statement
    ("Can I take Humira with a live vaccine?", r"Avoid the use of live vaccines with HUMIRA"),
    # everyday names of a class ("birth control") and "decrease the effectiveness of"
    ("Does St John's wort interact with birth control?", r"decrease the effectiveness of\s+contraceptives"),
])
def test_an_interaction_is_read_in_its_plain_words(engine, question, wanted):
    headline = answer(engine, question).headline
    assert re.search(wanted, headline), headline


@pytest.mark.parametrize(("question", "item", "wanted"), [
    # a missed dose: the label's instruction with its time limit
    ("I forgot my Lipitor this morning, should I take it now?", AskedFor.MISSED_DOSE,
     r"as soon as you remember.{0,20}Do not take LIPITOR if it has been more than 12 hours"),
    ("What causes anemia?", AskedFor.CAUSE, r"most common cause of anemia"),
    ("Is alpha-1 antitrypsin deficiency inherited?", AskedFor.INHERITANCE, r"inherited"),
    # no number, but whether the dose changes at all
    ("What is the dose of atorvastatin in kidney disease?", AskedFor.DOSE, r"dose adjustment"),
    # the band of a score the question gives, from the section heading
    ("Antibiotic of choice for community-acquired pneumonia with a CURB-65 score of 1?", AskedFor.FIRST_LINE,
     r"Amoxicillin 500 mg TDS orally for 5 days"),
    ("What antibiotic for pneumonia with a CURB-65 score of 2?", AskedFor.FIRST_LINE, r"PLUS clarithromycin"),
    # "mammogram" meets "mammography"; the recommendation for the woman's age band
    ("How often should a woman aged 60 have a screening mammogram?", AskedFor.INDICATION,
     r"biennial screening mammography for women aged 50 to 74"),
])
def test_each_kind_of_question_is_answered_in_its_own_terms(engine, question, item, wanted):
    article = answer(engine, question)
    assert article.frame.asked_for is item
    assert re.search(wanted, article.headline), article.headline


def test_scores_are_read_from_the_question_and_from_headings():
    from medcite.retrieval.frame import scores
    from medcite.synthesis.bands import score_fits
    assert scores("pneumonia with a CURB-65 score of 1 managed at home") == {"curb-65": 1.0}
    assert scores("Type 2 diabetes after COVID 19") == {}
    assert score_fits("Low Severity (CURB-65 0–1, outpatient) First-line: amoxicillin", {"curb-65": 1.0})
    assert score_fits("Moderate Severity (CURB-65 2, inpatient ward)", {"curb-65": 1.0}) is False
    assert score_fits("No score here", {"curb-65": 1.0}) is None


def test_the_most_common_adverse_reactions_are_listed_in_the_headline(engine):
    """Not the subset that led to discontinuation, and not cut off before the list."""
    headline = answer(engine, "What are the most common side effects of atorvastatin?").headline
    assert re.search(r"most commonly reported adverse reactions …: nasopharyngitis", headline), headline
    assert "discontinuation" not in headline


def test_a_molecular_interaction_is_no_drug_interaction():
    from medcite.synthesis.relevance import states_item
    assert not states_item("It also plays a role in controlling cell signaling in response to insulin, "
                           "through interaction between a part of the ENPP1 protein called a "
                           "somatomedin B domain and the insulin receptor.", AskedFor.INTERACTION)
    assert states_item("SJW induces the cytochrome P450 3A4 enzyme, thereby posing a high risk of "
                       "drug interactions.", AskedFor.INTERACTION)


@pytest.mark.parametrize(("question", "group"), [
    ("I put baby powder on my rash, is that ok?", None),
    ("my baby has a fever, what dose of acetaminophen?", "infant"),
])
def test_a_product_named_for_babies_is_no_infant(question, group):
    from medcite.retrieval.frame import population
    assert population(question).age_group == group

"""The condition lexicon: curated conditions and names learned from the store."""

from __future__ import annotations

import pytest

from medcite.settings import Settings
from medcite.vocab import Vocabulary, learn_conditions
from medcite.vocab.conditions import LEARNED_FILE, name_variants


@pytest.mark.parametrize(("text", "concept"), [
    ("depression", "condition:depression"),
    ("major depressive disorder", "condition:depression"),
    ("MDD", "condition:depression"),
    ("high blood pressure", "condition:hypertension"),
    ("type 2 diabetes", "condition:type-2-diabetes"),
    ("AFib", "condition:atrial-fibrillation"),
    ("torsades de pointes", "condition:qt-prolongation"),
    ("long QT", "condition:qt-prolongation"),
    ("hypomagnesemia", "condition:hypomagnesemia"),
    ("COPD", "condition:copd"),
])
def test_curated_conditions(vocabulary, text, concept):
    mentions = vocabulary.recognise(text)
    assert [m.concept.id for m in mentions] == [concept]
    assert mentions[0].concept.kind == "condition"
    assert mentions[0].form is None


def test_mesh_headings_are_read_in_natural_order_too():
    assert name_variants("Diabetes Mellitus, Type 2") == [
        "Diabetes Mellitus, Type 2", "Type 2 Diabetes Mellitus"]
    assert name_variants("Glaucoma") == ["Glaucoma"]


def test_learned_conditions_are_recognised_and_persisted(own_vocabulary: Vocabulary, store):
    question = "Does betahistine help Meniere disease?"
    assert [m.concept.id for m in own_vocabulary.recognise(question)] == ["drug:betahistine"]
    added = learn_conditions([
        ("Meniere Disease", ["Endolymphatic Hydrops", "Humans"]),
        ("Depressive Disorder, Major", ["Depression, Involutional"]),
        ("Humans", []),               # a MeSH check tag, not a condition
        ("Support", ["Water"]),       # ordinary words are never learned
        ("Magnesium", []),            # already a supplement: not taken over
    ], store)
    assert added >= 3
    mentions = own_vocabulary.recognise("Is betahistine used for endolymphatic hydrops?")
    assert [m.concept.id for m in mentions] == ["drug:betahistine", "condition:meniere-disease"]
    assert own_vocabulary.recognise("Ménière disease")[0].concept.name == "meniere disease"
    # A learned synonym of a curated condition joins it.
    assert own_vocabulary.normalise("involutional depression").id == "condition:depression"
    assert own_vocabulary.recognise("humans") == []
    assert own_vocabulary.recognise("water") == []
    assert own_vocabulary.normalise("magnesium").kind == "supplement"

    names = {name for name, _ in store.condition_names.all()}
    assert names >= {"Meniere Disease", "Depressive Disorder, Major"}
    # Learning the same names again adds nothing.
    assert learn_conditions([("Meniere Disease", ["Endolymphatic Hydrops"])], store) == 0


def test_learned_conditions_reach_every_process_reading_the_store(vocabulary, home, store,
                                                                  tmp_path):
    """Names learned by an ingest on one machine are recognised by a replica with another
    home on the same store, once its searcher is built."""
    from medcite.retrieval.setup import searcher_for
    from medcite.store import open_store

    settings = Settings.load()
    assert Vocabulary.loaded(settings) is None
    assert learn_conditions([("Restless Genitals Syndrome", [])], store) == 1
    replica = Settings.load(home=str(tmp_path / "replica"), store_url=store.location, dense="off")
    other = open_store(replica)
    try:
        replica_vocabulary = searcher_for(other, replica).vocabulary
    finally:
        other.close()
    assert replica_vocabulary.recognise("restless genitals syndrome")[0].concept.id == (
        "condition:restless-genitals-syndrome")
    # The shared, compiled lexicon is untouched: no other home's vocabulary has the name.
    assert vocabulary.recognise("restless genitals syndrome") == []
    assert not (Settings.load().home_path / LEARNED_FILE).exists()


def test_unreadable_learned_file_counts_as_empty(home):
    from medcite.vocab.conditions import load_learned

    path = Settings.load().home_path / LEARNED_FILE
    path.write_text("{not json")
    assert load_learned(path) == []


def test_learned_inverted_heading_is_named_in_natural_order(own_vocabulary, store):
    learn_conditions([("Hypertension, Pulmonary", ["Pulmonary Arterial Hypertension"])], store)
    concept = own_vocabulary.normalise("pulmonary hypertension")
    assert (concept.id, concept.name) == (
        "condition:pulmonary-hypertension", "pulmonary hypertension")
    assert own_vocabulary.normalise("pulmonary arterial hypertension") == concept


PUBMED_WITH_MESH = b"""<?xml version="1.0"?>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID Version="1">901</PMID>
<Article><ArticleTitle>Betahistine in vertigo.</ArticleTitle><Abstract><AbstractText>Betahistine
reduced vertigo attacks in adults with Meniere disease over six months.</AbstractText></Abstract>
</Article>
<MeshHeadingList>
<MeshHeading><DescriptorName UI="D008575">Meniere Disease</DescriptorName>
<QualifierName UI="Q000188">drug therapy</QualifierName></MeshHeading>
<MeshHeading><DescriptorName UI="D001604">Betahistine</DescriptorName>
<QualifierName UI="Q000627">therapeutic use</QualifierName></MeshHeading>
<MeshHeading><DescriptorName UI="D004432">Ear, Inner</DescriptorName>
<QualifierName UI="Q000503">physiopathology</QualifierName></MeshHeading>
<MeshHeading><DescriptorName UI="D007802">Laos</DescriptorName>
<QualifierName UI="Q000453">epidemiology</QualifierName></MeshHeading>
<MeshHeading><DescriptorName UI="D006801">Humans</DescriptorName></MeshHeading>
</MeshHeadingList></MedlineCitation></PubmedArticle></PubmedArticleSet>"""


def test_ingest_teaches_the_vocabulary_conditions_named_by_the_records(own_vocabulary, shared_data,
                                                                     tmp_path):
    """MedQuAD foci of the Disorders group and MeSH headings with a disease qualifier become
    condition names; drugs, organs and check tags do not."""
    from medcite.ingest.runner import ingest_paths
    from medcite.store import SQLiteStore

    pubmed = tmp_path / "pubmed.xml"
    pubmed.write_bytes(PUBMED_WITH_MESH)
    settings = Settings.load()
    store = SQLiteStore(settings.store_location)
    report = ingest_paths(store, [pubmed, shared_data / "medquad" / "xml_samples"], progress=False)
    assert "Meniere Disease" in report.condition_names
    assert not {"Betahistine", "Ear, Inner", "Laos", "Humans"} & report.condition_names.keys()
    assert "Abdominal aortic aneurysm" in report.condition_names  # GARD, Disorders group
    assert report.learn_conditions(store, settings) >= 10
    store.close()
    assert "condition names learned" in " ".join(report.summary_lines())

    for text in ("Meniere disease", "abdominal aortic aneurysm", "Aarskog syndrome"):
        mentions = own_vocabulary.recognise(f"What helps {text}?")
        assert [m.concept.kind for m in mentions] == ["condition"], (text, mentions)
    assert own_vocabulary.normalise("betahistine").kind == "drug"  # never taken over

"""A cited document deleted or replaced after approval (#12 item 3): real ingest of real files,
a question asked and approved through the app, then a newer revision of the cited label or a
PubMed DeleteCitation of the cited abstract; the article is flagged, re-verified against the
store and says so on its page and in its JSON instead of showing its verification passed."""

import gzip
import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

import medcite.cli.answer  # noqa: F401  (registers the commands)
from medcite.cli import cli
from medcite.ingest.prepare import write_documents
from medcite.ingest.runner import ingest_paths
from medcite.models import Deletion, ReviewStatus
from medcite.review import ReviewWorkflow, UserAccounts
from medcite.web.render import long_date
from tests.web.conftest import PASSWORD, sign_in

S = ReviewStatus
LIPITOR_SET_ID = "c6e131fe-e7df-4876-83f7-9156fc4e8228"
LIPITOR_KEY = f"spl:{LIPITOR_SET_ID}"
DOSE_QUESTION = "What is the maximum dose of atorvastatin?"
DOSAGE_RANGE = "The dosage range of LIPITOR is 10 to 80 mg once daily."
MIRTAZAPINE_PMID = "34092821"  # the only mirtazapine abstract of the 2021 update file
CYP_QUESTION = "Is CYP2D6 involved in the metabolism of mirtazapine?"


@pytest.fixture
def lipitor(shared_data: Path) -> Path:
    return shared_data / "dailymed_spl_samples" / "lipitor-orig.xml"


@pytest.fixture(scope="module")
def pubmed_update(demo_corpus) -> str:
    """The text of pubmed21n1298.xml.gz, the NLM 2021 update file of the demo corpus."""
    path = next(p for p in demo_corpus.research_files if p.name == "pubmed21n1298.xml.gz")
    return gzip.decompress(path.read_bytes()).decode("utf-8")


def _ingest(store, *paths):
    report = ingest_paths(store, list(paths), progress=False)
    assert not report.failed, (report.file_errors, report.record_errors)
    return report


def _ask_and_approve(client, articles, reviewer, question: str) -> dict:
    asked = client.post("/api/v1/ask", json={"question": question})
    assert asked.status_code == 200, asked.text
    article = asked.json()
    workflow = ReviewWorkflow(articles)
    workflow.move(article["id"], S.UNDER_REVIEW, reviewer, version=1)
    workflow.move(article["id"], S.APPROVED, reviewer, "checked against the sources", version=1)
    approved = client.get(f"/api/v1/articles/{article['id']}").json()
    assert approved["status"] == "approved" and approved["verification"]["passed"] is True
    assert approved["source_changes"] == []
    return approved


def _today() -> str:
    return long_date(datetime.now(UTC))


def _clinical(article: dict) -> int:
    statements = list(article["bottom_line"])
    for section in article["sections"]:
        for sub in section["subsections"]:
            statements.extend(sub["statements"])
    return len(statements)


def test_a_newer_label_revision_flags_and_reverifies_the_approved_article(
        client, store, articles, reviewer, lipitor, tmp_path, monkeypatch):
    _ingest(store, lipitor)
    approved = _ask_and_approve(client, articles, reviewer, DOSE_QUESTION)
    assert [r["document_key"] for r in approved["references"]] == [LIPITOR_KEY]
    quoting = [s for s in approved["bottom_line"] if s["quote"] == DOSAGE_RANGE]
    assert quoting, "the bottom line quotes the label's dosage range"

    # The label's next version (versionNumber 11 -> 12) changes the dosage range.
    original = lipitor.read_text(encoding="utf-8")
    assert original.count('<versionNumber value="11"/>') == 1 and DOSAGE_RANGE in original
    revised = tmp_path / "lipitor-v12.xml"
    revised.write_text(original.replace('<versionNumber value="11"/>', '<versionNumber value="12"/>')
                       .replace(DOSAGE_RANGE, "The dosage range of LIPITOR is 10 to 40 mg once daily."),
                       encoding="utf-8")
    report = _ingest(store, revised)
    assert (report.outcome.replaced, report.outcome.flagged) == (1, 1)
    assert len(report.reverified) == 1 and report.reverified[0][:2] == (approved["id"], 1)
    unsupported = report.reverified[0][2]
    assert unsupported >= len(quoting)
    assert any(line.startswith("articles flagged: 1 article version(s)") for line in
               report.summary_lines())

    body = client.get(f"/api/v1/articles/{approved['id']}").json()
    assert (body["status"], body["version"]) == ("approved", 1)  # still served, but flagged
    change = body["source_changes"]
    assert [(c["document_key"], c["change"], c["from_revision"], c["to_revision"])
            for c in change] == [(LIPITOR_KEY, "revised", 11, 12)]
    verification = body["verification"]
    assert verification["passed"] is False
    again = verification["reverification"]
    assert (again["checked"], again["no_longer_supported"]) == (_clinical(body), unsupported)
    assert any(f.startswith(f"quote not found in {LIPITOR_KEY}#") and DOSAGE_RANGE in f
               for f in again["failures"])

    page = client.get(f"/articles/{body['slug']}")
    assert page.status_code == 200
    title = body["references"][0]["title"].rstrip(". ")
    assert (f"A cited source changed on {_today()}: [1] {title} ({LIPITOR_KEY}), revision 11 "
            "→ 12.") in html.unescape(page.text)
    assert (f"Re-verified against the store on {_today()}: {unsupported} of "
            f"{_clinical(body)} statements no longer supported by their citations") in page.text
    assert 'class="notice source-changed" role="alert"' in page.text

    # The editors see it in the queue; medcite verify recomputes the same failures.
    sign_in(client)
    queue = client.get("/review").text
    assert re.search(r"A cited source changed <span class=\"count\">\(1\)</span>", queue)
    assert f'href="/articles/{body["slug"]}?version=1"' in queue
    monkeypatch.setenv("MEDCITE_STORE_URL", store.location)
    verified = CliRunner().invoke(cli, ["verify", approved["id"]])
    assert verified.exit_code == 1 and "hash chain intact" in verified.output
    assert f"{_clinical(body)} statements checked, {unsupported} failed" in verified.output

    # A correction answers again from the revised label; the flagged version stays served
    # until the correction is approved, which then carries no flag.
    UserAccounts(store).add_user("eddie", PASSWORD, "editor")
    corrected = client.post(f"/api/v1/articles/{approved['id']}/review", auth=("eddie", PASSWORD),
                            json={"to": "submitted", "version": 1,
                                  "comment": "the label's revision 12 changed the dosage range"})
    assert corrected.status_code == 200, corrected.text
    served = client.get(f"/api/v1/articles/{approved['id']}").json()
    assert (served["version"], served["correction_pending"]) == (1, 2)
    assert served["source_changes"] and served["verification"]["passed"] is False
    workflow = ReviewWorkflow(articles)
    workflow.move(approved["id"], S.UNDER_REVIEW, reviewer, version=2)
    workflow.move(approved["id"], S.APPROVED, reviewer, "matches revision 12", version=2)
    served = client.get(f"/api/v1/articles/{approved['id']}").json()
    assert (served["version"], served["source_changes"]) == (2, [])
    assert served["verification"]["passed"] is True
    assert DOSAGE_RANGE not in str(served["bottom_line"])
    assert "A cited source changed" not in client.get(f"/articles/{body['slug']}").text
    assert articles.audit()[1] == []

    # Ingesting the same revision again changes nothing and flags nothing.
    assert _ingest(store, revised).outcome.flagged == 0


def test_a_delete_citation_flags_the_article_citing_the_abstract(
        client, store, articles, reviewer, pubmed_update, tmp_path):
    # The real record, as an update file holding it alone.
    at = pubmed_update.index(f'<PMID Version="1">{MIRTAZAPINE_PMID}</PMID>')
    record = pubmed_update[pubmed_update.rindex("<PubmedArticle>", 0, at):
                           pubmed_update.index("</PubmedArticle>", at) + len("</PubmedArticle>")]
    head = pubmed_update[:pubmed_update.index("<PubmedArticleSet>") + len("<PubmedArticleSet>")]
    first = tmp_path / "pubmed-mirtazapine.xml"
    first.write_text(f"{head}\n{record}\n</PubmedArticleSet>\n", encoding="utf-8")
    _ingest(store, first)
    approved = _ask_and_approve(client, articles, reviewer, CYP_QUESTION)
    key = f"pmid:{MIRTAZAPINE_PMID}"
    citing = [r["number"] for r in approved["references"] if r["document_key"] == key]
    assert citing, "the answer cites the mirtazapine abstract"

    # The file's own DeleteCitation, with the cited PMID among the ones it deletes.
    deletion = re.search(r"<DeleteCitation>.*?</DeleteCitation>", pubmed_update, re.S).group(0)
    deletion = deletion.replace("</DeleteCitation>",
                                f'<PMID Version="1">{MIRTAZAPINE_PMID}</PMID>\n</DeleteCitation>')
    update = tmp_path / "pubmed-deletions.xml"
    update.write_text(f"{head}\n{deletion}\n</PubmedArticleSet>\n", encoding="utf-8")
    report = _ingest(store, update)
    assert (report.outcome.deleted, report.outcome.flagged) == (1, 1)

    body = client.get(f"/api/v1/articles/{approved['id']}").json()
    assert [(c["document_key"], c["change"]) for c in body["source_changes"]] == [
        (key, "withdrawn")]
    again = body["verification"]["reverification"]
    assert body["verification"]["passed"] is False
    cited = sum(1 for s in [*body["bottom_line"], *(st for sec in body["sections"]
                                                   for sub in sec["subsections"]
                                                   for st in sub["statements"])]
                if set(s["citations"]) & set(citing))
    assert cited >= 1 and again["no_longer_supported"] >= cited
    assert any(f.startswith(f"{key} is not stored") for f in again["failures"])

    page = html.unescape(client.get(f"/articles/{body['slug']}").text)
    title = body["references"][citing[0] - 1]["title"].rstrip(". ")
    assert f"A cited source was withdrawn on {_today()}: [{citing[0]}] {title} ({key})." in page
    assert (f"Re-verified against the store on {_today()}: {again['no_longer_supported']} of "
            f"{again['checked']} statements no longer supported") in page
    # Asked again, the flagged approved article is what is served, and it says so.
    asked = client.post("/api/v1/ask", json={"question": CYP_QUESTION}).json()
    assert asked["id"] == approved["id"] and asked["source_changes"]
    assert asked["verification"]["passed"] is False


def test_a_flag_left_unverified_is_reverified_when_the_article_is_read(
        client, store, articles, reviewer, lipitor):
    _ingest(store, lipitor)
    approved = _ask_and_approve(client, articles, reviewer, DOSE_QUESTION)
    # A deletion written by a process that stopped before re-verifying.
    assert write_documents(store, [Deletion(key=LIPITOR_KEY)]).flagged == 1
    pending = articles.get(approved["id"])
    assert pending.source_changes and pending.verification.reverification is None
    assert pending.verification.passed is False
    page = client.get(f"/articles/{approved['slug']}").text
    assert f"A cited source was withdrawn on {_today()}" in page
    checked = articles.get(approved["id"]).verification.reverification
    assert checked is not None and checked.no_longer_supported == checked.checked > 0
    assert (f"{checked.checked} of {checked.checked} statements no longer supported"
            in page)

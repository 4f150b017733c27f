"""Fixtures for the connector tests: real records served from 127.0.0.1.

PubMed articles are the first records of the demo corpus's NLM file (pubmed21n1298.xml.gz),
DailyMed labels the SPL files of ``../shared/data/dailymed_spl_samples``.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import medcite.cli.connectors  # noqa: F401  (registers the commands on the group)
from medcite.cli import cli

from .sources import Article, Label, SourceServer

_ARTICLE = re.compile(rb"<PubmedArticle>.*?</PubmedArticle>", re.S)
SERVED_ARTICLES = 1500


@pytest.fixture(scope="session")
def demo_articles(demo_corpus) -> list[Article]:
    path = next(p for p in demo_corpus.research_files if p.name == "pubmed21n1298.xml.gz")
    with gzip.open(path, "rb") as fh:
        head = fh.read(24 << 20)
    records = _ARTICLE.findall(head)[:SERVED_ARTICLES]
    assert len(records) == SERVED_ARTICLES
    return [Article.parse(xml) for xml in records]


@pytest.fixture(scope="session")
def spl_labels(shared_data: Path) -> dict[str, Label]:
    from lxml import etree

    labels = {}
    for path in sorted((shared_data / "dailymed_spl_samples").glob("*.xml")):
        root = etree.parse(str(path)).getroot()
        ns = {"v": "urn:hl7-org:v3"}
        setid = root.find("v:setId", ns).get("root").lower()
        title = " ".join("".join(root.find("v:title", ns).itertext()).split()) \
            if root.find("v:title", ns) is not None else path.stem
        labels[setid] = Label(setid, f"{path.stem}: {title}", path.read_bytes())
    return labels


@pytest.fixture
def sources(home: Path, tmp_path: Path, demo_articles, spl_labels,
            monkeypatch: pytest.MonkeyPatch):
    """The stand-in server, with every connector setting pointed at it."""
    served = tmp_path / "served"
    (served / "baseline").mkdir(parents=True)
    (served / "updatefiles").mkdir()
    server = SourceServer(demo_articles, dict(spl_labels), served).start()
    monkeypatch.setenv("MEDCITE_EUTILS_URL", server.url + "/entrez/eutils")
    monkeypatch.setenv("MEDCITE_PUBMED_FILES_URL", server.url + "/pubmed")
    monkeypatch.setenv("MEDCITE_DAILYMED_URL", server.url + "/dailymed")
    monkeypatch.setenv("MEDCITE_NCBI_EMAIL", "tests@example.org")
    for name in ("MEDCITE_NCBI_API_KEY", "MEDCITE_CONNECTOR_TIMEOUT", "MEDCITE_CONNECTOR_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    yield server
    server.stop()


def medcite(*args: str) -> Result:
    """Run a medcite command in this process, as the console script would."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)

"""Real PubMed records laid out as a run of update files, for distributed-ingest tests and the
scale benchmark.

``split_pubmed`` cuts an NLM file (the demo's pubmed21n1298, 20,788 records) into ``parts``
files of consecutive records. With ``updates`` the later files also do what NLM update files
do to earlier ones: the last file carries a corrected copy of a record first seen in file 1
(same PMID and version, one sentence added to its abstract) and a DeleteCitation for another
record of file 1, so only an ingest that applies files in order ends with the correction and
without the deleted record.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from lxml import etree

CORRECTION = " This abstract was corrected in a later update file."


def split_pubmed(source: Path, folder: Path, parts: int, *, limit: int | None = None,
                 updates: bool = False) -> tuple[list[Path], dict[str, str]]:
    """The files written (in the order to ingest them) and, with ``updates``,
    {"corrected": pmid, "deleted": pmid}."""
    records: list[bytes] = []
    with gzip.open(source, "rb") as fh:
        for _, el in etree.iterparse(fh, tag="PubmedArticle"):
            records.append(etree.tostring(el))
            el.clear()
            if limit and len(records) >= limit:
                break
    size = -(-len(records) // parts)
    chunks = [records[i : i + size] for i in range(0, len(records), size)]
    changed: dict[str, str] = {}
    if updates:
        first = [etree.fromstring(r) for r in chunks[0][:2]]
        corrected, deleted = first[0], first[1]
        text = corrected.find(".//Abstract/AbstractText")
        text.text = (text.text or "") + CORRECTION
        chunks[-1].append(etree.tostring(corrected))
        pmid_of = {"corrected": corrected, "deleted": deleted}
        changed = {name: el.findtext("MedlineCitation/PMID") for name, el in pmid_of.items()}
        chunks[-1].append(b'<DeleteCitation><PMID Version="1">' + changed["deleted"].encode()
                          + b"</PMID></DeleteCitation>")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, chunk in enumerate(chunks, 1):
        path = folder / f"pubmed-part{n:03d}.xml.gz"
        with gzip.open(path, "wb") as out:
            out.write(b'<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n')
            for record in chunk:
                out.write(record + b"\n")
            out.write(b"</PubmedArticleSet>\n")
        paths.append(path)
    return paths, changed

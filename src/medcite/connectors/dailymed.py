"""DailyMed drug labels (SPL) through its web services, version 2.

``/services/v2/spls.json?drug_name=...`` lists the labels of a drug (set id, title, version),
page by page; ``/services/v2/spls/{setid}.xml`` is one label's current SPL document, which the
normal SPL ingestor reads. Each label is checked before it is kept (an HL7 v3 ``document``
with the set id asked for, well-formed, no entity declarations), and the labels of one run are
put in place only when all of them arrived.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from tqdm import tqdm

from medcite.connectors.http import HttpClient, base_url
from medcite.errors import ConnectorError, InputError, NotFoundError
from medcite.ingest._common import xml_parser
from medcite.ingest.spl import NS, SplIngestor
from medcite.settings import Settings

_SET_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PAGE = 100  # the most the service returns a page
# DailyMed publishes no request limit; this keeps a drug's labels from arriving as a burst.
_RATE = 4.0


@dataclass(frozen=True)
class LabelSummary:
    """One row of a DailyMed label listing."""

    setid: str
    title: str
    version: str = ""
    published: str = ""


def checked_set_id(text: str) -> str:
    """A DailyMed set id (a UUID); anything else is refused before it reaches a URL or a path."""
    value = text.strip()
    if not _SET_ID.match(value):
        raise InputError(f"{text!r} is not a DailyMed set id (a UUID such as "
                         "608d4f0d-b19f-46d3-749a-7159aa5f933d)")
    return value.lower()


class DailyMed:
    def __init__(self, settings: Settings) -> None:
        self.client = HttpClient("DailyMed", rate=_RATE, timeout=settings.connector_timeout,
                                 retries=settings.connector_retries)
        self.base = base_url(settings.dailymed_url, "MEDCITE_DAILYMED_URL") + "/services/v2"

    def labels_of(self, drug: str, *, limit: int) -> list[LabelSummary]:
        """The labels DailyMed lists for a drug name, at most ``limit``."""
        if not drug.strip():
            raise InputError("the drug name is empty")
        found: list[LabelSummary] = []
        page = 1
        while len(found) < limit:
            body = self.client.get(f"{self.base}/spls.json",
                                   {"drug_name": drug.strip(), "page": page,
                                    "pagesize": _PAGE}).body
            try:
                data = json.loads(body)
                rows, meta = data["data"], data.get("metadata") or {}
                found.extend(LabelSummary(checked_set_id(str(row["setid"])), str(row.get("title", "")),
                                          str(row.get("spl_version", "")),
                                          str(row.get("published_date", "")))
                             for row in rows)
                pages = int(meta.get("total_pages") or page)
            except (ValueError, KeyError, TypeError, InputError) as exc:
                raise ConnectorError(f"DailyMed's label list for {drug!r} is not what its "
                                     f"web service sends ({exc!r})") from None
            if not rows or page >= pages:
                break
            page += 1
        return found[:limit]

    def label(self, setid: str) -> bytes:
        """One label's SPL XML, checked to be that label."""
        setid = checked_set_id(setid)
        try:
            body = self.client.get(f"{self.base}/spls/{setid}.xml").body
        except ConnectorError as exc:
            if exc.status == 404:
                raise NotFoundError(f"DailyMed has no label with set id {setid}") from exc
            raise
        return checked_label(body, setid)


def checked_label(body: bytes, setid: str) -> bytes:
    head = body[:8192]
    if b"<!ENTITY" in head:
        raise ConnectorError(f"DailyMed label {setid}: the XML declares entities; refused")
    if not SplIngestor().sniff(head):
        raise ConnectorError(f"DailyMed answered something other than an SPL label for {setid}: "
                             f"{' '.join(head[:120].decode('utf-8', 'replace').split())!r}")
    try:
        root = etree.fromstring(body, xml_parser())
    except etree.XMLSyntaxError as exc:
        raise ConnectorError(f"DailyMed label {setid}: malformed XML ({exc})") from None
    found = root.find(f"{{{NS}}}setId")
    actual = (found.get("root") or "").lower() if found is not None else ""
    if actual != setid:
        raise ConnectorError(f"DailyMed answered the label {actual or 'without a set id'} "
                             f"when asked for {setid}")
    return body


def fetch_labels(settings: Settings, setids: list[str], *, progress: bool = True,
                 dailymed: DailyMed | None = None) -> list[Path]:
    """Download labels into ``<home>/connectors/dailymed/<setid>.xml``; all or none are kept."""
    wanted = list(dict.fromkeys(checked_set_id(s) for s in setids))
    folder = settings.home_path / "connectors" / "dailymed"
    folder.mkdir(parents=True, exist_ok=True)
    dailymed = dailymed or DailyMed(settings)
    parts: list[tuple[Path, Path]] = []
    try:
        for setid in tqdm(wanted, desc="dailymed labels", unit=" labels",
                          disable=not progress, dynamic_ncols=True):
            # A name of its own, so that two answers fetching the same label at once (live
            # search in the web app) never write into one file.
            part = folder / f"{setid}.xml.{uuid.uuid4().hex[:12]}.part"
            part.write_bytes(dailymed.label(setid))
            parts.append((part, folder / f"{setid}.xml"))
    except BaseException:
        for part, _ in parts:
            part.unlink(missing_ok=True)
        raise
    for part, final in parts:
        part.replace(final)
    return [final for _, final in parts]

"""DailyMed Structured Product Labeling (SPL): HL7 v3 XML drug labels.

One label, one ``Document`` keyed by its set id (stable across versions; ``versionNumber`` is
the revision, so a newer label replaces an older one). Every coded section and subsection
becomes a ``Section`` labelled "Parent > Child" with its LOINC code. An unclassified subsection
(42229-5) takes the code of the nearest classified section above it, so "7.3 Cyclosporine"
under DRUG INTERACTIONS is still a 34073-7 section. Highlights excerpts, images and the
product-data section are left out; package-label and unclassified sections without text are
skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from medcite.ingest._common import BlockText, collapse, parse_xml_tree, xml_root, year_in
from medcite.ingest.base import ParsedRecord
from medcite.models import Document, RecordError, Section, SourceType

NS = "urn:hl7-org:v3"
_N = {"v": NS}
UNCLASSIFIED = "42229-5"
# Package labels and product/indexing data: a title alone there is not label content.
_NOT_CONTENT = frozenset({"51945-4", "48780-1", "48779-3"})

# LOINC section codes used by SPL, after openFDA's table (openfda/spl/data/sections.csv).
LOINC_SECTIONS: dict[str, str] = {
    "34066-1": "Boxed Warning", "34067-9": "Indications and Usage",
    "34068-7": "Dosage and Administration", "43678-2": "Dosage Forms and Strengths",
    "34070-3": "Contraindications", "43685-7": "Warnings and Precautions",
    "34071-1": "Warnings", "42232-9": "Precautions", "34072-9": "General Precautions",
    "34073-7": "Drug Interactions", "34074-5": "Drug and/or Laboratory Test Interactions",
    "34084-4": "Adverse Reactions", "43684-0": "Use in Specific Populations",
    "42228-7": "Pregnancy", "34077-8": "Teratogenic Effects", "34078-6": "Nonteratogenic Effects",
    "34079-4": "Labor and Delivery", "34080-2": "Nursing Mothers", "34081-0": "Pediatric Use",
    "34082-8": "Geriatric Use", "42227-9": "Drug Abuse and Dependence",
    "34085-1": "Controlled Substance", "34086-9": "Abuse", "34087-7": "Dependence",
    "34088-5": "Overdosage", "34089-3": "Description", "34090-1": "Clinical Pharmacology",
    "43679-0": "Mechanism of Action", "43681-6": "Pharmacodynamics",
    "43682-4": "Pharmacokinetics", "66106-6": "Pharmacogenomics", "49489-8": "Microbiology",
    "43680-8": "Nonclinical Toxicology",
    "34083-6": "Carcinogenesis, Mutagenesis, Impairment of Fertility",
    "34091-9": "Animal Pharmacology and/or Toxicology", "34092-7": "Clinical Studies",
    "34093-5": "References", "34069-5": "How Supplied", "44425-7": "Storage and Handling",
    "34076-0": "Information for Patients", "34075-2": "Laboratory Tests",
    "43683-2": "Recent Major Changes", "42231-1": "Medication Guide",
    "42230-3": "Patient Package Insert", "68498-5": "Patient Medication Information",
    "59845-8": "Instructions for Use", "51727-6": "Inactive Ingredients",
    "55106-9": "Active Ingredient", "55105-1": "Purpose", "50570-1": "Do Not Use",
    "50569-3": "Ask Doctor", "50568-5": "Ask Doctor or Pharmacist", "50567-7": "When Using",
    "50566-9": "Stop Use", "50565-1": "Keep Out of Reach of Children",
    "53414-9": "Pregnancy or Breast Feeding", "53413-1": "Questions",
    "51945-4": "Package Label: Principal Display Panel", "42229-5": "SPL Unclassified",
    "48780-1": "SPL Product Data Elements", "48779-3": "SPL Indexing Data Elements",
    "60561-8": "Other Safety Information", "50742-6": "Environmental Warning",
    "50743-4": "Food Safety Warning", "53412-3": "Residue Warning",
    "50741-8": "Safe Handling Warning", "54433-8": "User Safety Warnings",
    "50744-2": "Information for Owners/Caregivers", "50745-9": "Veterinary Indications",
    "50740-0": "Guaranteed Analysis of Feed", "69719-3": "Health Claim",
    "69718-5": "Statement of Identity", "71744-7": "Health Care Provider Letter",
    "60684-8": "Cellular Therapy", "60563-4": "Summary of Safety and Effectiveness",
    "60560-0": "Intended Use of the Device", "60559-2": "Components",
    "60555-0": "Accessories", "69760-7": "Compatible Accessories", "69761-5": "Alarms",
    "60556-8": "Assembly or Installation Instructions", "60557-6": "Calibration Instructions",
    "60558-4": "Cleaning, Disinfecting, and Sterilization Instructions",
    "69758-1": "Diagram of Device", "69763-1": "Disposal and Waste Handling",
    "69759-9": "Risks", "69762-3": "Troubleshooting",
    "60562-6": "Route, Method and Frequency of Administration",
}

_BLOCK = BlockText(
    blocks=frozenset({"paragraph", "list", "table", "caption", "footnote", "title"}),
    items=frozenset({"item"}), rows=frozenset({"tr"}), cells=frozenset({"td", "th"}),
    breaks=frozenset({"br"}),
    skip=frozenset({"renderMultiMedia", "footnoteRef", "col", "colgroup"}),
)
_NUMBER = re.compile(r"^\d+(?:\.\d+)*\s+")
_BOILERPLATE = re.compile(r"^(These highlights do not include|Initial U\.?S\.? Approval)", re.I)
_GENERIC_TITLE = re.compile(r"^(drug facts|label|labeling|package insert|spl)?$", re.I)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


class SplIngestor:
    name = "spl"

    def sniff(self, head: bytes) -> bool:
        root = xml_root(head)
        return root is not None and root[0] == "document" and NS in root[1]

    def parse(self, path: Path) -> Iterator[ParsedRecord]:
        path = Path(path)
        root = parse_xml_tree(path).getroot()
        if root.tag != _q("document"):
            yield RecordError(path=str(path), record_id=None,
                              message="root element is not an HL7 v3 <document>")
            return
        set_id_el = root.find("v:setId", _N)
        set_id = set_id_el.get("root") if set_id_el is not None else None
        if not set_id:
            yield RecordError(path=str(path), record_id=None,
                              message="the label has no setId, so it has no stable identity")
            return
        try:
            yield _label(root, set_id.strip())
        except (ValueError, TypeError, AttributeError) as exc:
            yield RecordError(path=str(path), record_id=f"spl:{set_id.strip()}",
                              message=f"the label could not be parsed: {exc}")


def _label(root: etree._Element, set_id: str) -> Document:
    version_el = root.find("v:versionNumber", _N)
    version = (version_el.get("value") or "").strip() if version_el is not None else ""
    effective = root.find("v:effectiveTime", _N)
    products = _products(root)
    keywords: list[str] = []
    for name in (n for product, generic, _ in products for n in (product, generic) if n):
        if name.lower() not in {k.lower() for k in keywords}:  # "Lipitor" == "LIPITOR"
            keywords.append(name)
    organisation = collapse(root.findtext(
        "v:author/v:assignedEntity/v:representedOrganization/v:name", namespaces=_N))
    sections: list[Section] = []
    body = root.find("v:component/v:structuredBody", _N)
    if body is not None:
        for sec in body.iterfind("v:component/v:section", _N):
            _flatten(sec, [], None, sections)
    return Document(
        key=f"spl:{set_id}",
        source_type=SourceType.DRUG_LABEL,
        # OTC labels are often titled just "Drug Facts": the product line says more.
        title=_title(root.find("v:title", _N)) or _product_title(products) or "Drug label",
        sections=sections,
        source=organisation or "DailyMed",
        year=year_in((effective.get("value") or "")[:4]) if effective is not None else None,
        spl_set_id=set_id,
        spl_version=version or None,
        url=f"https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={set_id}",
        keywords=keywords,
        revision=int(version) if version.isdigit() else 1,
        title_only=not sections,
    )


def _title(title_el: etree._Element | None) -> str:
    """The label title without the PLR boilerplate around the product line."""
    if title_el is None:
        return ""
    lines = [line for _, line in BlockText(blocks=frozenset(), breaks=frozenset({"br"}))
             .tokens(title_el)]
    kept = [line for line in lines if not _BOILERPLATE.match(line)]
    title = collapse(" ".join(kept or lines))
    return "" if _GENERIC_TITLE.match(title) else title


def _products(root: etree._Element) -> list[tuple[str, str, str]]:
    """(name, generic name, dosage form) of each manufactured product."""
    found: list[tuple[str, str, str]] = []
    for tag in ("manufacturedProduct", "manufacturedMedicine"):
        for product in root.iter(_q(tag)):
            name_el = product.find("v:name", _N)
            if name_el is None:
                continue
            name = collapse(" ".join(name_el.itertext()))  # "TRIAMINIC<suffix>Childrens ..."
            generic = collapse(product.findtext("v:asEntityWithGeneric/v:genericMedicine/v:name",
                                                namespaces=_N))
            form_el = product.find("v:formCode", _N)
            form = (form_el.get("displayName") or "").lower() if form_el is not None else ""
            if name or generic:
                found.append((name, generic, form))
    return list(dict.fromkeys(found))


def _product_title(products: list[tuple[str, str, str]]) -> str:
    parts = [" ".join(p for p in (name or generic, form) if p)
             for name, generic, form in products]
    return ", ".join(dict.fromkeys(p for p in parts if p))


def _flatten(sec: etree._Element, path: list[str], inherited: str | None,
             out: list[Section]) -> None:
    code_el = sec.find("v:code", _N)
    own_code = (code_el.get("code") or "").strip() or None if code_el is not None else None
    code = inherited if own_code in (None, UNCLASSIFIED) and inherited else own_code
    title_el = sec.find("v:title", _N)
    title = _BLOCK.inline(title_el) if title_el is not None else ""
    name = title or (LOINC_SECTIONS.get(own_code or "", "") if own_code != UNCLASSIFIED else "")
    label_path = [*path, name] if name else path
    label = " > ".join(label_path) or LOINC_SECTIONS.get(code or "", "")

    text_el = sec.find("v:text", _N)
    text = _BLOCK.text(text_el) if text_el is not None else ""
    children = sec.findall("v:component/v:section", _N)
    start = len(out)
    if text:
        out.append(Section(label=label, text=text, code=code))
    for child in children:
        _flatten(child, label_path, code, out)
    # A titled leaf without text (e.g. "4.1 Active liver disease, which may include ...") is
    # itself the content; a short one ("Oral Administration") is an orphan heading.
    if len(out) == start and title and not children and own_code not in _NOT_CONTENT:
        content = _NUMBER.sub("", title)
        if len(content.split()) >= 4 and path:
            out.append(Section(label=" > ".join(path), text=content, code=code))

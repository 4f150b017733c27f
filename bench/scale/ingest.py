"""Ingest throughput: one process against Dask with 1 and 2 local workers, in the same run.

Run: .venv/bin/python bench/scale/ingest.py [--parts 8] [--store sqlite|postgresql] [--repeat 1]

Input: the demo corpus's NLM update file pubmed21n1298 (20,788 real records), cut into --parts
files of consecutive records (tests/ingest/pubmed_files.py), so that files can be prepared in
parallel. Each mode ingests all of them into a new, empty store (a SQLite file, or a new
database on an embedded PostgreSQL server with --store postgresql), without embedding:
  one process: ``medcite ingest`` as it runs by default (a file over 2 MiB, as these parts
               are, is parsed and prepared in a second process while the first writes);
  Dask N:      ``medcite ingest --workers N``: files parsed and prepared on N worker processes,
               written by the client in plan order.
Every mode must end with the same documents and passages (checked). The figure is documents
per second over the whole command's work, cluster start-up included (also timed alone: a
LocalCluster started and closed with nothing to do).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import demo_cache, machine  # noqa: E402
from medcite.ingest.demo import fetch_demo_corpus  # noqa: E402
from medcite.ingest.cluster import ClusterSpec, DaskCluster  # noqa: E402
from medcite.ingest.distributed import ingest_on_cluster  # noqa: E402
from medcite.ingest.runner import ingest_paths  # noqa: E402
from medcite.store import open_store  # noqa: E402
from tests.ingest.pubmed_files import split_pubmed  # noqa: E402


class Stores:
    """New empty stores of one kind, one per measurement."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind, self.folder, self.n, self.server = kind, folder, 0, None
        if kind == "postgresql":
            from medcite.store.postgres import server

            self._server = server
            self.server = server.start(folder / "postgres", stop_at_exit=True)

    def new(self):
        self.n += 1
        if self.kind == "sqlite":
            return open_store(f"sqlite:///{self.folder / f'ingest-{self.n}.sqlite'}")
        return open_store(self._server.create_database(self.server, f"bench_ingest_{self.n}"))

    def close(self) -> None:
        if self.server is not None:
            self._server.stop(self.folder / "postgres")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=8)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each mode (best kept)")
    args = parser.parse_args()
    corpus = fetch_demo_corpus(demo_cache())
    source = next(p for p in corpus.research_files if p.name == "pubmed21n1298.xml.gz")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths, _ = split_pubmed(source, folder / "parts", args.parts)
        stores = Stores(args.store, folder)
        modes = {
            "one process (baseline)": lambda store: ingest_paths(store, paths, progress=False),
            "Dask, 1 worker": lambda store: ingest_on_cluster(store, paths, ClusterSpec(workers=1),
                                                              progress=False),
            "Dask, 2 workers": lambda store: ingest_on_cluster(store, paths, ClusterSpec(workers=2),
                                                               progress=False),
        }
        results: dict[str, tuple[float, int, int]] = {}
        try:
            for round_ in range(args.repeat):
                # The order rotates between rounds, so no mode always finds the caches warm.
                names = list(modes)
                for name in names[round_ % 3:] + names[:round_ % 3]:
                    store = stores.new()
                    try:
                        started = time.perf_counter()
                        report = modes[name](store)
                        seconds = time.perf_counter() - started
                        stats = store.stats()
                    finally:
                        store.close()
                    assert not report.failed, report.file_errors
                    best = results.get(name)
                    if best is None or seconds < best[0]:
                        results[name] = (seconds, stats.documents, stats.passages)
                    print(f"  {name}: {seconds:.1f} s", file=sys.stderr)
        finally:
            stores.close()
    startup = {}
    for workers in (1, 2):
        started = time.perf_counter()
        DaskCluster(ClusterSpec(workers=workers)).close()
        startup[workers] = time.perf_counter() - started
    counts = {(docs, passages) for _, docs, passages in results.values()}
    assert len(counts) == 1, f"the modes built different stores: {results}"
    docs, passages = counts.pop()
    print(f"machine: {machine()}")
    print(f"input: pubmed21n1298 (demo corpus) cut into {args.parts} files; store: {args.store}; "
          f"{docs:,} documents, {passages:,} passages in every mode; best of {args.repeat}\n")
    print("| mode | seconds | documents/s | vs one process |")
    print("|---|---|---|---|")
    base = results["one process (baseline)"][0]
    for name, (seconds, *_ ) in results.items():
        print(f"| {name} | {seconds:.1f} | {docs / seconds:,.0f} | {base / seconds:.2f}x |")
    print(f"\nLocalCluster start and close alone: {startup[1]:.1f} s (1 worker), "
          f"{startup[2]:.1f} s (2 workers)")


if __name__ == "__main__":
    main()

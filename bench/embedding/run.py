"""Embedding benchmark: ONNX Runtime vs NumPy vs CPU torch 2.13.0 for all-MiniLM-L6-v2.

    .venv/bin/python bench/embedding/run.py [--n 2000] [--torch-python /tmp/torchvenv/bin/python]

Embeds N real sentences from the PubMed sample in shared data with each backend, each in a fresh
process (so load time and memory are the backend's own), and prints a markdown table:
sentences/s, single-query latency (p50/p95), load time, RSS, and the deviation from torch.
The torch column needs an interpreter with torch==2.13.0 (CPU build) and transformers; it is
used when /tmp/torchvenv exists or --torch-python is given.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_DATA = Path("/work/shared/data/pubmed_medline_sample/pubmed21n1298_abstracts.jsonl")
DEFAULT_TORCH = Path("/tmp/torchvenv/bin/python")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")


def load_sentences(path: Path, n: int) -> list[str]:
    """The first n sentences (20+ characters) of the abstracts, in file order."""
    out: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            abstract = json.loads(line).get("abstract") or ""
            out.extend(s.strip() for s in _SENTENCE_END.split(abstract) if len(s.strip()) >= 20)
            if len(out) >= n:
                return out[:n]
    return out


def run_worker(python: str, backend: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run([python, str(HERE / "worker.py"), backend, *args], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="sentences to embed")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--torch-python", help="interpreter with torch==2.13.0 + transformers")
    ap.add_argument("--backends", default="onnx,numpy,torch")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--latency-runs", type=int, default=50)
    args = ap.parse_args()

    if not args.data.is_file():
        print(f"SKIP: benchmark data not found at {args.data} (shared data absent); "
              "pass --data PATH to a PubMed abstracts .jsonl file")
        return 0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    torch_python = args.torch_python or (str(DEFAULT_TORCH) if DEFAULT_TORCH.exists() else None)
    if "torch" in backends and torch_python is None:
        print(f"note: torch column skipped ({DEFAULT_TORCH} absent and no --torch-python given)")
        backends.remove("torch")

    sentences = load_sentences(args.data, args.n)
    with tempfile.TemporaryDirectory(prefix="medcite-bench-") as tmp:
        tmpdir = Path(tmp)
        sentences_file = tmpdir / "sentences.json"
        sentences_file.write_text(json.dumps(sentences))
        # A fresh MEDCITE_HOME, so the ONNX graph is built here and its build time is measured.
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "MEDCITE_HOME": str(tmpdir / "home"), "MEDCITE_CACHE": "",
               # --threads for the BLAS libraries too (NumPy's OpenBLAS, torch's MKL/OpenMP).
               "OPENBLAS_NUM_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads),
               "MKL_NUM_THREADS": str(args.threads),
               "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        common = ["--sentences", str(sentences_file), "--batch-size", str(args.batch_size),
                  "--threads", str(args.threads), "--latency-runs", str(args.latency_runs)]
        load_before = os.getloadavg()
        results: dict[str, dict[str, Any]] = {}
        build_s = None
        for backend in backends:
            python = torch_python if backend == "torch" else sys.executable
            extra = ["--out", str(tmpdir / f"{backend}.npy")]
            if backend == "torch":
                from medcite.retrieval.embedding import model_dir

                extra += ["--model-dir", str(model_dir())]
            if backend == "onnx":
                build_s = run_worker(sys.executable, "build-onnx", common, env)["build_s"]
            print(f"running {backend} on {len(sentences)} sentences ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            results[backend] = run_worker(python, backend, common + extra, env)  # type: ignore[arg-type]
            print(f"  done in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        load_after = os.getloadavg()
        embeddings = {b: np.load(tmpdir / f"{b}.npy") for b in results}

    ref_name = "torch" if "torch" in embeddings else None
    tokens_note = f"{len(sentences)} PubMed sentences (mean {np.mean([len(s) for s in sentences]):.0f} chars)"
    print(f"\n## all-MiniLM-L6-v2 embedding benchmark — {tokens_note}\n")
    print(f"CPU threads: {args.threads} of {os.cpu_count()}; batch size {args.batch_size}; "
          f"load average before/after: {load_before[0]:.1f}/{load_after[0]:.1f}\n")
    print("| backend | version | sentences/s | CPU ms/sentence | query p50 ms | query p95 ms | import s | load s "
          "| RSS MiB (peak) | min cos vs torch | max abs diff vs torch |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        if ref_name and name != ref_name:
            cos = (embeddings[name] * embeddings[ref_name]).sum(1)
            dev = f"{cos.min():.7f} | {np.abs(embeddings[name] - embeddings[ref_name]).max():.1e}"
        else:
            dev = "ref | ref" if ref_name else "n/a | n/a"
        print(f"| {name} | {r['version']} | {r['sentences_per_s']:.1f} | {r['cpu_ms_per_sentence']:.1f} "
              f"| {r['latency_p50_ms']:.1f} "
              f"| {r['latency_p95_ms']:.1f} | {r['import_s']:.2f} | {r['load_s']:.2f} "
              f"| {r['rss_mib']:.0f} ({r['peak_rss_mib']:.0f}) | {dev} |")
    if build_s is not None:
        print(f"\nONNX graph build (once, then cached under <home>/cache/models): {build_s:.2f} s")
    if "onnx" in embeddings and "numpy" in embeddings:
        cos = (embeddings["onnx"] * embeddings["numpy"]).sum(1)
        print(f"ONNX vs NumPy: min cos {cos.min():.7f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

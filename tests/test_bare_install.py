"""``pip install medcite`` with no extras runs the default path, and an absent extra says which
one to install (#12 item 15).

A fresh virtual environment gets medcite from a copy of this checkout (``pip install .``, not
editable, so nothing is imported from the source tree), offline: only the wheels that
``scripts/wheelhouse`` collected are available to pip. Then the commands the README's default
path uses run against a store built from a real MedQuAD file: --help, ingest, search, ask in
every format, a reviewer account and a review move, and ``medcite serve``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = ROOT / ".medcite-home" / "wheelhouse"
QUESTION = "What are the symptoms of anemia?"
# What only the extras bring; none of it may be importable in the bare environment.
EXTRA_MODULES = ("httpx", "tokenizers", "safetensors", "onnxruntime", "onnx", "httptools",
                 "uvloop", "playwright", "pytest", "mcp", "fhir")

pytestmark = pytest.mark.slow


@dataclass
class Bare:
    bin: Path
    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / args[0]), *args[1:]], cwd=self.cwd,
                              env={**self.env, **(env or {})}, input=input, text=True,
                              capture_output=True, timeout=timeout)

    def ok(self, *args: str, **kwargs) -> str:
        done = self.run(*args, **kwargs)
        assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}"
        return done.stdout


def _missing_wheelhouse(message: str) -> None:
    if os.environ.get("MEDCITE_REQUIRE_ALL") == "1":
        pytest.fail(message + "; MEDCITE_REQUIRE_ALL=1 makes this a failure", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Bare:
    if not any(WHEELHOUSE.glob("*.whl")):
        _missing_wheelhouse(f"no wheels in {WHEELHOUSE}: run scripts/wheelhouse (needs the "
                            "package registry once)")
    root = tmp_path_factory.mktemp("bare")
    # A copy, so the build writes nothing into the checkout others work in.
    source = root / "medcite-src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # No pip configuration, no user site: the wheelhouse is all pip and Python can see.
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.defpath}", "HOME": str(root),
           "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", "PIP_CONFIG_FILE": os.devnull,
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "MEDCITE_HOME": str(root / "home")}
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index",
           "--find-links", str(WHEELHOUSE)]
    for step in (["setuptools>=77", "wheel"], ["--no-build-isolation", str(source)]):
        done = subprocess.run([*pip, *step], env=env, cwd=root, text=True, capture_output=True,
                              timeout=600)
        assert done.returncode == 0, (
            f"pip install {' '.join(step)} failed (if a dependency changed, rerun "
            f"scripts/wheelhouse):\n{done.stdout}\n{done.stderr}")
    installed = Bare(venv / "bin", env, root)
    installed.ok("medcite", "ingest", "--quiet",
                 str(shared_data / "medquad" / "xml_samples" / "8_NHLBI_QA_XML__0000002.xml"))
    return installed


def test_the_environment_has_no_extras_and_medcite_comes_from_it(bare: Bare):
    probe = ("import importlib.util, json, medcite; print(json.dumps([medcite.__file__, "
             f"[m for m in {EXTRA_MODULES!r} if importlib.util.find_spec(m)]]))")
    location, extras = json.loads(bare.ok("python", "-c", probe))
    assert Path(location).is_relative_to(bare.bin.parent), location
    assert extras == []


def test_help_lists_every_command(bare: Bare):
    out = bare.ok("medcite", "--help")
    for command in ("ask", "ingest", "search", "review", "serve", "user", "articles"):
        assert f"  {command} " in out, command


def test_ask_answers_in_every_format_and_search_runs(bare: Bare):
    article = json.loads(bare.ok("medcite", "ask", QUESTION, "--format", "json"))
    assert article["question"] == QUESTION and article["references"], article["headline"]
    markdown = bare.ok("medcite", "ask", QUESTION, "--format", "md")
    assert markdown.startswith(f"# {QUESTION}")
    assert "<html" in bare.ok("medcite", "ask", QUESTION, "--format", "html").lower()
    assert QUESTION in bare.ok("medcite", "ask", QUESTION, "--format", "text")
    assert "anemia" in bare.ok("medcite", "search", "anemia red blood cells").lower()


def test_review_account_and_decision(bare: Bare):
    article = json.loads(bare.ok("medcite", "ask", QUESTION, "--format", "json"))
    bare.ok("medcite", "user", "add", "rita", "--role", "reviewer", "--password-stdin",
            input="correct horse battery\n")
    moved = bare.ok("medcite", "review", "move", article["id"], "--to", "under_review",
                    "--as", "rita", "--password-stdin", input="correct horse battery\n")
    assert "-> Under Review by rita" in moved, moved
    assert article["id"] in bare.ok("medcite", "review", "list", "--status", "under_review")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_web_app_serves(bare: Bare):
    article = json.loads(bare.ok("medcite", "ask", QUESTION, "--format", "json"))
    port = _free_port()
    server = subprocess.Popen([str(bare.bin / "medcite"), "serve", "--port", str(port)],
                              cwd=bare.cwd, env=bare.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"medcite serve exited:\n{server.stdout.read()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    assert page.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "medcite serve did not answer in 60 s"
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/articles/{article['id']}",
                                    timeout=30) as response:
            assert json.load(response)["id"] == article["id"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/articles/{article['slug']}",
                                    timeout=30) as page:
            assert QUESTION in page.read().decode()
        _cds_hooks_name_the_cds_extra(port)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _cds_hooks_name_the_cds_extra(port: int) -> None:
    """Discovery needs no FHIR models; a hook call says which extra brings them."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/cds-services", timeout=30) as response:
        assert {s["hook"] for s in json.load(response)["services"]} == {"order-select", "order-sign"}
    call = (ROOT / "tests" / "cds" / "requests" / "order-sign-atorvastatin.json").read_bytes()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/cds-services/medcite-order-sign",
                                     data=call, headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    error = json.load(refused.value)["error"]
    assert (refused.value.code, error["code"]) == (500, "missing_dependency")
    assert "pip install 'medcite[cds]'" in error["message"]


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_the_openai_backend_names_the_llm_extra(bare: Bare):
    done = bare.run("medcite", "ask", "Is anemia common?", "--backend", "openai",
                    env={"MEDCITE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
                         "MEDCITE_OPENAI_MODEL": "any"})
    assert "pip install 'medcite[llm]'" in _one_line_error(done)


def test_dense_indexing_names_the_dense_extra(bare: Bare):
    assert "pip install 'medcite[dense]'" in _one_line_error(bare.run("medcite", "index"))


def test_the_mcp_server_names_the_mcp_extra(bare: Bare):
    for args in (("mcp",), ("mcp", "--http")):
        assert "pip install 'medcite[mcp]'" in _one_line_error(bare.run("medcite", *args))

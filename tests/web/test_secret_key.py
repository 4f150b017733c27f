"""The signing key: written whole before anyone can read it, and never short."""

import multiprocessing
from pathlib import Path

import pytest

from medcite.errors import ConfigurationError
from medcite.settings import Settings
from medcite.web.security import MIN_SECRET_KEY_CHARS, secret_key


def _read_key(home: str, barrier, results) -> None:
    barrier.wait()
    try:
        results.put(secret_key(Settings.load(home=home)))
    except Exception as exc:  # reported to the test, which fails on it
        results.put(f"error: {exc}")


def test_processes_starting_together_all_read_the_same_full_key(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    for trial in range(25):
        home = tmp_path / f"home-{trial}"
        home.mkdir()
        barrier, results = context.Barrier(4), context.Queue()
        workers = [context.Process(target=_read_key, args=(str(home), barrier, results))
                   for _ in range(4)]
        for worker in workers:
            worker.start()
        keys = {results.get(timeout=30) for _ in workers}
        for worker in workers:
            worker.join()
        assert len(keys) == 1, keys
        assert len(keys.pop()) >= MIN_SECRET_KEY_CHARS
        assert [p.name for p in home.iterdir()] == ["secret_key"]  # no temporary file left


def test_a_short_or_empty_key_is_refused(home: Path):
    with pytest.raises(ConfigurationError, match="at least 32"):
        secret_key(Settings.load(secret_key="short"))
    home.mkdir(parents=True, exist_ok=True)
    (home / "secret_key").write_text("")
    with pytest.raises(ConfigurationError, match="0 characters"):
        secret_key(Settings.load())


def test_replicas_sharing_a_store_sign_with_the_store_s_key(tmp_path: Path):
    """Two homes (two machines) and one store: both sign with the key the store holds, seeded
    from the first one's key file; a configured key still wins."""
    from medcite.store import open_store

    store = open_store(tmp_path / "shared.sqlite")
    try:
        first = secret_key(Settings.load(home=tmp_path / "one"), store)
        assert first == (tmp_path / "one" / "secret_key").read_text().strip()
        second = secret_key(Settings.load(home=tmp_path / "two"), store)
        assert second == first
        assert not (tmp_path / "two" / "secret_key").exists()  # the store's key is used as is
        configured = "k" * MIN_SECRET_KEY_CHARS
        assert secret_key(Settings.load(home=tmp_path / "two", secret_key=configured), store) \
            == configured
    finally:
        store.close()

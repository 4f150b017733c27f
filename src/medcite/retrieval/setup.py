"""Build a ``Searcher`` for a store from the settings: vocabulary, and dense retrieval when on."""

from __future__ import annotations

from medcite.errors import ConfigurationError
from medcite.retrieval.dense import DenseIndex
from medcite.retrieval.search import Searcher
from medcite.settings import Settings
from medcite.store.sqlite import SQLiteStore


def searcher_for(store: SQLiteStore, settings: Settings) -> Searcher:
    """Dense retrieval: 'off', 'on' (an error if it cannot run) or 'auto' (on when the store
    has vectors and the model package is installed)."""
    from medcite.vocab import Vocabulary

    vocabulary = Vocabulary.load(settings)
    mode = settings.dense
    if mode not in ("on", "off", "auto"):
        raise ConfigurationError(f"setting MEDCITE_DENSE={mode!r}: use on, off or auto")
    encoder = index = None
    if mode != "off":
        index = DenseIndex.load(store)
        if index is None and mode == "on":
            raise ConfigurationError("dense retrieval is on but the store has no vectors",
                                     hint="run: medcite index")
        if index is not None:
            try:
                from medcite.retrieval.embedding import Encoder

                encoder = Encoder(cache_dir=settings.cache_path / "models")
            except ConfigurationError:
                if mode == "on":
                    raise
                index = None
    return Searcher(store, vocabulary=vocabulary, encoder=encoder, dense_index=index,
                    settings=settings)

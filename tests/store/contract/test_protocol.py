"""Each implementation has everything the contract names: the store's attributes and methods,
and every method of each repository it carries."""

from __future__ import annotations

import inspect

from medcite.store import Store
from medcite.store import repositories
from medcite.store.base import Store as Contract

REPOSITORIES = {"articles": repositories.ArticleRecords, "accounts": repositories.Accounts,
                "ask_jobs": repositories.AskJobRecords, "rate_limits": repositories.RateLimits,
                "state": repositories.SharedState, "copying": repositories.StoreCopying,
                "vectors": repositories.PassageVectors}


def _methods(protocol: type) -> list[str]:
    return [name for name, value in vars(protocol).items()
            if callable(value) and not name.startswith("_")]


def test_the_store_has_what_the_contract_names(any_store: Store):
    for name in Contract.__annotations__:
        assert hasattr(any_store, name), f"{type(any_store).__name__} has no {name}"
    for name in _methods(Contract):
        method = getattr(any_store, name)
        assert callable(method)
        wanted = inspect.signature(getattr(Contract, name)).parameters
        assert list(inspect.signature(method).parameters) == [p for p in wanted if p != "self"], name
    for attribute, protocol in REPOSITORIES.items():
        repository = getattr(any_store, attribute)
        if repository is None:  # vectors: kept as files in vector_folder instead
            assert attribute == "vectors" and any_store.vector_folder is not None
            continue
        for name in _methods(protocol):
            wanted = [p for p in inspect.signature(getattr(protocol, name)).parameters
                      if p != "self"]
            found = list(inspect.signature(getattr(repository, name)).parameters)
            assert found == wanted, f"{attribute}.{name}: {found} is not {wanted}"

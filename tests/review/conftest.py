from __future__ import annotations

import pytest

from medcite.review import ArticleRepository, ReviewWorkflow, Role, UserAccounts
from medcite.store import SQLiteStore
from tests.review.factories import cheap_argon2  # noqa: F401  (autouse fixture)


@pytest.fixture
def articles(store: SQLiteStore) -> ArticleRepository:
    return ArticleRepository(store)


@pytest.fixture
def workflow(articles: ArticleRepository) -> ReviewWorkflow:
    return ReviewWorkflow(articles)


@pytest.fixture
def accounts(store: SQLiteStore) -> UserAccounts:
    return UserAccounts(store)


@pytest.fixture
def people(accounts: UserAccounts):
    """One account per role, keyed by role."""
    return {role: accounts.add_user(f"{role.value}-1", "correct horse battery", role)
            for role in Role}

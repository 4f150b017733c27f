"""Plain rows the store's repositories return: dialect-neutral, no driver types.

Times are ISO 8601 text (UTC), statuses and roles their enum values; the layers above turn them
into models (``review.articles``, ``review.users``, ``web.asks``).
"""

from __future__ import annotations

from typing import NamedTuple


class UserRow(NamedTuple):
    username: str
    role: str
    password_hash: str
    disabled: bool


class ArticleRow(NamedTuple):
    """What lists and look-ups need of an article, without any version's text."""

    id: str
    slug: str
    question: str
    status: str
    current_version: int
    approved_version: int | None
    thread_id: str
    parent_id: str | None
    created_at: str
    updated_at: str


class NewVersion(NamedTuple):
    """A version's immutable text and the documents it cites (for source-change flags)."""

    json: str
    document_keys: tuple[str, ...]


class VersionRow(NamedTuple):
    version: int
    status: str  # the latest review event recorded for this version
    created_at: str
    created_by: str


class EventRow(NamedTuple):
    article_id: str
    version: int
    from_status: str | None
    to_status: str
    actor: str
    comment: str
    at: str


class Change(NamedTuple):
    """A stored document deleted or replaced by an ingest batch."""

    document_key: str
    change: str  # withdrawn | revised
    from_revision: int | None
    to_revision: int | None


class FlagRow(NamedTuple):
    id: int
    document_key: str
    change: str
    from_revision: int | None
    to_revision: int | None
    changed_at: str


class ReverificationRow(NamedTuple):
    through_flag: int
    at: str
    checked: int
    no_longer_supported: int
    failures: str  # JSON list of strings


class AskJobRow(NamedTuple):
    id: str
    question: str
    audience: str
    follow_up_of: str | None
    state: str  # writing | done | failed
    tokens: int
    article_id: str | None
    article_slug: str | None
    error_code: str | None
    error_status: int | None
    error_message: str | None
    started_at: str
    updated_at: str


class PassageText(NamedTuple):
    """What re-ranking features read of a passage (a ``Passage`` has these fields too)."""

    text: str
    section: str
    ordinal: int

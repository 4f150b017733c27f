"""The editorial review rules: who may move an article from which status to which.

::

    SUBMITTED ──► UNDER_REVIEW ──► APPROVED
        ▲               │
        │               └────────► REJECTED (a comment saying why is required)
        └── revised version ◄───────────┘   (editors and admins)

Any other move is a ``ConflictError`` naming both statuses; a role not allowed to make a move is a
``PermissionDeniedError``. Every move is recorded as a review event on the version it concerns,
and approving a version marks it as the article's approved version.
"""

from __future__ import annotations

from medcite.errors import ConflictError, InputError, PermissionDeniedError
from medcite.models import Article, ReviewStatus
from medcite.review.articles import ArticleRepository, ReviewEvent
from medcite.review.users import Role, User

_EVERY_ROLE = frozenset(Role)
_EDITORS = frozenset({Role.EDITOR, Role.ADMIN})

TRANSITIONS: dict[tuple[ReviewStatus, ReviewStatus], frozenset[Role]] = {
    (ReviewStatus.SUBMITTED, ReviewStatus.UNDER_REVIEW): _EVERY_ROLE,
    (ReviewStatus.UNDER_REVIEW, ReviewStatus.APPROVED): _EVERY_ROLE,
    (ReviewStatus.UNDER_REVIEW, ReviewStatus.REJECTED): _EVERY_ROLE,
    (ReviewStatus.REJECTED, ReviewStatus.SUBMITTED): _EDITORS,  # only with a revised version
}


def check_transition(current: ReviewStatus, to: ReviewStatus, role: Role, comment: str = "") -> None:
    """Raise unless ``role`` may move an article from ``current`` to ``to``."""
    allowed = TRANSITIONS.get((current, to))
    if allowed is None:
        raise ConflictError(f"an article cannot move from {current.label} to {to.label}")
    if role not in allowed:
        roles = " or ".join(r.value for r in Role if r in allowed)
        raise PermissionDeniedError(
            f"a {role.value} may not move an article from {current.label} to {to.label}; "
            f"this needs the {roles} role")
    if to is ReviewStatus.REJECTED and not comment.strip():
        raise InputError("rejecting an article needs a comment saying why")


def moves_for(current: ReviewStatus, role: Role) -> list[ReviewStatus]:
    """The statuses ``role`` may move an article to from ``current`` (Submitted: by revision)."""
    return [to for (start, to), roles in TRANSITIONS.items() if start is current and role in roles]


class ReviewWorkflow:
    """Applies the rules to stored articles; each check runs inside the write transaction."""

    def __init__(self, articles: ArticleRepository) -> None:
        self.articles = articles

    def move(self, article_id: str, to: ReviewStatus | str, user: User,
             comment: str = "", *, version: int | None = None) -> ReviewEvent:
        """A review decision on ``version`` (the one the reviewer read), refused with a
        ``StaleVersionError`` naming the current version when that is no longer current;
        ``None`` decides on whatever version is current."""
        to = ReviewStatus(to)

        def guard(current: ReviewStatus) -> None:
            check_transition(current, to, user.role, comment)
            if to is ReviewStatus.SUBMITTED:
                # Resubmitting the rejected text unchanged would only repeat the review.
                raise ConflictError("a rejected article returns to Submitted only as a revised "
                                    "version")

        return self.articles.change_status(article_id, to, actor=user.username,
                                           comment=comment.strip(), guard=guard, version=version)

    def revise(self, article_id: str, revised: Article, user: User,
               comment: str = "revised", *, based_on: int | None = None) -> Article:
        """Store a revised version of a rejected article; it goes back to Submitted.
        ``based_on`` is the version the editor read (refused when no longer current)."""
        return self.articles.save_revision(
            article_id, revised, user.username, comment=comment.strip() or "revised",
            guard=lambda current: check_transition(current, ReviewStatus.SUBMITTED, user.role),
            based_on=based_on,
        )

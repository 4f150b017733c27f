"""The editorial review rules: who may move an article from which status to which.

::

    SUBMITTED ──► UNDER_REVIEW ──► APPROVED ──► (correction: a new version, Submitted)
        ▲               │
        │               └────────► REJECTED (a comment saying why is required)
        └── revised version ◄───────────┘   (editors and admins)

    any status but WITHDRAWN ──► WITHDRAWN (editors and admins, with a reason)
    WITHDRAWN ──► corrected version, Submitted (editors and admins)

A correction of an approved article is a new version that goes through review again; the
approved version stays the one served, saying a correction is under review, until the new one
is approved (a rejected correction leaves it served). Withdrawing takes an article out of
service: it is no longer served as an answer or listed in the library, and asking its question
again answers afresh. Returning to Submitted always means a new version, written by an editor
or admin with a comment saying what it corrects (a revision of a rejected text may omit it).

Any other move is a ``ConflictError`` naming both statuses; a role not allowed to make a move is a
``PermissionDeniedError``. Every move is recorded as a review event on the version it concerns,
and approving a version marks it as the article's approved version.
"""

from __future__ import annotations

from medcite.errors import ConflictError, InputError, PermissionDeniedError
from medcite.models import Article, ReviewStatus
from medcite.review.articles import ArticleRepository, ReviewEvent
from medcite.review.users import Role, User

S = ReviewStatus
_EVERY_ROLE = frozenset(Role)
_EDITORS = frozenset({Role.EDITOR, Role.ADMIN})

TRANSITIONS: dict[tuple[ReviewStatus, ReviewStatus], frozenset[Role]] = {
    (S.SUBMITTED, S.UNDER_REVIEW): _EVERY_ROLE,
    (S.UNDER_REVIEW, S.APPROVED): _EVERY_ROLE,
    (S.UNDER_REVIEW, S.REJECTED): _EVERY_ROLE,
    # Only with a new version (``ReviewWorkflow.revise``): a revision, a correction, a
    # corrected version of a withdrawn article.
    (S.REJECTED, S.SUBMITTED): _EDITORS,
    (S.APPROVED, S.SUBMITTED): _EDITORS,
    (S.WITHDRAWN, S.SUBMITTED): _EDITORS,
    # Withdrawing, with a reason.
    **{(start, S.WITHDRAWN): _EDITORS
       for start in (S.SUBMITTED, S.UNDER_REVIEW, S.APPROVED, S.REJECTED)},
}

# Moves that store a new version rather than change the status of the current one.
NEW_VERSION_FROM = frozenset({S.REJECTED, S.APPROVED, S.WITHDRAWN})


def check_transition(current: ReviewStatus, to: ReviewStatus, role: Role, comment: str = "") -> None:
    """Raise unless ``role`` may move an article from ``current`` to ``to`` with ``comment``."""
    allowed = TRANSITIONS.get((current, to))
    if allowed is None:
        raise ConflictError(f"an article cannot move from {current.label} to {to.label}")
    if role not in allowed:
        roles = " or ".join(r.value for r in Role if r in allowed)
        raise PermissionDeniedError(
            f"a {role.value} may not move an article from {current.label} to {to.label}; "
            f"this needs the {roles} role")
    if to is S.REJECTED and not comment.strip():
        raise InputError("rejecting an article needs a comment saying why")
    if to is S.WITHDRAWN and not comment.strip():
        raise InputError("withdrawing an article needs a reason, shown to its readers")
    if to is S.SUBMITTED and current in (S.APPROVED, S.WITHDRAWN) and not comment.strip():
        raise InputError("a correction needs a comment saying what it corrects")


def moves_for(current: ReviewStatus, role: Role) -> list[ReviewStatus]:
    """The statuses ``role`` may move an article to from ``current`` (Submitted: by a new
    version)."""
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
            if to is S.SUBMITTED:
                # Resubmitting the same text unchanged would only repeat the review.
                raise ConflictError(f"an article returns from {current.label} to Submitted "
                                    "only as a new version")

        return self.articles.change_status(article_id, to, actor=user.username,
                                           comment=comment.strip(), guard=guard, version=version)

    def withdraw(self, article_id: str, user: User, reason: str, *,
                 version: int | None = None) -> ReviewEvent:
        """Take the article out of service (editors and admins, with a reason readers see)."""
        return self.move(article_id, S.WITHDRAWN, user, reason, version=version)

    def revise(self, article_id: str, revised: Article, user: User,
               comment: str = "", *, based_on: int | None = None) -> Article:
        """Store a new version, Submitted: a revision of a rejected article, a correction of an
        approved one (which stays served until this is approved) or a corrected version of a
        withdrawn one; the last two need a comment saying what is corrected. ``based_on`` is the
        version the editor read (refused when no longer current)."""
        comment = comment.strip()
        return self.articles.save_revision(
            article_id, revised, user.username, comment=comment or "revised",
            guard=lambda current: check_transition(current, S.SUBMITTED, user.role, comment),
            based_on=based_on,
        )

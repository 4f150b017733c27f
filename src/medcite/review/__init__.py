"""Editorial review: stored, versioned articles, reviewer accounts and the review workflow."""

from __future__ import annotations

from medcite.review.articles import ArticleRepository, ArticleSummary, ArticleVersion, ReviewEvent
from medcite.review.users import Role, User, UserAccounts
from medcite.review.workflow import ReviewWorkflow

__all__ = ["ArticleRepository", "ArticleSummary", "ArticleVersion", "ReviewEvent", "ReviewWorkflow",
           "Role", "User", "UserAccounts"]

"""medcite: clinical questions answered with cited, verified articles from an indexed corpus.

    >>> import medcite
    >>> article = medcite.ask("Can magnesium glycinate be used to support mirtazapine therapy?")
    >>> article.headline, [r.title for r in article.references]

``medcite.ask`` is ``medcite.answer.ask``: it answers against the store named by the settings
(``MEDCITE_HOME``; see docs/settings.md), saves the article as Submitted and returns it for the
audience asked for. The pipeline is imported on the first call, so ``import medcite`` stays cheap.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medcite.models import Article

try:
    __version__ = version("medcite")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["ask", "__version__"]


def ask(question: str, **options: Any) -> Article:
    """Answer a clinical question with a verified, cited article (see ``medcite.answer.ask``
    for the options: audience, follow_up_of, store, settings, save, progress)."""
    from medcite.answer import ask as answer

    return answer(question, **options)

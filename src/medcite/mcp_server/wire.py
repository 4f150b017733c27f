"""Answers to lines on stdio that are not JSON-RPC messages.

The SDK's stdio transport hands the server an exception for such a line and the server drops
it, so a client that sent a broken request would wait forever. Over HTTP the SDK answers 400
with a JSON-RPC error itself; this gives stdio the same: ``-32700`` for a line that is not JSON,
``-32600`` for JSON that is not a JSON-RPC message, with the request's id when it can be read
(else ``null``, as JSON-RPC 2.0 says).
"""

from __future__ import annotations

from typing import Any

from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError


def _request_id(errors: list[dict[str, Any]]) -> str | int | None:
    """The id of the message the errors are about, when one of them carries it whole."""
    for error in errors:
        found = error.get("input")
        if isinstance(found, dict):
            candidate = found.get("id")
            if isinstance(candidate, str | int) and not isinstance(candidate, bool):
                return candidate
    return None


def malformed_reply(problem: Exception) -> JSONRPCError:
    """The JSON-RPC error answering a line the transport could not read as a message."""
    if not isinstance(problem, ValidationError):
        return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(
            code=PARSE_ERROR, message="Parse error: the line could not be read as a message"))
    errors = problem.errors(include_url=False)
    if any(error["type"] == "json_invalid" for error in errors):
        return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(
            code=PARSE_ERROR, message="Parse error: the line is not valid JSON"))
    # The message was meant as a request: say what a request lacks, not what the other kinds do.
    as_request = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'message'}: {e['msg']}"
                  for e in errors if e["loc"][:1] == ("JSONRPCRequest",)]
    return JSONRPCError(jsonrpc="2.0", id=_request_id(errors), error=ErrorData(
        code=INVALID_REQUEST,
        message="Invalid Request: not a JSON-RPC 2.0 request, notification or response",
        data=as_request[:3] or None))

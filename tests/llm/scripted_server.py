"""A real HTTP server on 127.0.0.1 that speaks the chat-completions protocol from a script.

Each POST to ``/v1/chat/completions`` is recorded and answered by the next scripted reply: a
completion (sent as server-sent events when the request asks to stream), an error status with
an OpenAI-style error body, a raw body, or a delay longer than the client's timeout.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    content: str | None = None  # the assistant's message; None for error replies
    body: str | None = None  # a raw body instead of a completion
    delay: float = 0.0
    pace: float = 0.0  # seconds between streamed pieces, for a model that writes slowly
    headers: dict[str, str] = field(default_factory=dict)


def completion(content: str | dict[str, Any], delay: float = 0.0, pace: float = 0.0) -> Reply:
    text = content if isinstance(content, str) else json.dumps(content)
    return Reply(content=text, delay=delay, pace=pace)


def error(status: int, message: str, **headers: str) -> Reply:
    return Reply(status=status, body=json.dumps({"error": {"message": message, "type": "server_error"}}),
                 headers=headers)


class ScriptedServer:
    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                request["_path"] = self.path
                request["_authorization"] = self.headers.get("authorization")
                server.requests.append(request)
                reply = server.script.pop(0) if server.script else error(500, "script exhausted")
                time.sleep(reply.delay)
                try:
                    if reply.content is not None and request.get("stream"):
                        self._stream(reply.content, reply.pace)
                    else:
                        self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _send(self, reply: Reply) -> None:
                if reply.content is not None:
                    body = json.dumps({"id": "x", "object": "chat.completion", "choices": [
                        {"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply.content}}]})
                else:
                    body = reply.body or ""
                data = body.encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, content: str, pace: float) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                pieces = [content[i:i + 7] for i in range(0, len(content), 7)]
                for piece in pieces:
                    chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    if pace:
                        self.wfile.flush()
                        time.sleep(pace)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reply(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

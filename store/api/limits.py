"""A request body size limit (413) as plain ASGI middleware, before any route reads the body.

Bodies are read up to the limit and replayed to the app, so a body without Content-Length
(chunked) is held to the same limit as one that declares its size.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.api.problems import PROBLEM_JSON, TYPE_BASE


class BodySizeLimit:
    """Answer 413 (a problem response) to any request whose body exceeds `max_bytes`."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _problem(scope, send, 400, "Bad Request", "Content-Length is not a number")
            return
        if declared is not None and declared > self.max_bytes:
            await self._too_large(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away: hand the app what was read, then the disconnect.
                await self.app(scope, _replay(chunks, message), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large(scope, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None), send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await _problem(scope, send, 413, "Content Too Large",
                       f"the request body is larger than {self.max_bytes} bytes",
                       slug="body-too-large")


def _content_length(scope: Scope) -> int | None:
    """The declared body size, None when absent, -1 when not a number."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                size = int(value)
            except ValueError:
                return -1
            return size if size >= 0 else -1
    return None


def _replay(chunks: list[bytes], then: Message | None) -> Receive:
    """A `receive` that hands over the buffered body once, then `then` (or a disconnect)."""
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks),
                               "more_body": False}]

    async def receive() -> Message:
        if pending:
            return pending.pop()
        return then or {"type": "http.disconnect"}

    return receive


async def _problem(scope: Scope, send: Send, status: int, title: str, detail: str,
                   slug: str | None = None) -> None:
    body: dict[str, Any] = {"type": f"{TYPE_BASE}{slug}" if slug else "about:blank",
                            "title": title, "status": status, "detail": detail,
                            "instance": scope.get("path", "")}
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()),
                            (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})

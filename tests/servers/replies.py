"""Answers for the bench's small HTTP servers (http.server handlers)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


def reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: object,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> None:
    """`body` as JSON (bytes are sent as they are), with a Content-Length; no body to a HEAD."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(status)
    if content_type:
        handler.send_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)

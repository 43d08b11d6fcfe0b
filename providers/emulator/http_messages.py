"""One provider API call as the server and the handlers see it: ``ApiRequest`` in, ``ApiResponse``
out, and the JSON answers built from them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ApiRequest:
    """One request as the provider handlers see it (headers keyed in lower case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    json_error: str | None = None  # set when the body is present but not JSON

    @property
    def has_json(self) -> bool:
        return self.json_error is None and bool(self.body)

    @property
    def json_object(self) -> dict[str, Any] | None:
        """The body when it is a JSON object (what every submit takes); None otherwise."""
        return self.json if self.has_json and isinstance(self.json, dict) else None


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay_s: float = 0.0  # latency / hang before the answer is written
    file_path: Path | None = None  # stream this file as the body
    reason: str | None = None


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> ApiResponse:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return ApiResponse(status=status, body=body, headers=dict(headers or {}))


def truncated_json(payload: Any) -> bytes:
    """A JSON answer cut in the middle: what a proxy or a crashed server can produce."""
    text = json.dumps(payload)
    return text[: max(1, len(text) // 2)].encode("utf-8")

"""Django's database sessions, with the session cookie checked before it reaches a query.

A cookie may carry any character (``"\\000..."`` unquotes to NULs, which PostgreSQL refuses: a
500); Django makes its keys of lowercase letters and digits, so any other key is no session."""

from __future__ import annotations

import re

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY = re.compile(f"[{VALID_KEY_CHARS}]{{8,64}}")


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(key) and _KEY.fullmatch(key) is not None

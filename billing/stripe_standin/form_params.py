"""Stripe's request encoding: ``application/x-www-form-urlencoded`` with bracketed nesting
(``items[0][price]=price_1``, ``metadata[tenant]=t``, ``lookup_keys[]=a``), decoded into dicts and
lists. See https://docs.stripe.com/api/request_ids and the SDKs' encoders (``stripe/_encode.py``)."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_form(text: str) -> dict[str, Any]:
    """``a[b][0][c]=x`` -> ``{"a": {"b": [{"c": "x"}]}}``; an empty ``[]`` appends to a list."""
    root: dict[str, Any] = {}
    for raw_key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if match is None:
            root[raw_key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # a[]=x: append
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _listify(root)


def _listify(value: Any) -> Any:
    """Dicts keyed 0..n-1 become lists, recursively (the SDK sends lists as indexed keys)."""
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted

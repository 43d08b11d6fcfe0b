"""An input's name as a person reads it, from the model's schema titles: ``media[0].url`` is
"Reference media 1 · Image or video". The job page labels its input with it, and the new-job form
names the fields of the errors it cannot put beside a field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from providers.catalogue import ModelEntry

from .input_paths import PathPart, format_path


def input_label(entry: ModelEntry | None, parts: Sequence[PathPart]) -> str:
    """``media[0].url`` -> ``Reference media 1 · Image or video`` (titles from the schema)."""
    if entry is None:
        return format_path(parts, root="")
    props: Any = entry.properties
    out: list[str] = []
    for name in parts:
        if isinstance(name, int):
            if out:
                out[-1] = f"{out[-1]} {name + 1}"
            continue
        prop = props.get(name, {}) if isinstance(props, Mapping) else {}
        prop = prop if isinstance(prop, Mapping) else {}
        out.append(str(prop.get("title") or name))
        nested = prop.get("items", {}) if prop.get("type") == "array" else prop
        props = nested.get("properties", {}) if isinstance(nested, Mapping) else {}
    return " · ".join(out)

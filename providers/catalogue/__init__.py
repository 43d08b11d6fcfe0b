"""The model catalogue: one ``ModelEntry`` per model, looked up by its id, and the providers' display names."""

from __future__ import annotations

from .dashscope import ENTRIES as _DASHSCOPE
from .entry import (
    PROVIDER_NAMES,
    AssetSlot,
    Capabilities,
    DurationRule,
    Limits,
    ModelEntry,
    PriceRule,
    provider_display_name,
)
from .fal import ENTRIES as _FAL
from .local import ENTRIES as _LOCAL
from .wavespeed import ENTRIES as _WAVESPEED

__all__ = [
    "PROVIDER_NAMES", "AssetSlot", "Capabilities", "DurationRule", "Limits", "ModelEntry", "PriceRule",
    "UnknownModel", "catalogue_get", "catalogue_list", "provider_display_name",
]

_ENTRIES: dict[str, ModelEntry] = {e.id: e for e in (*_LOCAL, *_WAVESPEED, *_FAL, *_DASHSCOPE)}


class UnknownModel(LookupError):
    def __init__(self, model_id: str) -> None:
        super().__init__(f"Unknown model {model_id!r}.")
        self.model_id = model_id


def catalogue_list() -> list[ModelEntry]:
    return list(_ENTRIES.values())


def catalogue_get(*, model_id: str) -> ModelEntry:
    try:
        return _ENTRIES[model_id]
    except KeyError:
        raise UnknownModel(model_id) from None

"""Each catalogue model's job input as an OpenAPI component (``<Model>Input``: the catalogue's JSON
Schema as it stands), added to /api/v1/schema by a drf-spectacular postprocessing hook; the job body
that refers to them, one variant per model, is ``jobs.api_examples.job_body``."""

from __future__ import annotations

import re
from typing import Any

from .catalogue import catalogue_list


def model_component_name(model_id: str) -> str:
    """``fal-ai/ai-avatar/multi`` -> ``FalAiAiAvatarMulti`` (component names allow no ``/``)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", model_id) if part)


def model_input_ref(model_id: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model_component_name(model_id)}Input"}


def model_input_components() -> dict[str, Any]:
    return {f"{model_component_name(e.id)}Input": {**e.input_schema, "title": f"{e.display_name} input",
                                                    "description": f"The `input` of a `{e.id}` job."}
            for e in catalogue_list()}


def add_model_input_components(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(model_input_components())
    return result

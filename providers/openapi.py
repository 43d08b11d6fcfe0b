"""Each catalogue model's job body as OpenAPI components (``<Model>Input``, ``<Model>Job``) and the
job body that is one of them (``JobCreateInput``), added to /api/v1/schema by a drf-spectacular
postprocessing hook; ``POST /api/v1/jobs`` and ``/quotes`` refer to it (``JOB_BODY_REF``)."""

from __future__ import annotations

import re
from typing import Any

from .catalogue import catalogue_list

JOB_BODY = "JobCreateInput"
JOB_BODY_REF = {"$ref": f"#/components/schemas/{JOB_BODY}"}


def model_component_name(model_id: str) -> str:
    """``fal-ai/ai-avatar/multi`` -> ``FalAiAiAvatarMulti`` (component names allow no ``/``)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", model_id) if part)


def job_body_components() -> dict[str, Any]:
    """``JobCreateInput``: one of the per-model bodies, told apart by ``model``; each body's ``input``
    is that model's input schema (``<Model>Input``, the catalogue's JSON Schema as it stands)."""
    components: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    for entry in catalogue_list():
        name = model_component_name(entry.id)
        components[f"{name}Input"] = {**entry.input_schema, "title": f"{entry.display_name} input",
                                      "description": f"The `input` of a `{entry.id}` job."}
        components[f"{name}Job"] = {
            "type": "object", "title": entry.display_name, "required": ["model", "input"],
            "properties": {
                "model": {"type": "string", "enum": [entry.id], "description": "The catalogue model."},
                "input": {"$ref": f"#/components/schemas/{name}Input"},
            },
        }
        mapping[entry.id] = f"#/components/schemas/{name}Job"
    components[JOB_BODY] = {
        "description": "A job's body: `model` (a catalogue id, `GET /api/v1/models`) and its `input`, whose fields "
                       "are the model's (a file is an asset id). The same body prices a quote.",
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "model", "mapping": mapping},
    }
    return components


def add_job_body_components(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(job_body_components())
    return result

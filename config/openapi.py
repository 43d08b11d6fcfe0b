"""How the OpenAPI schema (/api/v1/schema) describes what every operation shares: the error body and
which errors an operation can answer, and descriptions that belong to the operation (never a base
view's docstring). Each model's job input is described by ``providers.openapi``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema_serializer
from rest_framework import serializers


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(help_text="What went wrong, for programs: `invalid`, `not_found`, "
                                           "`job_not_finished`, `budget_exceeded`...")
    message = serializers.CharField(help_text="What went wrong, for people (the first bad field and its limit).")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="With `invalid`: each bad field's path (`input.num_frames`, `input.media[0].url`, `limit`) "
                  "and the reasons it was refused.",
    )


@extend_schema_serializer(component_name="Error", examples=[
    OpenApiExample("A bad field", value={"error": {
        "code": "invalid", "message": "input.num_frames: Ensure this value is less than or equal to 241.",
        "fields": {"input.num_frames": ["Ensure this value is less than or equal to 241."]}}}),
    OpenApiExample("Not found", value={"error": {"code": "not_found", "message": "No such object."}}),
])
class ErrorOutput(serializers.Serializer):
    """Every error answer: ``{"error": {"code", "message", "fields"?}}`` (``config.exception_handler``);
    a 402 ``budget_exceeded`` also carries ``limit``, ``spend``, ``reserved``, ``quote``, ``currency``
    and ``scope`` in ``error``."""

    error = ErrorDetailOutput()


# What each status means, for the operations that can answer it (added by ApiAutoSchema).
ERRORS = {
    "400": "Bad input: `invalid`, with `fields` naming each bad field's path and the limit it broke "
           "(also a bad `limit` or `cursor`), or `malformed_request` for a body that cannot be read.",
    "401": "`unauthenticated`: no API key, or one that is unknown, revoked or whose maker left the team.",
    "403": "`forbidden`: the key's role is below the one this operation needs.",
    "404": "`not_found`: no such object, or another tenant's (or, for jobs, the other mode's).",
    "413": "`request_too_large`: the body is over the upload limit.",
    "415": "`unsupported_media_type`: the body is not in a media type this operation reads.",
    "429": "`rate_limited`: too many requests (or failed authentications); wait `Retry-After` seconds.",
    "409": "`idempotency_key_reused`: this Idempotency-Key was used for a different request; "
           "`idempotency_key_in_progress`: a request with it is still running (retry after `Retry-After`).",
}


def _example(code: str, message: str, **fields: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"value": {"error": body}}


ERROR_EXAMPLES = {
    "400": _example("invalid", "limit: A whole number from 1 to 100 (default 20); got '500'.",
                    limit=["A whole number from 1 to 100 (default 20); got '500'."]),
    "401": _example("unauthenticated", "No API key was sent: send it as the header 'Authorization: Bearer "
                                       "<api key>'."),
    "403": _example("forbidden", "This needs the admin role or higher; you are member."),
    "404": _example("not_found", "No such object."),
    "413": _example("request_too_large", "The request body is larger than the limit of 2621440 bytes; upload "
                                         "files with POST /api/v1/assets (multipart)."),
    "415": _example("unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
    "429": _example("rate_limited", "Too many failed authentications; try again in 60 seconds."),
    "409": _example("idempotency_key_reused", "The Idempotency-Key 'c0ffee' was already used for a different "
                                              "request; use a new key for a new request."),
}


def error_response(description: str) -> OpenApiResponse:
    """An error answer an operation declares itself (a 402, a 409), with what it means there."""
    return OpenApiResponse(ErrorOutput, description=description)


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, told the API's own rules: every error an operation can answer,
    and no description inherited from a base class (``TenantApi``'s docstring is not the API's)."""

    def get_description(self) -> str:
        method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        own = self.view.__class__.__dict__.get("__doc__")
        return get_doc(method) or (get_doc(self.view.__class__) if own else "")

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None or not self.path.startswith("/api/"):
            return operation
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            responses.setdefault(code, self._error(code))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation: dict[str, Any]) -> list[str]:
        codes = ["401", "429"]
        if any(p["in"] == "query" for p in operation.get("parameters", [])) or "requestBody" in operation:
            codes.append("400")
        if getattr(self.view, "required_roles", {}).get(self.method, "viewer") != "viewer":
            codes.append("403")
        if "{" in self.path:
            codes.append("404")
        if "requestBody" in operation:
            codes += ["413", "415"]
        if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])):
            codes.append("409")
        return codes

    def _error(self, code: str) -> dict[str, Any]:
        ref = self.resolve_serializer(ErrorOutput, "response").ref
        answer: dict[str, Any] = {"description": ERRORS[code], "content": {"application/json": {
            "schema": ref, "examples": {"error": ERROR_EXAMPLES[code]}}}}
        if code == "429":
            answer["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                 "description": "Seconds to wait before trying again."}}
        return answer

"""Tells drf-spectacular how API keys authenticate (a bearer token), for the OpenAPI contract."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201 - spectacular's signature
        return {"type": "http", "scheme": "bearer", "bearerFormat": "prl_live_… / prl_test_… API key"}

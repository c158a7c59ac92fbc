"""The OpenAPI schema: every operation documents the error format for the statuses it can
answer, so clients (and Schemathesis) can rely on the schema for errors too."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

ErrorList = inline_serializer(
    name="ErrorList",
    fields={
        "errors": serializers.ListField(
            child=inline_serializer(
                name="Error",
                fields={
                    "field": serializers.CharField(allow_null=True),
                    "code": serializers.CharField(),
                    "message": serializers.CharField(),
                    "job": serializers.CharField(required=False),
                    "job_url": serializers.CharField(required=False),
                },
            )
        )
    },
)


class AutoSchema(BaseAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = ["400", "401", "403", "404", "405", "406", "415", "429"]
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes += ["409", "422"]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorList, code)
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.auth.BearerTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API token: `Authorization: Bearer vmm_...`"}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.auth.BlockAwareSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}

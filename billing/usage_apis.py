"""The usage resource: a month's spend of the key's mode, grouped by day, model or API key, as JSON
or CSV (``/usage.csv`` or ``?format=csv``). Sums come from ``billing.selectors`` (the ledger)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import TenantApi

from .selectors import GROUP_BY, UsageReport, period_current, period_parse, usage_report

CSV_COLUMNS = ["period", "group_by", "key", "label", "jobs", "charged", "refunded", "amount", "currency", "livemode"]


class UsageCsvRenderer(BaseRenderer):
    """Renders a usage report's JSON body as CSV: one row per group, then a ``total`` row."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        common = {"period": data["period"], "group_by": data["group_by"], "currency": data["total"]["currency"],
                  "livemode": str(data["livemode"]).lower()}
        for group in data["groups"]:
            row = {**common, **group}
            writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
        total = {**common, "key": "total", "label": "total", "jobs": sum(g["jobs"] for g in data["groups"]),
                 "charged": data["total"]["charged"], "refunded": data["total"]["refunded"],
                 "amount": data["total"]["amount"]}
        writer.writerow([total[c] for c in CSV_COLUMNS])
        return out.getvalue().encode(self.charset)


class UsageGroupOutput(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="The day (YYYY-MM-DD), the model id, or the API "
                                                           "key's id (null: jobs made in the dashboard).")
    label = serializers.CharField()
    jobs = serializers.IntegerField(help_text="Charges (succeeded jobs) in the group.")
    charged = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="charged - refunded")


class UsageTotalOutput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    charged = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class UsageOutput(serializers.Serializer):
    period = serializers.CharField(source="period.label")
    group_by = serializers.CharField()
    livemode = serializers.BooleanField()
    total = serializers.SerializerMethodField()
    groups = UsageGroupOutput(many=True)

    @extend_schema_field(UsageTotalOutput)
    def get_total(self, report: UsageReport) -> dict[str, Any]:
        return UsageTotalOutput({"amount": report.total, "charged": report.charged, "refunded": report.refunded,
                                 "currency": report.currency}).data


class UsageApi(TenantApi):
    """A month's usage in the key's mode (live keys see live usage, test keys test usage)."""

    renderer_classes = [JSONRenderer, UsageCsvRenderer]

    class FilterSerializer(serializers.Serializer):
        period = serializers.CharField(required=False, allow_blank=True,  # blank is refused, not defaulted
                                       help_text="YYYY-MM (UTC); this month if omitted.")
        group_by = serializers.ChoiceField(choices=GROUP_BY, default="day")

        def validate_period(self, value: str) -> str:
            try:
                period_parse(value)
            except ValueError as exc:
                raise serializers.ValidationError(str(exc)) from exc
            return value

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        """An unknown ``format`` is a 400 naming it (DRF answers a bare 404)."""
        try:
            return super().perform_content_negotiation(request, force=force)
        except Http404:
            raise serializers.ValidationError({"format": ["One of: json, csv."]}) from None

    def finalize_response(self, request: Request, response: Any, *args: object, **kwargs: object) -> Any:
        if getattr(response, "exception", False):  # errors are JSON, whatever format was asked for
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        summary="Get usage", description=(
            "A month's spend (UTC) in the key's mode, from the ledger, grouped by day, model or API key; refunds "
            "are taken off on the day they are given. As CSV with `/usage.csv` or `format=csv`."),
        parameters=[FilterSerializer,
                    OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"], required=False)],
        responses={(200, "application/json"): UsageOutput, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request, format: str | None = None) -> Response:  # noqa: A002 - DRF's name
        s = self.FilterSerializer(data=request.query_params)
        s.is_valid(raise_exception=True)
        period = period_parse(s.validated_data["period"]) if "period" in s.validated_data else period_current()
        report = usage_report(tenant=request.tenant, livemode=request.actor.livemode, period=period,
                              group_by=s.validated_data["group_by"])
        response = Response(UsageOutput(report).data)
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = (f'attachment; filename="usage-{period.label}-'
                                               f'{s.validated_data["group_by"]}.csv"')
        return response

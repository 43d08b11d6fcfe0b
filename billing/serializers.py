"""The API's public shapes of money: quotes and budgets (amounts are decimal strings)."""

from __future__ import annotations

from rest_framework import serializers


class PriceRuleOutput(serializers.Serializer):
    per_second = serializers.CharField(help_text="Provider price per billable second, before multipliers.")
    currency = serializers.CharField()
    increment_s = serializers.CharField(help_text="Billable seconds are rounded up to whole increments.")
    minimum_s = serializers.CharField()
    maximum_s = serializers.CharField(allow_null=True)
    bills_input_video = serializers.BooleanField()
    source = serializers.CharField()


class QuoteBreakdownOutput(serializers.Serializer):
    rule = PriceRuleOutput()
    seconds = serializers.CharField(help_text="The video's expected seconds (from the audio, or the input).")
    input_video_seconds = serializers.CharField()
    billable_seconds = serializers.CharField()
    unit_price = serializers.CharField()
    multipliers = serializers.DictField(child=serializers.CharField(),
                                        help_text="Each multiplier the rule applies (resolution, frames).")
    multiplier = serializers.CharField(help_text="The product of the multipliers.")
    provider_amount = serializers.CharField(help_text="billable_seconds x unit_price x multiplier, unrounded.")
    price_multiplier = serializers.CharField(help_text="The tenant's price multiplier.")
    amount = serializers.CharField()


class QuoteCreatedOutput(serializers.Serializer):
    object = serializers.CharField(default="quote")
    model = serializers.CharField()
    amount = serializers.CharField(help_text="What the job would cost at most: provider_amount x price_multiplier, "
                                             "rounded half up to the cent.")
    currency = serializers.CharField()
    billable_seconds = serializers.CharField()
    breakdown = QuoteBreakdownOutput()


class BudgetOutput(serializers.Serializer):
    object = serializers.CharField(default="budget")
    api_key = serializers.IntegerField(source="api_key_id", allow_null=True)
    period = serializers.CharField(help_text="The current month, YYYY-MM.")
    monthly_limit = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                             help_text="The limit that applies (the owner's, lowered to the "
                                                       "operator's cap); null for none.", source="limit")
    requested_limit = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                               source="monthly_limit", help_text="What the owner set.")
    limit_cap = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                         help_text="The most the operator allows; null for no cap.")
    spend = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Charged this month (live jobs).")
    reserved = serializers.DecimalField(max_digits=12, decimal_places=2,
                                        help_text="Held by live jobs that have not finished yet.")
    remaining = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField()

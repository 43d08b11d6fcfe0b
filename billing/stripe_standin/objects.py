"""Stripe's API objects as the stand-in answers them: the fields, nesting and ``object`` values of
Stripe's published example objects (each builder cites its API reference page), so that the
official SDK parses them as it parses Stripe's. Ids carry Stripe's prefixes."""

from __future__ import annotations

import json
import secrets
import string
import time
from decimal import Decimal
from typing import Any

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """``cus_``, ``prod_``, ``price_``, ``mtr_``, ``sub_``, ``si_``, ``in_``, ``il_``, ``cs_test_``,
    ``bps_``, ``pm_``, ``evt_``: Stripe's id prefixes with a random tail."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


def json_number(value: Decimal) -> int | Any:
    """A Decimal as the JSON number Stripe answers (an int when whole)."""
    return int(value) if value == value.to_integral_value() else json.loads(str(value))


def list_object(url: str, data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    # https://docs.stripe.com/api/pagination
    return {"object": "list", "url": url, "has_more": has_more, "data": data}


def search_result(url: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    # https://docs.stripe.com/api/pagination/search
    return {"object": "search_result", "url": url, "has_more": False, "next_page": None, "data": data,
            "total_count": len(data)}


def _address() -> dict[str, Any]:
    return {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}


def customer(*, email: str | None, name: str | None, description: str | None,
             metadata: dict[str, str]) -> dict[str, Any]:
    # https://docs.stripe.com/api/customers/object
    return {
        "id": new_id("cus_", 14), "object": "customer", "address": None, "balance": 0, "created": now(),
        "currency": None, "default_source": None, "delinquent": False, "description": description,
        "discount": None, "email": email, "invoice_prefix": new_id("", 7).upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": False, "metadata": metadata, "name": name, "next_invoice_sequence": 1, "phone": None,
        "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
    }


def product(*, id: str | None, name: str, description: str | None, metadata: dict[str, str],
            unit_label: str | None) -> dict[str, Any]:
    # https://docs.stripe.com/api/products/object
    return {
        "id": id or new_id("prod_", 14), "object": "product", "active": True, "created": now(),
        "default_price": None, "description": description, "images": [], "livemode": False,
        "marketing_features": [], "metadata": metadata, "name": name, "package_dimensions": None,
        "shippable": None, "statement_descriptor": None, "tax_code": None, "unit_label": unit_label,
        "updated": now(), "url": None, "type": "service",
    }


def price(*, product: str, currency: str, unit_amount_decimal: str, lookup_key: str | None,
          recurring: dict[str, Any] | None, nickname: str | None, metadata: dict[str, str]) -> dict[str, Any]:
    # https://docs.stripe.com/api/prices/object
    exact = Decimal(unit_amount_decimal)
    unit_amount = int(exact) if exact == exact.to_integral_value() else None
    return {
        "id": new_id("price_"), "object": "price", "active": True, "billing_scheme": "per_unit",
        "created": now(), "currency": currency, "custom_unit_amount": None, "livemode": False,
        "lookup_key": lookup_key, "metadata": metadata, "nickname": nickname, "product": product,
        "recurring": recurring, "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None,
        "type": "recurring" if recurring else "one_time", "unit_amount": unit_amount,
        "unit_amount_decimal": unit_amount_decimal,
    }


def meter(*, display_name: str, event_name: str, customer_key: str, value_key: str, formula: str) -> dict[str, Any]:
    # https://docs.stripe.com/api/billing/meter/object
    return {
        "id": new_id("mtr_test_"), "object": "billing.meter", "created": now(),
        "customer_mapping": {"event_payload_key": customer_key, "type": "by_id"},
        "default_aggregation": {"formula": formula}, "display_name": display_name, "event_name": event_name,
        "event_time_window": None, "livemode": False, "status": "active",
        "status_transitions": {"deactivated_at": None}, "updated": now(),
        "value_settings": {"event_payload_key": value_key},
    }


def meter_event(*, event_name: str, identifier: str, payload: dict[str, str], timestamp: int) -> dict[str, Any]:
    # https://docs.stripe.com/api/billing/meter-event/object
    return {"object": "billing.meter_event", "created": now(), "event_name": event_name,
            "identifier": identifier, "livemode": False, "payload": payload, "timestamp": timestamp}


def meter_event_summary(*, meter_id: str, start: int, end: int, value: Decimal) -> dict[str, Any]:
    # https://docs.stripe.com/api/billing/meter-event-summary/object
    return {"id": new_id("mtrusg_test_"), "object": "billing.meter_event_summary",
            "aggregated_value": json_number(value), "end_time": end, "livemode": False,
            "meter": meter_id, "start_time": start}


def subscription(*, customer: str, prices: list[dict[str, Any]], metadata: dict[str, str],
                 status: str, period_start: int, period_end: int) -> dict[str, Any]:
    # https://docs.stripe.com/api/subscriptions/object (current_period_* live on the items)
    sub_id = new_id("sub_")
    items = [{
        "id": new_id("si_", 14), "object": "subscription_item", "created": now(), "discounts": [],
        "metadata": {}, "price": p,
        "quantity": None if (p.get("recurring") or {}).get("usage_type") == "metered" else 1,
        "subscription": sub_id, "tax_rates": [], "current_period_start": period_start,
        "current_period_end": period_end, "billing_thresholds": None,
    } for p in prices]
    return {
        "id": sub_id, "object": "subscription", "application": None, "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": period_start, "billing_cycle_anchor_config": None, "cancel_at": None,
        "cancel_at_period_end": False, "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": now(),
        "currency": prices[0]["currency"] if prices else "usd",
        "customer": customer, "days_until_due": None, "default_payment_method": None, "default_source": None,
        "default_tax_rates": [], "description": None, "discounts": [], "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object(f"/v1/subscription_items?subscription={sub_id}", items),
        "latest_invoice": None, "livemode": False, "metadata": metadata, "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None, "pause_collection": None, "payment_settings": None, "pending_invoice_item_interval": None,
        "pending_setup_intent": None, "pending_update": None, "schedule": None, "start_date": period_start,
        "status": status, "test_clock": None, "transfer_data": None, "trial_end": None,
        "trial_settings": None, "trial_start": None,
    }


def checkout_session(*, base_url: str, mode: str, customer: str | None, customer_email: str | None,
                     line_items: list[dict[str, Any]], success_url: str | None, cancel_url: str | None,
                     client_reference_id: str | None, metadata: dict[str, str]) -> dict[str, Any]:
    # https://docs.stripe.com/api/checkout/sessions/object
    session_id = new_id("cs_test_", 58)
    return {
        "id": session_id, "object": "checkout.session", "after_expiration": None, "allow_promotion_codes": None,
        "amount_subtotal": 0, "amount_total": 0,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None, "cancel_url": cancel_url, "client_reference_id": client_reference_id,
        "client_secret": None, "consent": None, "consent_collection": None, "created": now(), "currency": "usd",
        "custom_fields": [], "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                                            "terms_of_service_acceptance": None},
        "customer": customer, "customer_creation": None if customer else "always", "customer_details": None,
        "customer_email": customer_email, "expires_at": now() + 24 * 3600, "invoice": None,
        "invoice_creation": None, "livemode": False, "locale": None, "metadata": metadata, "mode": mode,
        "payment_intent": None, "payment_link": None, "payment_method_collection": "always",
        "payment_method_options": {}, "payment_method_types": ["card"], "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False}, "recovered_from": None, "setup_intent": None,
        "shipping_address_collection": None, "shipping_cost": None, "shipping_options": [], "status": "open",
        "submit_type": None, "subscription": None, "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}, "ui_mode": "hosted",
        "url": f"{base_url}/c/pay/{session_id}",
        "_line_items": line_items,  # kept for completion; stripped from answers
    }


def portal_session(*, base_url: str, customer: str, return_url: str | None) -> dict[str, Any]:
    # https://docs.stripe.com/api/customer_portal/sessions/object
    session_id = new_id("bps_")
    return {"id": session_id, "object": "billing_portal.session", "configuration": "bpc_standin",
            "created": now(), "customer": customer, "flow": None, "livemode": False, "locale": None,
            "on_behalf_of": None, "return_url": return_url, "url": f"{base_url}/p/session/{session_id}"}


def balance_transaction(*, customer: str, amount: int, currency: str, description: str | None,
                        metadata: dict[str, str], ending_balance: int, type: str,
                        invoice: str | None = None) -> dict[str, Any]:
    # https://docs.stripe.com/api/customer_balance_transactions/object
    return {"id": new_id("cbtxn_"), "object": "customer_balance_transaction", "amount": amount,
            "checkout_session": None, "created": now(), "credit_note": None, "currency": currency,
            "customer": customer, "description": description, "ending_balance": ending_balance,
            "invoice": invoice, "livemode": False, "metadata": metadata, "type": type}


def invoice(*, customer: str, subscription: dict[str, Any] | None, lines: list[dict[str, Any]],
            period_start: int, period_end: int, base_url: str, number: str) -> dict[str, Any]:
    # https://docs.stripe.com/api/invoices/object
    invoice_id = new_id("in_")
    total = sum(line["amount"] for line in lines)
    for line in lines:
        line["invoice"] = invoice_id
    return {
        "id": invoice_id, "object": "invoice", "account_country": "US", "account_name": "Parley (stand-in)",
        "amount_due": total, "amount_paid": 0, "amount_remaining": total, "amount_shipping": 0,
        "attempt_count": 0, "attempted": False, "auto_advance": True,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_reason": "subscription_cycle", "collection_method": "charge_automatically", "created": now(),
        "currency": "usd", "customer": customer, "customer_email": None, "customer_name": None,
        "default_payment_method": None, "description": None, "discounts": [], "due_date": None,
        "effective_at": now(), "ending_balance": 0, "hosted_invoice_url": f"{base_url}/i/{invoice_id}",
        "invoice_pdf": None, "issuer": {"type": "self"}, "last_finalization_error": None,
        "lines": list_object(f"/v1/invoices/{invoice_id}/lines", lines), "livemode": False, "metadata": {},
        "next_payment_attempt": None, "number": number, "parent": {
            "quote_details": None, "type": "subscription_details",
            "subscription_details": {"metadata": None, "subscription": subscription["id"] if subscription else None},
        } if subscription else None,
        "period_end": period_end, "period_start": period_start, "starting_balance": 0, "status": "open",
        "status_transitions": {"finalized_at": now(), "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subtotal": total, "total": total, "webhooks_delivered_at": None,
    }


def invoice_line(*, price: dict[str, Any], quantity: int, amount: int, period_start: int, period_end: int,
                 subscription_id: str | None) -> dict[str, Any]:
    # https://docs.stripe.com/api/invoice-line-item/object
    return {"id": new_id("il_"), "object": "line_item", "amount": amount, "currency": price["currency"],
            "description": f"{quantity} × {price.get('nickname') or 'usage'}", "discount_amounts": [],
            "discountable": True, "discounts": [], "invoice": None, "livemode": False, "metadata": {},
            "period": {"end": period_end, "start": period_start}, "quantity": quantity,
            "pricing": {"type": "price_details", "price_details": {"price": price["id"], "product": price["product"]},
                        "unit_amount_decimal": price["unit_amount_decimal"]},
            "subscription": subscription_id}


def event(*, type: str, obj: dict[str, Any], previous_attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    # https://docs.stripe.com/api/events/object
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {"id": new_id("evt_"), "object": "event", "api_version": "2026-10-28.endive", "created": now(),
            "data": data, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": type}


def error(type: str, message: str, *, code: str | None = None, param: str | None = None,
          decline_code: str | None = None) -> dict[str, Any]:
    # https://docs.stripe.com/api/errors
    body: dict[str, Any] = {"type": type, "message": message}
    if code:
        body["code"] = code
        body["doc_url"] = f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}"
    if param:
        body["param"] = param
    if decline_code:
        body["decline_code"] = decline_code
    return {"error": body}
